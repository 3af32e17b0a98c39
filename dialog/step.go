package dialog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/looplab/fsm"
)

// A step is one question of a flow, everything about it in one value: what
// it asks, what it offers, how it reads the answer, what it does on entry,
// and where each outcome leads. Flows are tables of steps (menu.go,
// identify.go, book.go, verify.go); the state machine and the diagram are
// built from those tables, so neither can disagree with them.
//
// /back from any step leads to the step the booker answered before it, with
// the answers as they were there (the flow's history, Session.History); a
// step reached from another flow, or one that ends its flow, has none.
type step struct {
	// name is the step's name in its flow; its state is the flow's prefix
	// and the name ("a_" + "consent").
	name string
	// ask renders the question. Its options are opts' when it sets none.
	ask func(t *turn) (Reply, error)
	// opts returns the choices the step offers; nil for a step that asks
	// for typed text.
	opts func(t *turn) ([]choice, error)
	// read takes the booker's answer and returns the event it causes: ""
	// asks again, a refuse error says why the answer was not taken.
	read func(t *turn) (string, error)
	// on runs when the step is entered and may return an event at once
	// (a transient step always does). An error that fail maps becomes its
	// event; any other is returned.
	on func(t *turn) (string, error)
	// next maps each event to the step it leads to: a step of the same
	// flow by name, a flow by name (its first step), or a state.
	next map[string]string
	// fail maps the booking errors of on to events, in order.
	fail []failure
	// exit offers "離開" beside the step's options.
	exit bool
	// echoes marks a step whose question repeats the patient's personal
	// data (the date of birth said back): once it is answered, the answer's
	// Result asks adapters to retract it.
	echoes bool
	// ends marks a step that ends its flow: the answers (the patient's
	// personal data) are dropped on reaching it, but for the booking's
	// reference, or what keep returns.
	ends bool
	// keep, for a step that ends its flow, returns what of the answers
	// the step still needs once the flow has ended: the booked step keeps
	// what the household's next patient is booked with.
	keep func(a Answers) Answers
	// holds marks a step at which the booker may hold a place (an offer,
	// a slot to accept, the booking): an update that leaves such steps for
	// one that is not, without booking, gives the place back.
	holds bool
	// note is a line for the diagram (the seed step it implements).
	note string
	// sub names the sub-flow the step was spliced from ("" for none).
	sub string
}

// failure turns an expected booking error of a step's entry into an event.
type failure struct {
	// err is matched with errors.Is; nil matches every error errorKeys
	// maps to a message (every expected outcome).
	err error
	// event is what the failure causes.
	event string
	// say is said first: a locale key, sayOwn for the error's own
	// message, or "" for nothing.
	say string
}

// sayOwn as a failure's say tells the booker the error's own message.
const sayOwn = "\x00error"

// flow is a table of steps. The states of its steps are prefix + name.
type flow struct {
	name   string // as stored in Answers.Flow; "" for the global steps
	prefix string
	title  string // for the diagram
	steps  []step
}

// stateInfo is a built step: its flow and what it is.
type stateInfo struct {
	*step
	state string
	flow  string // "" for a step outside every flow, and for one that ends
	table string // the flow whose table declares it
}

// chart is the conversation built from the tables, once per process.
type chart struct {
	flows  []flow
	states map[string]*stateInfo
	first  map[string]string // flow name → state of its first step
	events fsm.Events

	// mu serializes the one machine: looplab/fsm keeps a current state, so
	// each event sets it, fires and reads the destination under mu.
	mu      sync.Mutex
	machine *fsm.FSM
}

// conversation is every flow of the bot, built at start. (An initializer
// would be a cycle: the steps' functions read conversation.)
var conversation *chart

func init() {
	conversation = buildChart(globalFlow, bookFlow, enquireFlow, cancelFlow, changeFlow, householdFlow, mineFlow, noticeFlow)
}

// buildChart resolves the flows' next targets and builds the machine. A
// table that names an unknown step is a programming error: it panics.
func buildChart(flows ...flow) *chart {
	c := &chart{flows: flows, states: make(map[string]*stateInfo), first: make(map[string]string)}
	for _, f := range flows {
		if f.name != "" && len(f.steps) > 0 {
			c.first[f.name] = f.prefix + f.steps[0].name
		}
		for i := range f.steps {
			st := &f.steps[i]
			info := &stateInfo{step: st, state: f.prefix + st.name, flow: f.name, table: f.name}
			if st.ends {
				info.flow = ""
			}
			if _, dup := c.states[info.state]; dup {
				panic("dialog: two steps are state " + info.state)
			}
			c.states[info.state] = info
		}
	}
	for _, f := range flows {
		for i := range f.steps {
			st := &f.steps[i]
			for _, event := range sortedKeys(st.next) {
				dst := c.resolve(f, st.next[event])
				c.events = append(c.events, fsm.EventDesc{Name: event, Src: []string{f.prefix + st.name}, Dst: dst})
			}
			for _, fl := range st.fail {
				if _, ok := st.next[fl.event]; !ok {
					panic(fmt.Sprintf("dialog: step %s%s fails to event %q it has no next for", f.prefix, st.name, fl.event))
				}
			}
		}
	}
	c.machine = fsm.NewFSM(globalFlow.steps[0].name, c.events, nil)
	return c
}

// resolve finds the state a next target of flow f names.
func (c *chart) resolve(f flow, target string) string {
	if _, ok := c.states[f.prefix+target]; ok {
		return f.prefix + target
	}
	if s, ok := c.first[target]; ok {
		return s
	}
	if _, ok := c.states[target]; ok {
		return target
	}
	panic(fmt.Sprintf("dialog: flow %q leads to unknown step %q", f.name, target))
}

// fire takes event from state through the machine and returns the state it
// leads to. The machine's own context is never the update's: an event
// whose context ended mid-transition would leave the shared machine stuck.
func (c *chart) fire(ctx context.Context, state, event string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.machine.SetState(state)
	if err := c.machine.Event(context.Background(), event); err != nil {
		return "", err
	}
	return c.machine.Current(), nil
}

// info returns the built step of state, or nil for a state this release
// does not have.
func (c *chart) info(state string) *stateInfo { return c.states[state] }

// States returns every state of the conversation, sorted.
func States() []string {
	var out []string
	for name := range conversation.states {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// failed maps err, returned by the entry of st, to its event, saying what
// the failure says; ok is false for an error st does not map.
func (t *turn) failed(st *stateInfo, err error) (string, bool) {
	for _, f := range st.fail {
		switch {
		case f.err == nil:
			if _, _, ok := t.errorMessage(err); !ok {
				continue
			}
		case !errors.Is(err, f.err):
			continue
		}
		switch f.say {
		case "":
		case sayOwn:
			t.sayError(err)
		default:
			t.say(f.say, nil)
		}
		return f.event, true
	}
	return "", false
}

// ---- Building blocks the tables share. ----

// ask returns an ask that renders key without arguments.
func ask(key string) func(*turn) (Reply, error) {
	return func(t *turn) (Reply, error) { return t.reply(key, nil), nil }
}

// fixed returns opts that always offer cs.
func fixed(cs ...choice) func(*turn) ([]choice, error) {
	return func(*turn) ([]choice, error) { return cs, nil }
}

// chosen returns a read that takes one of the step's choices and hands it
// to then for the event.
func chosen(then func(t *turn, c choice) string) func(*turn) (string, error) {
	return func(t *turn) (string, error) {
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		return then(t, c), nil
	}
}

// always returns a read that takes any of the step's choices as event.
func always(event string) func(*turn) (string, error) {
	return chosen(func(*turn, choice) string { return event })
}

// prefixed returns what follows prefix in id.
func prefixed(id, prefix string) string { return strings.TrimPrefix(id, prefix) }

// Choices offered by several steps.
var (
	choiceYes = choice{id: optYes, key: "opt.yes", alias: "alias.yes"}
	choiceNo  = choice{id: optNo, key: "opt.no", alias: "alias.no"}
	choiceOK  = choice{id: optOK, key: "opt.ok", alias: "alias.ok"}
)

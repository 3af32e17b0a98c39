package dialog

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// Options tune an Engine. Zero fields take the defaults given.
type Options struct {
	// Logger receives one record per unexpected error; never personal data.
	// Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default: the service's clock.
	Now func() time.Time
	// Location is where the booker's dates and times are shown.
	// Default: Asia/Hong_Kong.
	Location *time.Location
	// MaxFailures is how many invalid answers at one step end the flow (5).
	MaxFailures int
	// HistoryLimit is how many steps /back can go back (7).
	HistoryLimit int
	// SessionIdle is how long a session lives without a message, as the
	// session store keeps it: the time-out notice says it (15m).
	SessionIdle time.Duration
}

// Engine runs conversations. It keeps no per-booker state between calls
// and is safe for concurrent use.
type Engine struct {
	svc          *booking.Service
	cat          *locales.Catalog
	log          *slog.Logger
	now          func() time.Time
	loc          *time.Location
	maxFailures  int
	historyLimit int
	sessionIdle  time.Duration
}

// New returns an Engine over svc. It keeps no sessions: a bot.Router
// loads, locks and stores them around each Step.
func New(svc *booking.Service, opts Options) (*Engine, error) {
	if svc == nil {
		return nil, errors.New("dialog: new engine: nil booking service")
	}
	cat, err := locales.Load()
	if err != nil {
		return nil, fmt.Errorf("dialog: new engine: %w", err)
	}
	e := &Engine{
		svc:          svc,
		cat:          cat,
		log:          opts.Logger,
		now:          opts.Now,
		loc:          opts.Location,
		maxFailures:  opts.MaxFailures,
		historyLimit: opts.HistoryLimit,
		sessionIdle:  opts.SessionIdle,
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.now == nil {
		e.now = svc.Now
	}
	if e.now == nil {
		return nil, errors.New("dialog: new engine: no clock")
	}
	if e.loc == nil {
		e.loc = booking.HongKong()
	}
	if e.maxFailures <= 0 {
		e.maxFailures = 5
	}
	if e.historyLimit <= 0 {
		e.historyLimit = 7
	}
	if e.sessionIdle <= 0 {
		e.sessionIdle = 15 * time.Minute
	}
	return e, nil
}

// Step answers in and updates s accordingly, without any session store I/O.
// It fails only when ctx ends. An unexpected error of the booking service
// leaves s as it was and is logged once: a store that cannot be reached
// (booking.ErrUnavailable) at Warn and answered with a localized
// "temporarily unavailable, please try again", anything else at Error and
// answered with "something went wrong, nothing was changed".
func (e *Engine) Step(ctx context.Context, booker booking.Booker, s *Session, in Input) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("dialog: step: %w", err)
	}
	before := *s
	before.History = append([]Frame(nil), s.History...)
	t := e.newTurn(ctx, booker, s, in)
	if err := t.run(); err != nil {
		*s = before
		if info := conversation.info(s.State); info != nil && holdsIn(info.table) && !info.holds {
			// The failed update may have held a place the session does
			// not know of; should this fail too, the hold lapses.
			_ = e.svc.Release(ctx, booker)
		}
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("dialog: step: %w", err)
		}
		key, retry := failureKey(err)
		level, msg := slog.LevelError, "conversation step failed"
		if retry {
			level, msg = slog.LevelWarn, "conversation step failed; booking store unavailable"
		}
		e.log.LogAttrs(ctx, level, msg,
			slog.String("state", before.State), slog.Any("booker", booker), slog.Any("error", err))
		t = e.newTurn(ctx, booker, s, in)
		t.say(key, nil)
		if s.State != "" {
			if err := t.prompt(); err != nil {
				// The store is still failing: the apology stands alone.
				t.replies = t.replies[:1]
			}
		}
	}
	s.UpdatedAt = e.now().UTC()
	res := Result{Replies: t.replies, Sensitive: t.sensitive, Lang: s.Lang, States: t.visited}
	res.FirstSensitive = t.sensitive && !s.Sensitive
	s.Sensitive = s.Sensitive || t.sensitive
	if st := conversation.info(before.State); st != nil && st.echoes {
		res.Retract = true
	}
	return res, nil
}

func (e *Engine) newTurn(ctx context.Context, booker booking.Booker, s *Session, in Input) *turn {
	return &turn{e: e, ctx: ctx, booker: booker, s: s, in: in, entry: s.Answers, from: s.State}
}

// turn is the work of one Step.
type turn struct {
	e      *Engine
	ctx    context.Context
	booker booking.Booker
	s      *Session
	in     Input
	// entry is the answers as they were before this input, for the /back
	// frame of the state being left.
	entry     Answers
	replies   []Reply
	visited   []string
	sensitive bool
	// replace marks the next prompt as replacing the previous one.
	replace bool
	// made is the booking this update booked, found or cancelled.
	made *booking.Booking
	// settled says the handler has already asked the next question.
	settled bool
	// quotaSeen is the quota status read during this update: one reading
	// for every step it enters, so that a step's entry that checked the
	// quota and its question agree. Whatever changes places (an offer, a
	// hold, a booking, a cancel, a release) drops it: placesChanged.
	quotaSeen *booking.Quota
	// from is the state the update began in; left says its hold, if any,
	// has been seen to (leaveHold).
	from string
	left bool
	// mine is the booker's own bookings, read once per update (myBookings).
	mine *[]booking.Booking
	// accessLog is the patient's access log this update read.
	accessLog *booking.PatientLog
}

// invalidInput is a handler's refusal of an answer: the reason is said and
// the question asked again.
type invalidInput struct {
	key  string
	args map[string]any
}

func (e *invalidInput) Error() string { return "invalid input: " + e.key }

func refuse(key string, args map[string]any) error { return &invalidInput{key: key, args: args} }

// Global commands.
const (
	cmdStart    = "start"
	cmdMenu     = "menu"
	cmdBack     = "back"
	cmdExit     = "exit"
	cmdHelp     = "help"
	cmdLanguage = "language"
	// cmdUnknown is any other "/word": a command is never read as an
	// answer (a date of birth, a document number).
	cmdUnknown = "unknown"
)

// optExit is the option ID of every "離開" button: pressing it is /exit.
const optExit = "exit"

func command(in Input) string {
	if in.Kind == InputOption {
		if in.Option == optExit {
			return cmdExit
		}
		return ""
	}
	if in.Kind != InputText {
		return ""
	}
	w := strings.ToLower(strings.TrimSpace(foldWidth(in.Text)))
	if strings.HasPrefix(w, "/") {
		w, _, _ = strings.Cut(w, "@") // "/start@clinicbot" in Telegram groups
	}
	switch w {
	case "/start":
		return cmdStart
	case "/menu":
		return cmdMenu
	case "/back", "back", "返回":
		return cmdBack
	case "/exit", "exit", "離開", "离开":
		return cmdExit
	case "/help":
		return cmdHelp
	case "/language", "/lang":
		return cmdLanguage
	}
	if len(w) > 1 && strings.HasPrefix(w, "/") {
		return cmdUnknown
	}
	return ""
}

func (t *turn) run() error {
	s := t.s
	if t.in.Kind == InputNotice {
		return t.notice()
	}
	if !locales.Supported(s.Lang) {
		s.Lang = locales.Match(t.in.LanguageHint)
	}
	if s.TimedOut {
		s.TimedOut = false
		t.endFlow()
		t.say("timeout", map[string]any{"idle": locales.FormatIdle(s.Lang, t.e.sessionIdle)})
		t.say("welcome", nil)
		return t.settle(stMenu)
	}
	fresh := false
	if conversation.info(s.State) == nil {
		// A new booker, or a state this release no longer has.
		t.endFlow()
		s.State = stMenu
		s.Nonce = newNonce()
		t.visited = append(t.visited, stMenu)
		fresh = true
	}
	if cmd := command(t.in); cmd != "" {
		return t.command(cmd)
	}
	if t.in.Kind == InputOption && isNoticeButton(t.in.Option) {
		return t.noticeButton() // bound by its token, whatever the step
	}
	if t.in.Kind == InputOption && t.in.Nonce != s.Nonce && !fresh {
		t.say("stale", nil)
		return t.prompt()
	}
	event, err := t.handle()
	var bad *invalidInput
	switch {
	case errors.As(err, &bad):
		if fresh {
			// A first message is greeted; only a refusal with a reason
			// (not "unrecognised") is worth saying after the greeting.
			t.say("welcome", nil)
			if bad.key != "input.unknown" {
				t.say(bad.key, bad.args)
			}
			return t.prompt()
		}
		return t.fail(bad)
	case err != nil || t.settled:
		return err
	case event == "":
		return t.prompt()
	}
	return t.advance(event)
}

// command carries out a global command, at any step.
func (t *turn) command(cmd string) error {
	s := t.s
	switch cmd {
	case cmdStart:
		t.endFlow()
		t.say("welcome", nil)
	case cmdMenu:
		t.endFlow()
	case cmdExit:
		if s.InFlow() && s.Answers.Flow != flowMine { // "my bookings" asks for nothing
			t.say("exit.done", nil)
		}
		t.endFlow()
	case cmdHelp:
		t.say("help", nil)
		return t.prompt()
	case cmdLanguage:
		if s.State != stLanguage {
			s.History = append(s.History, Frame{State: s.State, Answers: s.Answers})
		}
		return t.settle(stLanguage)
	case cmdBack:
		return t.back()
	case cmdUnknown:
		t.say("command.unknown", nil)
		return t.prompt()
	}
	return t.settle(stMenu)
}

// fail says why an answer was refused and asks again, or ends the flow
// after too many refusals at one step.
func (t *turn) fail(bad *invalidInput) error {
	if !t.s.InFlow() {
		t.say(bad.key, bad.args)
		return t.prompt()
	}
	t.s.Failures++
	if t.s.Failures >= t.e.maxFailures {
		t.endFlow()
		t.say("fail.limit", nil)
		return t.settle(stMenu)
	}
	t.say(bad.key, bad.args)
	return t.prompt()
}

// back returns to the previous step with the answers as they were there.
func (t *turn) back() error {
	s := t.s
	if len(s.History) == 0 {
		t.say("back.none", nil)
		return t.prompt()
	}
	f := s.History[len(s.History)-1]
	s.History = s.History[:len(s.History)-1]
	s.Answers = f.Answers
	if s.State == stLanguage {
		return t.settle(f.State)
	}
	s.State = f.State
	t.visited = append(t.visited, f.State)
	event, err := t.enter()
	if err != nil {
		return err
	}
	if event != "" {
		t.entry = s.Answers
		return t.advance(event)
	}
	return t.settle(s.State)
}

// settle moves to state outside the flow graph (a global command) and asks
// its question afresh.
func (t *turn) settle(state string) error {
	if t.s.State != state || len(t.visited) == 0 {
		t.visited = append(t.visited, state)
	}
	t.s.State = state
	t.s.Failures = 0
	t.s.Nonce = newNonce()
	return t.prompt()
}

// advance takes event through the flow graph, runs each entered state's
// side effects after its transition, and asks the question of the state
// where the update comes to rest.
func (t *turn) advance(event string) error {
	s := t.s
	origin := s.State
	for event != "" {
		dst, err := conversation.fire(t.ctx, s.State, event)
		if err != nil {
			return fmt.Errorf("dialog: event %s in state %s: %w", event, s.State, err)
		}
		s.State = dst
		t.visited = append(t.visited, s.State)
		if event, err = t.enter(); err != nil {
			return err
		}
	}
	final := conversation.info(s.State)
	switch {
	case final.ends:
		kept := Answers{Reference: s.Answers.Reference}
		if final.keep != nil {
			kept = final.keep(s.Answers)
		}
		t.endFlow()
		if s.State != stMenu {
			s.Answers = kept
		}
	case s.State == origin:
	case conversation.info(origin).flow != final.flow:
		s.History = nil
	default:
		// A hold is of its moment: going back re-offers and holds afresh.
		entry := t.entry
		entry.HoldUntil = time.Time{}
		s.History = append(s.History, Frame{State: origin, Answers: entry})
		if n := len(s.History) - t.e.historyLimit; n > 0 {
			s.History = append(s.History[:0], s.History[n:]...)
		}
	}
	s.Failures = 0
	s.Nonce = newNonce()
	return t.prompt()
}

// leaveHold gives back the place held for the booker when the update took
// them from a step that may hold one (see step.holds) to one that does
// not, without booking it (a decline, /back, /exit, /start, a new flow),
// and when it ended the booking flow. A release that fails is logged: the
// hold lapses by itself.
//
// prompt calls it before asking the next question, so that what the
// question shows (places left) already counts the place given back.
func (t *turn) leaveHold() {
	if t.left {
		return
	}
	t.left = true
	from := t.from
	was, now := conversation.info(from), conversation.info(t.s.State)
	if was == nil || t.made != nil {
		return
	}
	left := was.holds && (now == nil || !now.holds)
	// A booking flow that ends gives back any hold too: one held by an
	// update whose answer was lost (the store kept it, the session did
	// not) would otherwise count as taken, for this booker too, until it
	// lapsed.
	ended := holdsIn(was.table) && (now == nil || holdFamily(now.table) != holdFamily(was.table) || now.ends)
	if !left && !ended {
		return
	}
	t.s.Answers.HoldUntil = time.Time{}
	t.placesChanged()
	if err := t.e.svc.Release(t.ctx, t.booker); err != nil {
		t.e.log.LogAttrs(t.ctx, slog.LevelWarn, "hold not released; it lapses by itself",
			slog.String("state", from), slog.Any("booker", t.booker), slog.Any("error", err))
	}
}

// holdsIn reports whether the flow table may hold a place for the
// booker: booking, and changing a booking's time.
func holdsIn(table string) bool {
	return table == flowBook || table == flowChange || table == flowHousehold
}

// holdFamily is the flow whose holds those of table's steps are: the
// household's next patient goes on in the booking flow's steps, with the
// place their offer held.
func holdFamily(table string) string {
	if table == flowHousehold {
		return flowBook
	}
	return table
}

// placesChanged drops the quota status read in this update: the update
// has just taken or given back a place.
func (t *turn) placesChanged() { t.quotaSeen = nil }

// endFlow drops the flow's answers (the patient's personal data) and its
// history.
func (t *turn) endFlow() {
	t.s.Answers = Answers{}
	t.s.History = nil
	t.s.Failures = 0
	t.s.Room = 0
}

// say adds a message.
func (t *turn) say(key string, args map[string]any) {
	t.replies = append(t.replies, t.reply(key, args))
}

func (t *turn) reply(key string, args map[string]any) Reply {
	return Reply{Key: key, Args: args, Text: t.text(key, args)}
}

func (t *turn) text(key string, args map[string]any) string {
	return t.e.cat.Text(t.s.Lang, key, args)
}

// now returns the clock's time.
func (t *turn) now() time.Time { return t.e.now() }

// local returns tm in the booker's time zone.
func (t *turn) local(tm time.Time) time.Time { return tm.In(t.e.loc) }

var nonceEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newNonce returns a short random step nonce: 25 bits, enough to tell a
// booker's recent messages apart.
func newNonce() string {
	var b [4]byte
	rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	return nonceEncoding.EncodeToString(b[:])[:5]
}

// newFlowID returns a random flow id of 80 bits.
func newFlowID() string {
	var b [10]byte
	rand.Read(b[:])
	return nonceEncoding.EncodeToString(b[:])
}

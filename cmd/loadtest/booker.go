package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
)

// patient is the made-up person a simulated booker books for.
type patient struct {
	HKID   string // as typed, e.g. "A123456(3)"
	DOB    string // as typed, e.g. "1955/5/5"
	Mobile string // eight digits
}

// newPatient returns booker i's patient: a distinct, valid HKID (completed
// by booking.NewHKID), a date of birth and a distinct mobile number.
func newPatient(i int) (patient, error) {
	if i < 0 || i >= 26*1_000_000 {
		return patient{}, fmt.Errorf("booker %d: out of the HKID range", i)
	}
	prefix := string(rune('A' + i/1_000_000))
	digits := fmt.Sprintf("%06d", i%1_000_000)
	doc, err := booking.NewHKID(prefix, digits)
	if err != nil {
		return patient{}, fmt.Errorf("booker %d: %w", i, err)
	}
	id := doc.Display()
	return patient{
		HKID:   id,
		DOB:    fmt.Sprintf("%d/%d/%d", 1940+i%60, 1+i%12, 1+i%28),
		Mobile: fmt.Sprintf("9%07d", i%10_000_000),
	}, nil
}

// step is what the bot's latest answer asks of the booker.
type step int

const (
	stUnknown step = iota
	stEmpty        // no answer at all: a duplicate, or nothing sent
	stMenu
	stDocType
	stDocNumber
	stDOB
	stDOBCheck
	stMobile
	stConsent
	stService
	stQuotaFull // the engine's "no places in either service" (service.none)
	stRegion
	stClinic
	stOffer
	stBooked
	stDoneAgain
	stAlready
	stVerifyService
	stEnquired
	stCancelShow
	stCancelConfirm
	stCancelled
	stTryAgain // the router's apology: something went wrong / try again
	stSearch   // after declining: "search for another slot", OK
	stDays     // the days with places
	stPart     // morning or afternoon
	stTimes    // a part of a day's times
	stBusy     // many people are booking now: come back in a minute
)

var stepNames = [...]string{"unknown", "empty", "menu", "doc_type", "doc_number", "dob", "dob_check", "mobile",
	"consent", "service", "quota_full", "region", "clinic", "offer", "booked", "done_again", "already_booked",
	"verify_service", "enquired", "cancel_show", "cancel_confirm", "cancelled", "try_again",
	"search", "days", "part", "times", "busy"}

func (s step) String() string { return stepNames[s] }

// keySteps maps the locale key of a prompt to its step.
var keySteps = map[string]step{
	"menu.prompt":           stMenu,
	"doc.type.prompt":       stDocType,
	"doc.hkid.prompt":       stDocNumber,
	"dob.prompt":            stDOB,
	"dob.confirm":           stDOBCheck,
	"mobile.prompt":         stMobile,
	"consent.prompt":        stConsent,
	"service.prompt":        stService,
	"service.none":          stQuotaFull,
	"region.prompt":         stRegion,
	"clinic.prompt":         stClinic,
	"offer.prompt":          stOffer,
	"accept.prompt":         stOffer,
	"booked":                stBooked,
	"done.again":            stDoneAgain,
	"already.booked.hidden": stAlready,
	"verify.service.prompt": stVerifyService,
	"enquiry.done":          stEnquired,
	"cancel.show":           stCancelShow,
	"cancel.confirm":        stCancelConfirm,
	"cancel.done":           stCancelled,
	"search.prompt":         stSearch,
	"days.prompt":           stDays,
	"part.prompt":           stPart,
	"times.prompt":          stTimes,
	"err.internal":          stTryAgain,
	"err.unavailable":       stTryAgain,
	"busy.wait":             stBusy,
}

// quotaKeys are the replies that say places ran out somewhere: said as a
// reply of their own, or as a line added to a prompt (clinic.region_full).
var quotaKeys = map[string]bool{
	"service.none": true, "service.full": true, "clinic.full": true, "clinic.region_full": true,
	"err.quota_full": true, "slot.taken": true, "err.slot_taken": true, "hold.expired": true, "slot.gone": true,
	"region.full": true,
}

// quotaLines are the signatures of quotaKeys, to find those said as a line
// of another reply.
var quotaLines = func() []signature {
	var out []signature
	for _, s := range signatures() {
		if quotaKeys[s.key] {
			out = append(out, s)
		}
	}
	return out
}()

// refusalKeys are replies to an answer the engine did not understand; a
// simulated booker that gets one has misread its screen.
var refusalKeys = map[string]bool{"input.unknown": true, "invalid.input": true, "fail.limit": true, "stale": true}

// screen is the bot's answer to one update, as the booker reads it.
type screen struct {
	step    step
	options []string // option IDs of the newest prompt
	nonce   string   // the prompt's step nonce
	keys    []string // locale keys of every reply (router paths only)
}

// has reports whether the prompt offers option id.
func (s screen) has(id string) bool { return slices.Contains(s.options, id) }

// screenOf reads an engine Result: the step is that of the last reply whose
// key names one, the options those of the last reply that has any.
func screenOf(res dialog.Result) screen {
	sc := screen{step: stEmpty}
	if len(res.Replies) > 0 {
		sc.step = stUnknown
	}
	for i, r := range res.Replies {
		sc.keys = append(sc.keys, r.Key)
		for _, q := range quotaLines {
			if q.key != r.Key && strings.Contains(r.Text, q.text) {
				sc.keys = append(sc.keys, q.key)
			}
		}
		if st, ok := keySteps[r.Key]; ok {
			sc.step = st
		}
		if len(r.Options) > 0 || i == len(res.Replies)-1 {
			sc.options = sc.options[:0]
			for _, o := range r.Options {
				sc.options = append(sc.options, o.ID)
			}
			sc.nonce = r.Nonce
		}
	}
	// "No places in either service" comes with the menu it leaves the
	// booker at, when they choose to book.
	if slices.Contains(sc.keys, "service.none") {
		sc.step = stQuotaFull
	}
	return sc
}

// action is one thing a booker sends: typed text or a pressed option.
type action struct {
	text   string
	option string
	nonce  string
	// update identifies the update: a booker's new action gets a new one,
	// an action delivered again keeps it.
	update string
}

func (a action) input() dialog.Input {
	if a.option != "" {
		return dialog.Input{Kind: dialog.InputOption, Option: a.option, Nonce: a.nonce}
	}
	return dialog.Input{Kind: dialog.InputText, Text: a.text}
}

func typed(s string) action                 { return action{text: s} }
func press(sc screen, option string) action { return action{option: option, nonce: sc.nonce} }

// conn carries a booker's actions to the bot and brings back its answer.
// Send fails only when no answer came (the bot was unreachable); the booker
// then sends again, as Telegram would deliver the update again.
type conn interface {
	Send(ctx context.Context, booker int, a action) (screen, error)
}

// goal is one flow a booker goes through, in order.
type goal int

const (
	goalBook goal = iota
	goalEnquire
	goalCancel
	goalHold // book up to the offer and stay there: a session mid-flow
)

// outcome is how a booker's conversation ended.
type outcome int

const (
	outDone      outcome = iota // every goal reached
	outQuotaFull                // told the quota is full
	outTryAgain                 // told to try again, and gave up after the retries
	outStuck                    // no sensible answer: unknown screens or the step limit
)

var outcomeNames = [...]string{"done", "quota_full", "try_again", "stuck"}

func (o outcome) String() string { return outcomeNames[o] }

// result is what one booker did and was told.
type result struct {
	outcome  outcome
	booked   bool // saw "booking made" (or the patient's booking, after a retry)
	accepted bool // sent accept at least once
	updates  int
	errors   int // apologies and unanswered sends
	unknown  int // screens not understood
	quota    int // replies that said places ran out somewhere
	// busy counts the replies that asked the booker to come back, and
	// busyInFlow those of them to an update sent in a conversation (which
	// the router must never refuse).
	busy, busyInFlow int
	// firstReply is how long the first update waited for an answer of any
	// kind; toBooking from the first update to the booking made (0: none).
	firstReply, toBooking time.Duration
	// quotaBy counts them by locale key, and by whether the booker
	// got a place in the end (a "+" after the key).
	quotaBy  map[string]int
	lastStep step
	// lastBefore is the screen the booker answered last (not a refusal).
	lastBefore step
}

// bookerRun drives one booker through its goals.
type bookerRun struct {
	id       int
	patient  patient
	goals    []goal
	conn     conn
	rng      *rand.Rand
	maxSteps int
	retries  int // apologies in a row accepted before giving up
	// think is how long the booker reads before answering (0: at once).
	think time.Duration
	// decline makes the booker decline the first offer and pick a time
	// by day instead: the first day, part and time listed.
	decline bool
	// pause, when set, is called before each send (the pacer).
	pause func(ctx context.Context) (time.Time, error)
	// observe receives each update's latency and whether it was answered
	// without an apology.
	observe func(d time.Duration, ok bool, at time.Time)
	// comeBack is how long a booker asked to come back waits before
	// starting again (spread 0.5–1.5×).
	comeBack time.Duration
}

// maxBusy bounds how often one booker comes back after being asked to.
const maxBusy = 60

// flowSteps are the screens of an open flow: an update sent from one of
// them is a conversation's, which the router never refuses.
var flowSteps = map[step]bool{stDocType: true, stDocNumber: true, stDOB: true, stDOBCheck: true, stMobile: true,
	stConsent: true, stService: true, stRegion: true, stClinic: true, stOffer: true, stSearch: true, stDays: true,
	stPart: true, stTimes: true, stVerifyService: true, stCancelShow: true, stCancelConfirm: true}

func (b *bookerRun) run(ctx context.Context) result {
	var res result
	clinic := ""               // the clinic booked, for verification
	triedRegions := []string{} // regions found full, this flow
	g := 0                     // the current goal
	reached := false           // the current goal's last screen was seen
	seq := 0
	apologies := 0
	last := typed("/start")
	next := last
	leaving := false // next is the booker's last action
	emptyPicks := 0  // lists to pick another time from that had nothing
	began := time.Now()
	for res.updates-res.busy < b.maxSteps && res.busy <= maxBusy {
		if ctx.Err() != nil {
			res.outcome = outStuck
			return res
		}
		if b.think > 0 && res.updates > 0 {
			// Half to one and a half times think, as people differ.
			if !sleepCtx(ctx, b.think/2+time.Duration(b.rng.Int64N(int64(b.think)))) {
				res.outcome = outStuck
				return res
			}
		}
		start := time.Now()
		if b.pause != nil {
			var err error
			if start, err = b.pause(ctx); err != nil {
				res.outcome = outStuck
				return res
			}
		}
		seq++
		next.update = strconv.Itoa(seq)
		sc, err := b.send(ctx, next)
		res.updates++
		if res.updates == 1 {
			res.firstReply = time.Since(start)
		}
		if next.option == "accept" {
			res.accepted = true
		}
		ok := err == nil && sc.step != stTryAgain
		if b.observe != nil {
			b.observe(time.Since(start), ok, time.Now())
		}
		if err != nil {
			res.errors++
			res.outcome = outTryAgain
			return res
		}
		for _, k := range sc.keys {
			if quotaKeys[k] {
				res.quota++
				if res.quotaBy == nil {
					res.quotaBy = make(map[string]int)
				}
				res.quotaBy[k]++
			}
			if refusalKeys[k] {
				res.unknown++ // the booker's answer was not understood
			}
		}
		res.lastStep = sc.step
		if sc.step == stTryAgain {
			res.errors++
			apologies++
			if apologies > b.retries {
				res.outcome = outTryAgain
				return res
			}
			// As a booker told to try again does: a little later.
			if !sleepCtx(ctx, time.Duration(apologies)*500*time.Millisecond) {
				res.outcome = outTryAgain
				return res
			}
			next = last
			continue
		}
		apologies = 0
		if sc.step == stBusy {
			// Asked to come back in a minute: later, from the start.
			res.busy++
			if flowSteps[res.lastBefore] {
				res.busyInFlow++
			}
			if leaving {
				return res // the refused update was the booker's last: nothing more to come back for
			}
			if reached && g+1 >= len(b.goals) {
				res.outcome = outDone // booked: only the "exit" was refused
				return res
			}
			if !sleepCtx(ctx, b.comeBack/2+time.Duration(b.rng.Int64N(int64(b.comeBack)+1))) {
				res.outcome = outStuck
				return res
			}
			// A goal reached stays reached: the menu after /start leads
			// on to the next one.
			res.lastBefore = stMenu
			triedRegions = triedRegions[:0]
			next, last = typed("/start"), typed("/start")
			continue
		}
		res.lastBefore = sc.step
		last = next
		if sc.step == stBooked && res.toBooking == 0 {
			res.toBooking = time.Since(began)
		}
		if leaving {
			return res
		}
		if g >= len(b.goals) {
			res.outcome = outDone
			return res
		}
		switch sc.step {
		case stEmpty:
			// A duplicate was answered with nothing: do it again, as a
			// booker who saw no answer would; a stale button brings the
			// current step back.
			next = last
		case stMenu:
			if reached {
				g++
				reached = false
				if g >= len(b.goals) {
					res.outcome = outDone
					return res
				}
			}
			triedRegions = triedRegions[:0]
			next = press(sc, map[goal]string{goalBook: "book", goalHold: "book", goalEnquire: "enq", goalCancel: "cxl"}[b.goals[g]])
		case stDocType:
			next = press(sc, "hkid")
		case stDocNumber:
			next = typed(b.patient.HKID)
		case stDOB:
			next = typed(b.patient.DOB)
		case stDOBCheck, stCancelConfirm:
			next = press(sc, "yes")
		case stMobile:
			next = typed(b.patient.Mobile)
		case stConsent:
			next = press(sc, "ok")
		case stService:
			triedRegions = triedRegions[:0]
			switch {
			case sc.has("clinic"):
				next = press(sc, "clinic")
			case sc.has("video"):
				next = press(sc, "video")
			default:
				res.unknown++
				next = typed("/exit")
			}
		case stQuotaFull:
			// Leaves with "exit", an update like any other: counted,
			// timed and retried as the others are.
			res.outcome = outQuotaFull
			next = press(sc, "exit")
			leaving = true
		case stRegion:
			var open []string
			for _, o := range sc.options {
				if strings.HasPrefix(o, "r:") && !slices.Contains(triedRegions, o) {
					open = append(open, o)
				}
			}
			if len(open) == 0 {
				next = typed("/back") // every region is full: back to the services
				break
			}
			r := open[b.rng.IntN(len(open))]
			triedRegions = append(triedRegions, r)
			next = press(sc, r)
		case stClinic:
			var open []string
			for _, o := range sc.options {
				if strings.HasPrefix(o, "c:") {
					open = append(open, o)
				}
			}
			if len(open) == 0 {
				next = typed("/back") // the region is full
				break
			}
			clinic = open[b.rng.IntN(len(open))]
			next = press(sc, clinic)
		case stOffer:
			if b.goals[g] == goalHold {
				res.outcome = outDone
				return res
			}
			next = press(sc, "accept")
			if b.decline && sc.has("decline") {
				b.decline = false
				next = press(sc, "decline")
			}
		case stSearch:
			next = press(sc, "ok")
			if emptyPicks > 0 {
				next = typed("/back") // nothing to pick: back to an offer
			}
		case stDays, stPart, stTimes:
			prefix := map[step]string{stDays: "d:", stPart: "p:", stTimes: "s:"}[sc.step]
			i := slices.IndexFunc(sc.options, func(o string) bool { return strings.HasPrefix(o, prefix) })
			if i < 0 {
				emptyPicks++
				next = typed("/back") // filled up meanwhile
				break
			}
			next = press(sc, sc.options[i])
		case stBooked, stAlready:
			res.booked = true
			reached = true
			next = press(sc, "exit")
			if !sc.has("exit") {
				next = typed("/exit")
			}
		case stDoneAgain, stEnquired, stCancelled:
			reached = reached || sc.step != stDoneAgain || b.goals[g] == goalBook
			next = press(sc, "exit")
		case stVerifyService:
			if clinic == "" || !sc.has(clinic) {
				res.unknown++
				next = typed("/exit")
				break
			}
			next = press(sc, clinic)
		case stCancelShow:
			next = press(sc, "cxlb")
		default:
			res.unknown++
			if res.unknown > 3 {
				res.outcome = outStuck
				return res
			}
			next = typed("/start")
		}
	}
	res.outcome = outStuck
	return res
}

// send sends a, sending it again (bounded) while the bot is unreachable.
func (b *bookerRun) send(ctx context.Context, a action) (screen, error) {
	var err error
	for attempt := range 60 {
		var sc screen
		sc, err = b.conn.Send(ctx, b.id, a)
		if err == nil {
			return sc, nil
		}
		if ctx.Err() != nil {
			return screen{}, err
		}
		wait := time.Duration(min(attempt+1, 10)) * 50 * time.Millisecond
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return screen{}, errors.Join(err, ctx.Err())
		}
	}
	return screen{}, err
}

// sleepCtx sleeps for d and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

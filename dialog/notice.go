package dialog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// The notices of the outbox (booking.Outbox), as the chat that made the
// booking sees them. The dispatcher hands each to the engine as an
// InputNotice through the router, under the booker's turn like any
// message; the engine answers with the notice and, when the booker is not
// in the middle of a flow, moves the session to the notice's question:
//
//   - a reminder asks keep or cancel (n_remind); cancel asks "sure?"
//     (n_sure) and then cancels with Service.CancelBound, which needs no
//     patient details: the buttons carry a token of the booking, this
//     chat and their expiry (booking.Protector.NoticeToken), checked
//     against the chat a press comes from, and CancelBound checks again
//     that this chat made the booking;
//   - an operator's close or cancel offers "book again" (n_closed);
//   - a cancel from another chat, a move or the booker's own cancel sends
//     the updated calendar file, and asks nothing.
//
// Buttons and numbered answers both choose among the step's options, so
// Telegram's keyboard and WhatsApp's "1"/"2" work alike. A booker in the
// middle of a flow gets the notice and then their current question again:
// their answers are not lost to a reminder.

// Notice flow and its events. A reminder's options are "rk" (keep) and
// "rc" (cancel), each followed by ".REF.UNTIL.TOKEN": the booking, when
// the button expires, and booking.Protector.NoticeToken of them and the
// chat. A press is taken whatever step the chat is at (an old reminder's
// button works until the appointment), once its token is checked.
const (
	flowNotice   = "notice"
	optKeep      = "rk"
	optCancelRem = "rc"
	evSure       = "sure"
	stNoticeMenu = "n_closed"
	stRemind     = "n_remind"
)

var noticeFlow = flow{
	name:   flowNotice,
	prefix: "n_",
	title:  "Notices (reminder, changes told)",
	steps: []step{
		{
			name: "remind",
			ask:  askRef("notice.remind.ask"),
			opts: reminderChoices,
			read: chosen(func(t *turn, c choice) string {
				if strings.HasPrefix(c.id, optKeep+".") {
					t.say("notice.kept", map[string]any{"reference": t.s.Answers.Reference})
					return evKeep
				}
				return evSure
			}),
			next: map[string]string{evKeep: stMenu, evSure: "sure"},
			note: "reminder: keep or cancel",
		},
		{
			name: "sure",
			ask:  askRef("notice.cancel.sure"),
			opts: fixed(choiceYes, choiceNo),
			read: chosen(func(t *turn, c choice) string {
				if c.id == optNo {
					t.say("notice.kept", map[string]any{"reference": t.s.Answers.Reference})
					return evKeep
				}
				return evConfirm
			}),
			next: map[string]string{evConfirm: "cancelling", evKeep: stMenu},
			note: "sure?",
		},
		{
			name: "cancelling",
			on:   cancelReminded,
			fail: []failure{{event: evEnded, say: sayOwn}},
			next: map[string]string{evCancelled: "cancelled", evEnded: stMenu},
			note: "Service.CancelBound",
		},
		menuStep("cancelled", askRef("notice.cancelled.done"), "place freed"),
		noticeMenuStep(),
	},
}

// noticeMenuStep is the menu after an operator's close or cancel: "book
// again" first.
func noticeMenuStep() step {
	st := menuStep("closed", askRef("notice.closed.ask"), "book again")
	st.opts = fixed(
		choice{id: optBook, key: "opt.book_again"},
		choice{id: optEnquire, key: "opt.enquire"},
		choice{id: optCancel, key: "opt.cancel"},
	)
	return st
}

// askRef renders key with the session's booking reference.
func askRef(key string) func(*turn) (Reply, error) {
	return func(t *turn) (Reply, error) {
		return t.reply(key, map[string]any{"reference": t.s.Answers.Reference}), nil
	}
}

// cancelReminded cancels the reminded booking from the chat that made it.
func cancelReminded(t *turn) (string, error) {
	b, err := t.e.svc.CancelBound(t.ctx, t.booker, booking.Reference(t.s.Answers.Reference))
	t.placesChanged()
	if err != nil {
		return "", fmt.Errorf("dialog: cancel reminded booking: %w", err)
	}
	t.made = &b
	return evCancelled, nil
}

// notice answers an InputNotice: the notice, then the question it asks or,
// mid-flow, the booker's current question again.
func (t *turn) notice() error {
	n := t.in.Notice
	if n == nil {
		return errors.New("dialog: notice input without a notice")
	}
	if !locales.Supported(t.s.Lang) {
		// The session lapsed (or never was): the booking's language.
		t.s.Lang = locales.Match(n.Lang)
	}
	replies, err := t.noticeReplies(n)
	if err != nil {
		return err
	}
	t.replies = append(t.replies, replies...)
	if t.s.InFlow() && t.s.Answers.Flow != flowNotice || n.Booking.Booker != t.booker {
		if conversation.info(t.s.State) == nil {
			t.s.State = stMenu
		}
		return t.prompt()
	}
	next := ""
	switch {
	case n.Kind == booking.NoticeReminder:
		next = stRemind
	case n.By == booking.ByOperator:
		next = stNoticeMenu
	default:
		return nil // told: the booker's session stays as it was
	}
	t.endFlow()
	t.s.Answers = Answers{Flow: flowNotice, Reference: string(n.Booking.Reference), NoticeUntil: n.Booking.Slot.Start.Unix()}
	if next == stNoticeMenu {
		t.s.Answers.Flow = "" // the menu ends the flow: nothing to keep
	}
	t.s.TimedOut = false
	return t.settle(next)
}

// noticeReplies renders n: its text, and the clinic's place for a reminder
// or the updated calendar file for a change.
func (t *turn) noticeReplies(n *booking.Notice) ([]Reply, error) {
	b := n.Booking
	details, err := t.details(b)
	if err != nil {
		return nil, err
	}
	args := map[string]any{"reference": string(b.Reference), "details": details, "reason": n.Reason}
	key := noticeKey(n)
	r := t.reply(key, args)
	var clinic *booking.Clinic
	if b.Slot.Service == booking.ServiceClinic {
		c, err := t.e.svc.Clinic(t.ctx, b.Slot.ClinicID)
		if err != nil {
			return nil, fmt.Errorf("dialog: clinic: %w", err)
		}
		clinic = &c
	}
	if n.Kind == booking.NoticeReminder {
		if clinic != nil && clinic.Location.Known() {
			r.Location = &Location{Name: clinic.Name.In(t.s.Lang), Address: clinic.Address.In(t.s.Lang),
				Lat: clinic.Location.Lat, Lng: clinic.Location.Lng}
		}
		return []Reply{r}, nil
	}
	summary := t.text("service."+string(b.Slot.Service), nil)
	if clinic != nil {
		summary += " – " + clinic.Name.In(t.s.Lang)
	}
	cancelled := n.Kind != booking.NoticeMoved
	r.Calendar = calendarUpdate(b, clinic, t.s.Lang, summary, details, t.e.loc, n.Sequence, cancelled)
	return []Reply{r}, nil
}

// noticeKey is the locale key of n's text.
func noticeKey(n *booking.Notice) string {
	switch n.Kind {
	case booking.NoticeReminder:
		return "notice.remind"
	case booking.NoticeMoved:
		return "notice.moved"
	case booking.NoticeClosed:
		return "notice.closed"
	}
	switch n.By {
	case booking.ByOther:
		return "notice.cancelled.other"
	case booking.ByOperator:
		return "notice.cancelled.operator"
	}
	return "notice.cancelled.own"
}

// reminderChoices are keep and cancel, bound to the reminded booking.
func reminderChoices(t *turn) ([]choice, error) {
	a := t.s.Answers
	until := time.Unix(a.NoticeUntil, 0)
	return []choice{
		{id: t.noticeOption(optKeep, booking.Reference(a.Reference), until), key: "opt.keep"},
		{id: t.noticeOption(optCancelRem, booking.Reference(a.Reference), until), key: "opt.cancel_booking"},
	}, nil
}

// noticeOption is the option id of a reminder's button.
func (t *turn) noticeOption(kind string, ref booking.Reference, until time.Time) string {
	tok := t.e.svc.Protector.NoticeToken(ref, t.booker, until)
	return kind + "." + string(ref) + "." + strconv.FormatInt(until.Unix(), 10) + "." + tok
}

// isNoticeButton reports whether option is a reminder's button.
func isNoticeButton(option string) bool {
	return strings.HasPrefix(option, optKeep+".") || strings.HasPrefix(option, optCancelRem+".")
}

// noticeButton takes a press of a reminder's button: one whose token is
// not this chat's, or that expired, is refused and the current question
// asked again; keep says so, cancel asks "sure?".
func (t *turn) noticeButton() error {
	kind, ref, unix, tok, ok := parseNoticeButton(t.in.Option)
	until := time.Unix(unix, 0)
	valid := ok && tok == t.e.svc.Protector.NoticeToken(ref, t.booker, until)
	if !valid || !t.now().Before(until) {
		t.say("notice.expired", nil)
		if conversation.info(t.s.State) == nil {
			return t.settle(stMenu)
		}
		return t.prompt()
	}
	t.endFlow()
	t.s.Answers = Answers{Flow: flowNotice, Reference: string(ref), NoticeUntil: unix}
	if kind == optKeep {
		t.say("notice.kept", map[string]any{"reference": string(ref)})
		t.s.Answers = Answers{}
		return t.settle(stMenu)
	}
	return t.settle("n_sure")
}

// parseNoticeButton reads a reminder's option id, "rk.REF.UNTIL.TOKEN" or
// "rc.…" (noticeOption); ok is false for anything else.
func parseNoticeButton(option string) (kind string, ref booking.Reference, until int64, tok string, ok bool) {
	parts := strings.Split(option, ".")
	if len(parts) != 4 || (parts[0] != optKeep && parts[0] != optCancelRem) || parts[1] == "" || parts[3] == "" {
		return "", "", 0, "", false
	}
	until, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || until <= 0 {
		return "", "", 0, "", false
	}
	return parts[0], booking.Reference(parts[1]), until, parts[3], true
}

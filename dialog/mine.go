package dialog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// Events of "my bookings".
const (
	evList = "list"
)

// mineFlow is "my bookings": the active bookings this chat made, each
// shown (with its calendar file and the clinic's location, as after
// booking), cancelled or moved to another time without the patient's
// details, because the booking is bound to the chat that made it
// (booking.Service.CancelBound; the change flow, D, with Answers.Bound
// calls MoveBound and keeps the booking in its service).
// A booking made in another chat is not listed: it still needs the full
// verification of B and C.
var mineFlow = flow{
	name:   flowMine,
	prefix: "m_",
	title:  "My bookings 我的預約",
	steps: []step{
		{
			name: "list",
			on:   checkMine,
			ask:  askMine,
			opts: mineChoices,
			read: readMine,
			next: map[string]string{evPick: "booking", evEnded: stMenu},
			exit: true,
			note: "the chat's active bookings, patients masked",
		},
		{
			name: "booking",
			on:   checkMineBooking,
			ask:  askMineBooking,
			opts: fixed(choice{id: optCancelBooking, key: "opt.cancel_booking"}, choice{id: optChange, key: "opt.change"},
				choice{id: optList, key: "opt.mine.list"}),
			read: readMineBooking,
			next: map[string]string{evCancelBook: "confirm", evChange: flowChange, evList: "list", evGone: "list"},
			exit: true,
			note: "the booking, its calendar file and map",
		},
		{
			name: "confirm",
			on:   checkMineBooking,
			ask:  askMineShown("cancel.confirm"),
			opts: fixed(choiceYes, choiceNo),
			read: chosen(func(t *turn, c choice) string {
				if c.id == optNo {
					t.say("cancel.kept", nil)
					return evKeep
				}
				return evConfirm
			}),
			next: map[string]string{evConfirm: "cancelling", evKeep: "list", evGone: "list"},
			note: "C7 是",
		},
		cancellingStep(func(t *turn) (booking.Booking, error) {
			return t.e.svc.CancelBound(t.ctx, t.booker, booking.Reference(t.s.Answers.Reference))
		}, "cancels the booking bound to this chat"),
		menuStep("cancelled", askBookingShown("cancel.done", "cancel.again", true), "C8 取消完成"),
	},
}

// myBookings returns the booker's own active bookings, read once per
// update: the list's entry, question and choices all need them.
func (t *turn) myBookings() ([]booking.Booking, error) {
	if t.mine == nil {
		bs, err := t.e.svc.BookerBookings(t.ctx, t.booker)
		if err != nil {
			return nil, fmt.Errorf("dialog: my bookings: %w", err)
		}
		t.mine = &bs
	}
	return *t.mine, nil
}

// myBooking returns the booker's own active booking of the answers'
// reference; ok is false when it is no longer among them (cancelled
// elsewhere, or its time has come).
func (t *turn) myBooking() (b booking.Booking, ok bool, err error) {
	bs, err := t.myBookings()
	if err != nil {
		return booking.Booking{}, false, err
	}
	for _, b := range bs {
		if string(b.Reference) == t.s.Answers.Reference {
			return b, true, nil
		}
	}
	return booking.Booking{}, false, nil
}

// readMine takes the booking chosen. A button of a booking that has left
// the list since it was shown (cancelled elsewhere, or ended) is answered
// by saying so and the list as it is now.
func readMine(t *turn) (string, error) {
	c, err := t.choose()
	var bad *invalidInput
	if errors.As(err, &bad) && t.in.Kind == InputOption && strings.HasPrefix(t.in.Option, prefixBooking) {
		return "", refuse("mine.gone", nil)
	}
	if err != nil {
		return "", err
	}
	t.s.Answers.Reference = prefixed(c.id, prefixBooking)
	return evPick, nil
}

// checkMine ends the flow at once for a chat with no booking of its own.
func checkMine(t *turn) (string, error) {
	bs, err := t.myBookings()
	if err != nil || len(bs) > 0 {
		return "", err
	}
	t.say("mine.none", nil)
	return evEnded, nil
}

func askMine(t *turn) (Reply, error) {
	bs, err := t.myBookings()
	if err != nil {
		return Reply{}, err
	}
	if len(bs) == 0 {
		r := t.reply("mine.none", nil)
		r.Options = []Option{t.exitOption()}
		return r, nil
	}
	lines := make([]string, 0, len(bs))
	for i, b := range bs {
		place, err := t.place(b.Slot)
		if err != nil {
			return Reply{}, err
		}
		lines = append(lines, t.text("mine.line", map[string]any{
			"n": i + 1, "patient": b.PatientMasked, "place": place, "when": t.when(b.Slot),
		}))
	}
	return t.reply("mine.prompt", map[string]any{"list": strings.Join(lines, "\n")}), nil
}

// mineChoices offers each booking by its masked patient and time; the
// reference (9 characters) keeps the callback data short.
func mineChoices(t *turn) ([]choice, error) {
	bs, err := t.myBookings()
	if err != nil {
		return nil, err
	}
	cs := make([]choice, 0, len(bs))
	for _, b := range bs {
		at := t.local(b.Slot.Start)
		cs = append(cs, choice{id: prefixBooking + string(b.Reference), key: "mine.option",
			args: map[string]any{"patient": b.PatientMasked},
			name: inEvery(func(lang string) string { return locales.FormatDateTime(lang, at) })})
	}
	return cs, nil
}

// checkMineBooking goes back to the list when the booking chosen is no
// longer this chat's active booking.
func checkMineBooking(t *turn) (string, error) {
	if _, ok, err := t.myBooking(); err != nil || ok {
		return "", err
	}
	t.say("mine.gone", nil)
	return evGone, nil
}

func askMineBooking(t *turn) (Reply, error) {
	b, ok, err := t.myBooking()
	if err != nil {
		return Reply{}, err
	}
	if !ok {
		r := t.reply("mine.gone", nil)
		r.Options = []Option{t.exitOption()}
		return r, nil
	}
	return t.bookingCard("mine.show", b)
}

// readMineBooking takes what to do with the booking shown: cancel it,
// change its time (flow D, bound to this chat), or go back to the list.
func readMineBooking(t *turn) (string, error) {
	c, err := t.choose()
	if err != nil {
		return "", err
	}
	switch c.id {
	case optList:
		return evList, nil
	case optCancelBooking:
		return evCancelBook, nil
	}
	b, ok, err := t.myBooking()
	if err != nil {
		return "", err
	}
	if !ok { // it ended since it was shown
		t.say("mine.gone", nil)
		return evGone, nil
	}
	t.s.Answers = Answers{
		Flow: flowChange, FlowID: newFlowID(), Reference: string(b.Reference), Bound: true,
		BookedService: string(b.Slot.Service), BookedClinic: string(b.Slot.ClinicID), BookedSlot: int64(b.Slot.ID),
	}
	return evChange, nil
}

// askMineShown renders the chosen booking with key.
func askMineShown(key string) func(*turn) (Reply, error) {
	return func(t *turn) (Reply, error) {
		b, ok, err := t.myBooking()
		if err != nil {
			return Reply{}, err
		}
		if !ok {
			r := t.reply("mine.gone", nil)
			r.Options = []Option{t.exitOption()}
			return r, nil
		}
		details, err := t.details(b)
		if err != nil {
			return Reply{}, err
		}
		return t.reply(key, map[string]any{"details": details}), nil
	}
}

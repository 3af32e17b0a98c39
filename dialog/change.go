package dialog

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// Events of changing a booking's time.
const (
	evChange = "change"
	evSame   = "same"
	evMoved  = "moved"
)

// Option IDs of changing a booking's time.
const (
	optChange = "chg"
	optSame   = "same"
)

// flowChange is D, change a booking's time (改期): from an enquiry that
// showed the booking (or a booking bound to the chat), another time at the
// same clinic or service, another clinic, or the other service when the
// patient may use it. The new slot is offered and held like any offer;
// accepting moves the booking in one transaction, keeping its reference.
const flowChange = "change"

var changeFlow = flow{
	name:   flowChange,
	prefix: "d_",
	title:  "D. Change a booking's time 改期",
	steps: slices.Concat([]step{
		{
			name: "how",
			ask:  askChange,
			opts: changeChoices,
			read: towardOffer(chooseChange),
			next: map[string]string{evSame: "offer", evClinic: "region", evVideo: "offer", evGone: "how"},
			exit: true,
			note: "改期: same clinic · another clinic · the other service",
		},
		regionStep("how"),
		clinicStep("how"),
		{
			name: "offer",
			on:   offerEarliest,
			ask:  askSlot("change.offer.prompt", "opt.change.accept"),
			opts: fixed(choice{id: optAccept, key: "opt.change.accept"}, choice{id: optDecline, key: "opt.change.decline"}),
			read: chosen(readOffer),
			next: map[string]string{evFull: "how", evGone: "how", evClinicFull: "clinic", evRegionFull: "region",
				evAccept: "moving", evDecline: "days"},
			holds: true,
			exit:  true,
			note:  "the earliest other slot, held for the booker",
		},
	},
		pickSteps("accept"),
		[]step{
			acceptStep("change.accept.prompt", "opt.change.accept", "moving", "the chosen slot, held for the booker"),
			{
				name:  "moving",
				on:    moveBooking,
				fail:  []failure{{event: evEnded, say: sayOwn}},
				next:  map[string]string{evMoved: "moved", evTaken: "offer", evEnded: stMenu},
				holds: true,
				note:  "moves the booking: the new place and the old together",
			},
			menuStep("moved", askMoved, "改期完成"),
		},
	),
}

// startChange opens the change flow for the booking the enquiry showed,
// keeping the patient's details (the move checks them again) and where
// the booking is now.
func startChange(t *turn, _ choice) string {
	a := &t.s.Answers
	*a = Answers{
		Flow: flowChange, FlowID: newFlowID(), Reference: a.Reference,
		DocType: a.DocType, DocNumber: a.DocNumber, BirthYear: a.BirthYear, BirthMon: a.BirthMon, BirthDay: a.BirthDay,
		BookedService: a.Service, BookedClinic: a.ClinicID, BookedSlot: a.SlotID,
	}
	return evChange
}

// askChange shows where the booking is now and asks where to look for
// another time, with the quota statuses.
func askChange(t *turn) (Reply, error) {
	a := t.s.Answers
	slot, err := t.e.svc.Store.Slot(t.ctx, booking.SlotID(a.BookedSlot))
	if err != nil {
		return Reply{}, fmt.Errorf("dialog: booked slot: %w", err)
	}
	place, err := t.place(slot)
	if err != nil {
		return Reply{}, err
	}
	q, err := t.quota()
	if err != nil {
		return Reply{}, err
	}
	r := t.reply("change.prompt", map[string]any{
		"ref": a.Reference, "place": place, "when": t.text("detail.when", map[string]any{"when": t.when(slot)}),
		"clinic": t.quotaWord(q.Clinic), "video": t.quotaWord(q.Video),
	})
	if a.Bound {
		r.Text += "\n" + t.text("change.bound", nil)
	}
	return r, nil
}

// changeChoices offers another time where the booking is, another clinic
// (a clinic booking) or the designated clinics (a video booking), and
// video for a clinic booking whose patient may use it. A bound booking
// keeps its service.
func changeChoices(t *turn) ([]choice, error) {
	a := t.s.Answers
	q, err := t.quota()
	if err != nil {
		return nil, err
	}
	video := a.BookedService == string(booking.ServiceVideo)
	here := q.Video
	if !video {
		here = q.Clinics[booking.ClinicID(a.BookedClinic)]
	}
	cs := []choice{{id: optSame, key: "opt.change.same", full: !here.Bookable(), fullKey: "change.same_full"}}
	switch {
	case !video:
		cs = append(cs, t.serviceChoice(optClinic, "opt.change.clinic", "service.clinic", q.Clinic))
		if !a.Bound && t.e.svc.CheckEligibility(t.patient(), booking.ServiceVideo, t.now()) == nil {
			cs = append(cs, t.serviceChoice(optVideo, "opt.change.video", "service.video", q.Video))
		}
	case !a.Bound:
		cs = append(cs, t.serviceChoice(optClinic, "opt.change.to_clinic", "service.clinic", q.Clinic))
	}
	return cs, nil
}

func chooseChange(t *turn, c choice) string {
	a := &t.s.Answers
	a.Region, a.Declined = "", 0
	switch c.id {
	case optSame:
		a.Service, a.ClinicID = a.BookedService, a.BookedClinic
		return evSame
	case optVideo:
		a.Service, a.ClinicID = string(booking.ServiceVideo), ""
		return evVideo
	}
	a.Service, a.ClinicID = string(booking.ServiceClinic), ""
	return evClinic
}

// moveBooking moves the booking to the slot held for the booker, the new
// place claimed and the old one given back together. When the claim
// fails the booking stays where it was, and the booker is told so and
// offered the next earliest slot.
func moveBooking(t *turn) (string, error) {
	a := &t.s.Answers
	ref, to := booking.Reference(a.Reference), booking.SlotID(a.SlotID)
	var (
		b   booking.Booking
		err error
	)
	if a.Bound {
		b, err = t.e.svc.MoveBound(t.ctx, t.booker, ref, to, a.HoldUntil)
	} else {
		b, err = t.e.svc.Move(t.ctx, t.bookedLookup(), ref, to, a.HoldUntil)
	}
	t.placesChanged()
	a.HoldUntil = time.Time{} // the move spent the hold, or it is gone
	if errors.Is(err, booking.ErrSlotTaken) || errors.Is(err, booking.ErrSlotUnavailable) {
		return t.moveFailed(errors.Is(err, booking.ErrHoldExpired))
	}
	if err != nil {
		return "", fmt.Errorf("dialog: move: %w", err)
	}
	t.made = &b
	a.SlotID, a.BookedSlot, a.BookedService, a.BookedClinic = int64(b.Slot.ID), int64(b.Slot.ID), string(b.Slot.Service), string(b.Slot.ClinicID)
	return evMoved, nil
}

// moveFailed tells the booker the new place was not theirs and where the
// booking still is.
func (t *turn) moveFailed(expired bool) (string, error) {
	a := &t.s.Answers
	a.SlotID = 0
	slot, err := t.e.svc.Store.Slot(t.ctx, booking.SlotID(a.BookedSlot))
	if err != nil {
		return "", fmt.Errorf("dialog: booked slot: %w", err)
	}
	place, err := t.place(slot)
	if err != nil {
		return "", err
	}
	key := "change.taken"
	if expired {
		key = "change.hold_expired"
	}
	t.say(key, map[string]any{"place": place, "when": t.text("detail.when", map[string]any{"when": t.when(slot)})})
	return evTaken, nil
}

// bookedLookup is the lookup that matches the booking being changed:
// the patient, and where the booking is now.
func (t *turn) bookedLookup() booking.Lookup {
	l := t.lookup()
	l.Service, l.ClinicID = booking.ServiceKind(t.s.Answers.BookedService), booking.ClinicID(t.s.Answers.BookedClinic)
	return l
}

// askMoved shows the moved booking with its calendar file (same UID, a
// higher SEQUENCE: a calendar replaces the event) and its clinic's place.
func askMoved(t *turn) (Reply, error) {
	if t.made == nil {
		r := t.reply("change.again", map[string]any{"ref": t.s.Answers.Reference})
		r.Options = []Option{t.exitOption()}
		return r, nil
	}
	return t.bookedReplyAs("change.done", *t.made)
}

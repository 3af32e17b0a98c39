package dialog

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// Events of the household flow.
const (
	evScreened  = "screened"
	evHousehold = flowHousehold
)

// householdFlow books the next patient of a household, chosen on the
// booked step ("book for another person"): the service and clinic are
// kept, the patient is identified as in A2–A3, the previous patient's
// mobile is offered as one tap (A4), consent is asked for this patient
// (A5), and the time next to the previous booking is offered and held
// (A9). Accepting, declining and picking another time then go on as in
// any booking (A10–A15), whose booked step offers the next patient again.
//
// Each patient is screened like any (the booker's limits, one booking per
// patient, the cool-down): the household is a faster way to book, never a
// way around a rule.
var householdFlow = flow{
	name:   flowHousehold,
	prefix: "h_",
	title:  "A+. Book for another person of the household 為另一位病人預約",
	steps: slices.Concat(identify("tip.household", "1970/1/1", "mobile"), []step{
		{
			name: "mobile",
			ask:  ask("household.mobile.prompt"),
			opts: sameMobileChoice,
			read: readHouseholdMobile,
			next: map[string]string{evEntered: "consent"},
			note: "A4 手提電話號碼, the previous one a tap away",
		},
		consentStep("screen", "A5"),
		{
			name: "screen",
			on:   screenHousehold,
			fail: []failure{
				{err: booking.ErrAlreadyBooked, event: evAlready},
				{err: booking.ErrTooManyAttempts, event: evEnded, say: sayOwn},
				{err: booking.ErrBookerLimit, event: evEnded, say: sayOwn},
			},
			next: map[string]string{evScreened: "offer", evAlready: "a_already_booked", evEnded: stMenu,
				evRefused: "a_video_refused"},
			note: "screens the patient as A6 does; the service is kept",
		},
		{
			name:  "offer",
			on:    offerNear,
			ask:   askNear,
			opts:  fixed(choice{id: optAccept, key: "opt.accept"}, choice{id: optDecline, key: "opt.decline"}),
			read:  chosen(readOffer),
			next:  map[string]string{evAccept: "a_booking", evDecline: "a_search", evEnded: stMenu},
			holds: true,
			note:  "A9 the time next to the previous booking, held",
		},
	}),
}

// bookedStep is the booking's success screen (A15), a menu step that
// also offers to book for another person of the household. It keeps past
// the end of the flow what that needs: the service, the clinic, the
// booked slot and the mobile (the session is sealed at rest, and dropped
// with the rest on leaving the screen).
func bookedStep(note string) step {
	st := menuStep("booked", askBooked, note)
	menu := st.opts
	st.opts = func(t *turn) ([]choice, error) {
		cs, err := menu(t)
		if err != nil || t.s.Answers.Near == 0 {
			return cs, err
		}
		// First, as shown: typing "1" is pressing the first button.
		return append([]choice{{id: optHousehold, key: "opt.household"}}, cs...), nil
	}
	st.read = func(t *turn) (string, error) {
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		if c.id == optHousehold {
			return startHousehold(t)
		}
		return readMenu(t)
	}
	st.next[flowHousehold] = flowHousehold
	st.keep = func(a Answers) Answers {
		return Answers{Reference: a.Reference, Service: a.Service, ClinicID: a.ClinicID, Near: a.SlotID, Mobile: a.Mobile}
	}
	return st
}

func askBooked(t *turn) (Reply, error) {
	var (
		r   Reply
		err error
	)
	if t.made == nil {
		r = t.reply("done.again", map[string]any{"ref": t.s.Answers.Reference})
		r.Options = []Option{t.exitOption()}
	} else if r, err = t.bookedReply(*t.made); err != nil {
		return Reply{}, err
	}
	if t.s.Answers.Near != 0 {
		r.Options = append([]Option{{ID: optHousehold, Label: t.text("opt.household", nil)}}, r.Options...)
	}
	return r, nil
}

// startHousehold opens the household flow for the next patient, unless
// the booker is at a limit or the service (at the clinic) has no place
// left: then they are told at once, before typing any of the patient's
// details.
func startHousehold(t *turn) (string, error) {
	a := t.s.Answers
	q, err := t.quota()
	if err != nil {
		return "", err
	}
	st := q.Video
	if a.Service == string(booking.ServiceClinic) {
		st = q.Clinics[booking.ClinicID(a.ClinicID)]
	}
	if !st.Bookable() {
		return "", refuse("household.full", nil)
	}
	room, err := t.e.svc.BookerLimit(t.ctx, t.booker)
	if err != nil {
		return "", t.refusal(err)
	}
	t.s.Answers = Answers{Flow: flowHousehold, FlowID: newFlowID(),
		Service: a.Service, ClinicID: a.ClinicID, Near: a.Near, Mobile: a.Mobile}
	t.s.Room = room
	return evHousehold, nil
}

// sameMobileChoice offers the previous patient's mobile, masked: a
// household often shares one number.
func sameMobileChoice(t *turn) ([]choice, error) {
	m := booking.Mobile(t.s.Answers.Mobile)
	if m == "" {
		return nil, nil
	}
	return []choice{{id: optSameMobile, key: "opt.same_mobile", args: map[string]any{"mobile": m.Masked()}}}, nil
}

// readHouseholdMobile takes the previous patient's mobile (the button, or
// its number or words typed), or a number typed or shared as in A4.
func readHouseholdMobile(t *turn) (string, error) {
	cs, err := t.choices()
	if err != nil {
		return "", err
	}
	if c, ok := pick(t.e.cat, cs, t.in); ok && c.id == optSameMobile {
		return evEntered, nil
	}
	return readMobile(t)
}

// screenHousehold looks the patient up as the booking flow does before
// the service is chosen (screenPatient), then checks the kept service:
// a patient who may not use video is offered a clinic instead.
func screenHousehold(t *turn) (string, error) {
	if _, err := screenPatient(t); err != nil {
		return "", err
	}
	if booking.ServiceKind(t.s.Answers.Service) == booking.ServiceVideo &&
		t.e.svc.CheckEligibility(t.patient(), booking.ServiceVideo, t.now()) != nil {
		return evRefused, nil
	}
	return evScreened, nil
}

// offerNear holds the slot next to the previous booking for the next
// patient; with none left that day, the earliest, as A9 offers.
func offerNear(t *turn) (string, error) {
	a := &t.s.Answers
	slot, until, err := t.e.svc.OfferNear(t.ctx, t.booker, booking.SlotID(a.Near))
	if errors.Is(err, booking.ErrQuotaFull) {
		t.say("household.none_near", nil)
		slot, until, err = t.e.svc.Offer(t.ctx, t.booker, booking.ServiceKind(a.Service), booking.ClinicID(a.ClinicID))
	}
	t.placesChanged()
	if errors.Is(err, booking.ErrQuotaFull) {
		t.say("household.full", nil)
		return evEnded, nil
	}
	if err != nil {
		return "", fmt.Errorf("dialog: offer near: %w", err)
	}
	a.SlotID, a.HoldUntil = int64(slot.ID), until
	return "", nil
}

// askNear renders the offer: the time next to the previous booking, or,
// on another day, the earliest.
func askNear(t *turn) (Reply, error) {
	a := t.s.Answers
	near, err := t.e.svc.Store.Slot(t.ctx, booking.SlotID(a.Near))
	if err != nil {
		return Reply{}, fmt.Errorf("dialog: previous slot: %w", err)
	}
	offered, err := t.e.svc.Store.Slot(t.ctx, booking.SlotID(a.SlotID))
	if err != nil {
		return Reply{}, fmt.Errorf("dialog: offered slot: %w", err)
	}
	key := "household.offer"
	if !sameDay(t.local(near.Start), t.local(offered.Start)) {
		key = "offer.prompt"
	}
	return askSlot(key, "opt.accept")(t)
}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

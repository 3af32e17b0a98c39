package dialog

import (
	"fmt"

	"github.com/clinicbot/clinicbot/booking"
)

// Events of the enquiry and cancel flows.
const (
	evFound      = "found"
	evEnded      = "ended"
	evCancelBook = "cancel_booking"
	evKeep       = "keep"
	evCancelled  = "cancelled"
)

// enquireFlow is B, enquire for others.
var enquireFlow = flow{
	name:   flowEnquire,
	prefix: "b_",
	title:  "B. Enquire for others 為他人查詢",
	steps: append(identify("tip.verify", "1970/1/1", "service"),
		verifyServiceStep("B4"),
		consentStep("verifying", "B5"),
		verifyingStep(func(t *turn) (booking.Booking, error) { return t.e.svc.Enquire(t.ctx, t.lookup()) }, "result"),
		step{
			name: "result",
			ask:  askEnquired,
			opts: fixed(choice{id: optChange, key: "opt.change"}, choice{id: optLog, key: "opt.log"},
				menuChoices[0], menuChoices[1], menuChoices[2], menuChoices[3]),
			read: readEnquired,
			next: map[string]string{evChange: flowChange, evLog: "log",
				flowBook: flowBook, flowEnquire: flowEnquire, flowCancel: flowCancel, flowMine: flowMine},
			exit: true,
			// The patient's details stay until the booker leaves: changing
			// the time checks them again, and the access log is read with them.
			note: "B6 查詢完成, and 改期",
		},
		accessLogStep(),
	),
}

// cancelFlow is C, cancel for others. The seed's cancel screen writes the
// year-only example day first.
var cancelFlow = flow{
	name:   flowCancel,
	prefix: "c_",
	title:  "C. Cancel for others 為他人取消",
	steps: append(identify("tip.verify", "01/01/1970", "service"),
		verifyServiceStep("C4"),
		consentStep("verifying", "C5"),
		verifyingStep(func(t *turn) (booking.Booking, error) { return t.e.svc.VerifyForCancel(t.ctx, t.lookup()) }, "booking"),
		step{
			name: "booking",
			ask:  askBookingShown("cancel.show", "done.again", false),
			opts: fixed(choice{id: optCancelBooking, key: "opt.cancel_booking"}),
			read: always(evCancelBook),
			next: map[string]string{evCancelBook: "confirm"},
			exit: true,
			note: "C6 取消預約",
		},
		step{
			name: "confirm",
			ask:  askBookingShown("cancel.confirm", "done.again", false),
			opts: fixed(choiceYes, choiceNo),
			read: chosen(func(t *turn, c choice) string {
				if c.id == optNo {
					t.say("cancel.kept", nil)
					return evKeep
				}
				return evConfirm
			}),
			next: map[string]string{evConfirm: "cancelling", evKeep: stMenu},
			note: "C7 是",
		},
		cancellingStep(func(t *turn) (booking.Booking, error) {
			return t.e.svc.Cancel(t.ctx, t.lookup(), booking.Reference(t.s.Answers.Reference))
		}, "cancels the booking"),
		menuStep("cancelled", askBookingShown("cancel.done", "cancel.again", true), "C8 取消完成"),
	),
}

// askEnquired shows the booking found (B6) with "改期" beside "離開"; the
// menu's flows are taken too, as at the end of every flow.
func askEnquired(t *turn) (Reply, error) {
	r, shown, err := bookingShown(t, "enquiry.done", "enquiry.again")
	if err != nil || !shown {
		return r, err
	}
	r.Options = []Option{{ID: optChange, Label: t.text("opt.change", nil)}, {ID: optLog, Label: t.text("opt.log", nil)}, t.exitOption()}
	return r, nil
}

func readEnquired(t *turn) (string, error) {
	c, err := t.choose()
	if err != nil {
		return "", err
	}
	switch c.id {
	case optChange:
		return startChange(t, c), nil
	case optLog:
		return evLog, nil
	}
	return readMenu(t)
}

// cancellingStep cancels the booking of the answers with cancel, which
// gives its place back to the quota at once; an expected refusal (the
// appointment has started, a cool-down) is said and ends the flow.
func cancellingStep(cancel func(t *turn) (booking.Booking, error), note string) step {
	return step{
		name: "cancelling",
		on: func(t *turn) (string, error) {
			b, err := cancel(t)
			t.placesChanged()
			if err != nil {
				return "", fmt.Errorf("dialog: cancel: %w", err)
			}
			t.made = &b
			return evCancelled, nil
		},
		fail: []failure{{event: evEnded, say: sayOwn}},
		next: map[string]string{evCancelled: "cancelled", evEnded: stMenu},
		note: note,
	}
}

// verifyServiceStep asks where the appointment is booked: the seed's
// extra verification (B4, C4).
func verifyServiceStep(note string) step {
	return step{
		name: "service",
		ask:  ask("verify.service.prompt"),
		opts: func(t *turn) ([]choice, error) {
			clinics, err := t.e.svc.Clinics(t.ctx, "")
			if err != nil {
				return nil, fmt.Errorf("dialog: clinics: %w", err)
			}
			cs := []choice{{id: optVideo, key: "service.video"}}
			for _, c := range clinics {
				cs = append(cs, choice{id: prefixClinic + string(c.ID), name: c.Name})
			}
			return cs, nil
		},
		read: chosen(func(t *turn, c choice) string {
			a := &t.s.Answers
			if c.id == optVideo {
				a.Service, a.ClinicID = string(booking.ServiceVideo), ""
			} else {
				a.Service, a.ClinicID = string(booking.ServiceClinic), prefixed(c.id, prefixClinic)
			}
			return evEntered
		}),
		next: map[string]string{evEntered: "consent"},
		note: note + " 已預約之指定診所或視像診症服務",
	}
}

// verifyingStep checks the answers against the patient's booking with
// check; a match goes to found, any expected refusal is said and ends the
// flow (it never says which part was wrong).
func verifyingStep(check func(t *turn) (booking.Booking, error), found string) step {
	return step{
		name: "verifying",
		on: func(t *turn) (string, error) {
			b, err := check(t)
			if err != nil {
				return "", fmt.Errorf("dialog: verify: %w", err)
			}
			t.made = &b
			a := &t.s.Answers
			a.Reference, a.SlotID = string(b.Reference), int64(b.Slot.ID)
			return evFound, nil
		},
		fail: []failure{{event: evEnded, say: sayOwn}},
		next: map[string]string{evFound: found, evEnded: stMenu},
		note: "verifies the booking",
	}
}

// askBookingShown renders the booking the step shows with key; exitOnly
// offers only "離開" (the flow is over). Asked again once the patient's
// details are gone (/help, /back after the flow ended), it says again,
// with the reference, instead.
func askBookingShown(key, again string, exitOnly bool) func(*turn) (Reply, error) {
	return func(t *turn) (Reply, error) {
		r, shown, err := bookingShown(t, key, again)
		if err == nil && shown && exitOnly {
			r.Options = []Option{t.exitOption()}
		}
		return r, err
	}
}

// bookingShown renders the booking the step shows with key, or again
// (shown false) once the patient's details are gone.
func bookingShown(t *turn, key, again string) (r Reply, shown bool, err error) {
	b, ok, err := t.shownBooking()
	if err != nil {
		return Reply{}, false, err
	}
	if !ok {
		r := t.reply(again, map[string]any{"ref": t.s.Answers.Reference})
		r.Options = []Option{t.exitOption()}
		return r, false, nil
	}
	details, err := t.details(b)
	if err != nil {
		return Reply{}, false, err
	}
	return t.reply(key, map[string]any{"details": details}), true, nil
}

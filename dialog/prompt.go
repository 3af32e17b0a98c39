package dialog

import (
	"fmt"
	"strings"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// prompt asks the current step's question: its message and its options,
// carrying the session's step nonce.
func (t *turn) prompt() error {
	t.leaveHold()
	s := t.s
	st := conversation.info(s.State)
	if st == nil || st.ask == nil {
		return fmt.Errorf("dialog: no prompt for state %q", s.State)
	}
	r, err := st.ask(t)
	if err != nil {
		return err
	}
	if r.Options == nil {
		choices, err := t.choices()
		if err != nil {
			return err
		}
		for _, c := range choices {
			if !c.full {
				r.Options = append(r.Options, Option{ID: c.id, Label: c.label(t.e.cat, s.Lang)})
			}
		}
		if st.exit {
			r.Options = append(r.Options, t.exitOption())
		}
	}
	if len(r.Options) > 0 {
		r.Nonce = s.Nonce
	}
	r.Replace = t.replace
	t.replies = append(t.replies, r)
	return nil
}

func (t *turn) exitOption() Option {
	return Option{ID: optExit, Label: t.text("opt.exit", nil)}
}

func (t *turn) quotaWord(q booking.QuotaStatus) string {
	level := q.Level
	if level == "" {
		level = booking.QuotaFull
	}
	return t.text("quota."+string(level), nil)
}

// when is a slot's period in Hong Kong time, in the session's language.
func (t *turn) when(sl booking.Slot) string {
	return locales.FormatPeriod(t.s.Lang, t.local(sl.Start), t.local(sl.End))
}

// place is where a slot is: its clinic, or the video service.
func (t *turn) place(sl booking.Slot) (string, error) {
	if sl.Service == booking.ServiceVideo {
		return t.text("detail.service", map[string]any{"service": t.text("service.video", nil)}), nil
	}
	c, err := t.e.svc.Clinic(t.ctx, sl.ClinicID)
	if err != nil {
		return "", fmt.Errorf("dialog: clinic: %w", err)
	}
	return t.text("detail.clinic", map[string]any{"clinic": c.Name.In(t.s.Lang)}), nil
}

// shownBooking is the booking the current step shows: the one this update
// made or found, or the one the answers refer to. ok is false when there is
// none to show (a patient's booking the booker may not see).
func (t *turn) shownBooking() (booking.Booking, bool, error) {
	if t.made != nil {
		return *t.made, true, nil
	}
	a := t.s.Answers
	if a.Reference == "" || a.SlotID == 0 || a.DocNumber == "" {
		return booking.Booking{}, false, nil
	}
	slot, err := t.e.svc.Store.Slot(t.ctx, booking.SlotID(a.SlotID))
	if err != nil {
		return booking.Booking{}, false, fmt.Errorf("dialog: booked slot: %w", err)
	}
	doc := t.patient().Document
	return booking.Booking{Reference: booking.Reference(a.Reference), Slot: slot, PatientMasked: doc.Masked(), DocumentType: doc.Type}, true, nil
}

// details lists a booking for the booker: reference, masked patient,
// service, clinic and address, and the time in Hong Kong.
func (t *turn) details(b booking.Booking) (string, error) {
	lang := t.s.Lang
	lines := []string{
		t.text("detail.ref", map[string]any{"ref": b.Reference}),
		t.text("detail.patient", map[string]any{"patient": b.PatientMasked}),
		t.text("detail.service", map[string]any{"service": t.text("service."+string(b.Slot.Service), nil)}),
	}
	if b.Slot.Service == booking.ServiceClinic {
		c, err := t.e.svc.Clinic(t.ctx, b.Slot.ClinicID)
		if err != nil {
			return "", fmt.Errorf("dialog: clinic: %w", err)
		}
		lines = append(lines, t.text("detail.clinic", map[string]any{"clinic": c.Name.In(lang)}))
		if addr := c.Address.In(lang); addr != "" {
			lines = append(lines, t.text("detail.address", map[string]any{"address": addr}))
		}
	}
	lines = append(lines, t.text("detail.when", map[string]any{"when": t.when(b.Slot)}))
	return strings.Join(lines, "\n"), nil
}

// bookedReply is the seed's success screen: the booking, the calendar file,
// the clinic's location (or, for video, the notes to prepare) and "離開".
func (t *turn) bookedReply(b booking.Booking) (Reply, error) { return t.bookedReplyAs("booked", b) }

// bookedReplyAs is bookedReply headed by key: a booking made, or moved.
func (t *turn) bookedReplyAs(key string, b booking.Booking) (Reply, error) {
	r, err := t.bookingCard(key, b)
	if err != nil {
		return Reply{}, err
	}
	r.Text += "\n" + t.text("booked.exit", nil)
	r.Options = []Option{t.exitOption()}
	return r, nil
}

// bookingCard is a booking shown with key (its details as {details}), the
// calendar file, and the clinic's location or, for video, the notes to
// prepare: the success screen's, and "my bookings"' look-up.
func (t *turn) bookingCard(key string, b booking.Booking) (Reply, error) {
	details, err := t.details(b)
	if err != nil {
		return Reply{}, err
	}
	r := t.reply(key, map[string]any{"details": details})
	var clinic *booking.Clinic
	if b.Slot.Service == booking.ServiceClinic {
		c, err := t.e.svc.Clinic(t.ctx, b.Slot.ClinicID)
		if err != nil {
			return Reply{}, fmt.Errorf("dialog: clinic: %w", err)
		}
		clinic = &c
		// A map pin needs coordinates; an imported clinic may have none,
		// and a pin at 0,0 would mislead.
		if c.Location.Known() {
			r.Text += "\n" + t.text("booked.clinic_tip", nil)
			r.Location = &Location{Name: c.Name.In(t.s.Lang), Address: c.Address.In(t.s.Lang), Lat: c.Location.Lat, Lng: c.Location.Lng}
		}
	} else {
		r.Text += "\n" + t.text("booked.video_tip", map[string]any{"note": t.text("video.note", nil)})
	}
	summary := t.text("service."+string(b.Slot.Service), nil)
	if clinic != nil {
		summary += " – " + clinic.Name.In(t.s.Lang)
	}
	r.Calendar = calendarFile(b, clinic, t.s.Lang, summary, details, t.e.loc)
	return r, nil
}

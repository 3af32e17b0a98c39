package dialog

import (
	"errors"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// errorKeys maps each expected outcome of package booking to the locale key
// of what the booker is told. It is the only place where errors become
// words; an error it does not know is "something went wrong, nothing was
// changed" (err.internal), logged once by Step.
var errorKeys = []struct {
	target error
	key    string
}{
	{booking.ErrNotFound, "err.not_found"},
	{booking.ErrSlotTaken, "err.slot_taken"},
	{booking.ErrQuotaFull, "err.quota_full"},
	{booking.ErrSlotUnavailable, "err.slot_unavailable"},
	{booking.ErrAlreadyBooked, "already.booked.hidden"},
	{booking.ErrNotEligible, "video.ineligible.age"},
	{booking.ErrAppointmentStarted, "err.appointment_started"},
	{booking.ErrTooManyAttempts, "err.cooldown"},
}

// errorMessage returns the locale key and arguments that tell the booker
// about err, and false for an error that is not an expected outcome.
func (t *turn) errorMessage(err error) (string, map[string]any, bool) {
	var v *booking.ValidationError
	if errors.As(err, &v) {
		key := "invalid." + v.Field + "." + string(v.Reason)
		if v.Field == "consent" {
			key = "err.consent"
		}
		if !t.e.cat.Has(locales.Default, key) {
			key = "invalid.input"
		}
		return key, nil, true
	}
	for _, m := range errorKeys {
		if !errors.Is(err, m.target) {
			continue
		}
		var args map[string]any
		var cool *booking.CooldownError
		var el *booking.EligibilityError
		switch {
		case errors.As(err, &cool):
			args = map[string]any{"until": locales.FormatDateTime(t.s.Lang, t.local(cool.Until))}
		case errors.As(err, &el):
			return "video.ineligible." + string(el.Reason), map[string]any{"note": t.text("video.note", nil)}, true
		}
		return m.key, args, true
	}
	return "", nil, false
}

// sayError tells the booker about an expected outcome; the caller has
// checked with errorMessage that err is one.
func (t *turn) sayError(err error) {
	key, args, ok := t.errorMessage(err)
	if !ok {
		key, args = "err.internal", nil
	}
	t.say(key, args)
}

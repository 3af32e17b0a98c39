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
//
// A retry entry is not an outcome of the step but a failure to take it:
// Step leaves the session as it was and tells the booker key, so that the
// same answer given again can succeed.
var errorKeys = []struct {
	target error
	key    string
	retry  bool
}{
	{target: booking.ErrNotFound, key: "err.not_found"},
	{target: booking.ErrSlotTaken, key: "err.slot_taken"},
	{target: booking.ErrQuotaFull, key: "err.quota_full"},
	{target: booking.ErrSlotUnavailable, key: "err.slot_unavailable"},
	{target: booking.ErrAlreadyBooked, key: "already.booked.hidden"},
	{target: booking.ErrNotEligible, key: "video.ineligible.age"},
	{target: booking.ErrAppointmentStarted, key: "err.appointment_started"},
	{target: booking.ErrTooManyAttempts, key: "err.cooldown"},
	{target: booking.ErrBookerLimit, key: "err.limit.active"},
	{target: booking.ErrUnavailable, key: "err.unavailable", retry: true},
}

// failureKey returns the locale key that answers an error Step did not
// handle: the key of a retry entry err matches (retry true), or
// err.internal.
func failureKey(err error) (key string, retry bool) {
	for _, m := range errorKeys {
		if m.retry && errors.Is(err, m.target) {
			return m.key, true
		}
	}
	return "err.internal", false
}

// errorMessage returns the locale key and arguments that tell the booker
// about err, and false for an error that is not an expected outcome (a
// retry entry included: it goes back to Step).
func (t *turn) errorMessage(err error) (string, map[string]any, bool) {
	if _, retry := failureKey(err); retry {
		return "", nil, false
	}
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
		var lim *booking.LimitError
		switch {
		case errors.As(err, &cool):
			args = map[string]any{"until": locales.FormatDateTime(t.s.Lang, t.local(cool.Until))}
		case errors.As(err, &lim):
			args = map[string]any{"max": lim.Max}
			if lim.Limit == booking.LimitPatients {
				args["until"] = locales.FormatDateTime(t.s.Lang, t.local(lim.Until))
				return "err.limit.patients", args, true
			}
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

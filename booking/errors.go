package booking

import (
	"errors"
	"fmt"
	"time"
)

// Expected outcomes. Callers match them with errors.Is; they carry no
// user-facing text (dialog maps each to a locale key).
var (
	// ErrNotFound: no such record, or (for enquiry and cancel) the
	// verification did not match; the same error whichever part was wrong.
	ErrNotFound = errors.New("not found")
	// ErrSlotTaken: the slot has no place left (taken since it was offered).
	ErrSlotTaken = errors.New("slot taken")
	// ErrHoldExpired: the place offered was held for the booker, but the
	// hold lapsed and the place went to someone else. It comes joined with
	// ErrSlotTaken.
	ErrHoldExpired = errors.New("hold expired")
	// ErrQuotaFull: the service or clinic has no place left in the window.
	ErrQuotaFull = errors.New("quota full")
	// ErrSlotUnavailable: the slot is outside the booking window or starts
	// too soon to be booked.
	ErrSlotUnavailable = errors.New("slot unavailable")
	// ErrAlreadyBooked: the patient already holds an active future booking.
	// It carries nothing about that booking, whoever asks and whatever date
	// of birth they gave: the booking is shown only by an enquiry, which
	// verifies the booked clinic too.
	ErrAlreadyBooked = errors.New("patient already booked")
	// ErrNotEligible: the patient may not use the service; the error is an
	// *EligibilityError that says why.
	ErrNotEligible = errors.New("not eligible")
	// ErrAppointmentStarted: the appointment has begun and cannot be cancelled.
	ErrAppointmentStarted = errors.New("appointment started")
	// ErrTooManyAttempts: too many failed verifications; the error is a
	// *CooldownError that says until when.
	ErrTooManyAttempts = errors.New("too many failed verifications")
	// ErrBookerLimit: the booker holds as many active bookings, or has
	// looked up as many patients within the hour, as one booker may; the
	// error is a *LimitError that says which.
	ErrBookerLimit = errors.New("booker limit reached")
	// ErrConflict: a concurrent change won; the caller may retry.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the store could not be reached (refused, timed out,
	// connection lost, server shutting down); the caller may retry, and the
	// store recovers by itself once it is reachable again. The call changed
	// nothing, except when the connection was lost while a commit was in
	// flight: then the outcome is unknown, which an idempotency key makes
	// safe to retry (Book).
	ErrUnavailable = errors.New("store unavailable")
)

// Reason is a machine code for why input was refused or a rule failed.
type Reason string

// Validation and eligibility reasons.
const (
	ReasonEmpty        Reason = "empty"
	ReasonFormat       Reason = "format"        // not in any accepted shape
	ReasonHKIDCheck    Reason = "hkid_check"    // HKID check character wrong
	ReasonLength       Reason = "length"        // other document: not 5–20 characters
	ReasonImpossible   Reason = "impossible"    // a date that does not exist, e.g. 31/2
	ReasonFuture       Reason = "future"        // date of birth after today
	ReasonTooOld       Reason = "too_old"       // date of birth over 130 years ago
	ReasonNotMobile    Reason = "not_mobile"    // 8 digits, but not a mobile prefix (4–9)
	ReasonDocumentType Reason = "document_type" // video: not an HKID holder
	ReasonAge          Reason = "age"           // video: under 18 on the slot's date
)

// ValidationError says which typed input was refused and why.
type ValidationError struct {
	Field  string // "hkid", "document", "date_of_birth", "mobile", ...
	Reason Reason
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// EligibilityError says why a patient may not use a service.
// It matches ErrNotEligible.
type EligibilityError struct {
	Service ServiceKind
	Reason  Reason // ReasonDocumentType or ReasonAge
}

func (e *EligibilityError) Error() string {
	return fmt.Sprintf("not eligible for %s: %s", e.Service, e.Reason)
}

// Is makes errors.Is(err, ErrNotEligible) hold.
func (e *EligibilityError) Is(target error) bool { return target == ErrNotEligible }

// CooldownError says until when verification is refused.
// It matches ErrTooManyAttempts.
type CooldownError struct{ Until time.Time }

func (e *CooldownError) Error() string {
	return "too many failed verifications until " + e.Until.UTC().Format(time.RFC3339)
}

// Is makes errors.Is(err, ErrTooManyAttempts) hold.
func (e *CooldownError) Is(target error) bool { return target == ErrTooManyAttempts }

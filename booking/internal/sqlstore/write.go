package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// CheckClinics refuses a clinic without an ID or in no known region, with
// a *booking.ValidationError, before anything is written.
func CheckClinics(clinics []booking.Clinic) error {
	for _, c := range clinics {
		if c.ID == "" {
			return &booking.ValidationError{Field: "clinic", Reason: booking.ReasonEmpty}
		}
		if !c.Region.Valid() {
			return &booking.ValidationError{Field: "region", Reason: booking.ReasonFormat}
		}
	}
	return nil
}

// UpsertClinic inserts a clinic, or updates the one with its ID; its
// arguments are ClinicArgs.
const UpsertClinic = `INSERT INTO clinics (id, region, region_rank,
		district_zh_hk, district_en, district_zh_cn,
		name_zh_hk, name_en, name_zh_cn,
		address_zh_hk, address_en, address_zh_cn,
		lat, lng, source)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
	ON CONFLICT (id) DO UPDATE SET
		region = excluded.region, region_rank = excluded.region_rank,
		district_zh_hk = excluded.district_zh_hk, district_en = excluded.district_en, district_zh_cn = excluded.district_zh_cn,
		name_zh_hk = excluded.name_zh_hk, name_en = excluded.name_en, name_zh_cn = excluded.name_zh_cn,
		address_zh_hk = excluded.address_zh_hk, address_en = excluded.address_en, address_zh_cn = excluded.address_zh_cn,
		lat = excluded.lat, lng = excluded.lng, source = excluded.source`

// ClinicArgs are the arguments of UpsertClinic for c.
func ClinicArgs(c booking.Clinic) []any {
	return []any{c.ID, c.Region, regionRank(c.Region),
		c.District.ZhHK, c.District.En, c.District.ZhCN,
		c.Name.ZhHK, c.Name.En, c.Name.ZhCN,
		c.Address.ZhHK, c.Address.En, c.Address.ZhCN,
		c.Location.Lat, c.Location.Lng, c.Source}
}

// regionRank orders regions as the seed does.
func regionRank(r booking.Region) int {
	for i, x := range booking.Regions {
		if x == r {
			return i
		}
	}
	return len(booking.Regions)
}

// CheckSlots refuses, before anything is written, a slot that
// Slot.Validate refuses; the error is Validate's, every problem of the
// first such slot, each a *booking.ValidationError.
func CheckSlots(slots []booking.Slot) error {
	for _, sl := range slots {
		if err := sl.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// StartBook is what Book does in both stores before it writes the
// booking. It returns replayed true with the booking an earlier request
// with nb's idempotency key made; booking.ErrNotFound for no such slot and
// booking.ErrSlotTaken for one with no place left; otherwise it marks the
// patient's active bookings whose slot ended by nb.CreatedAt completed, so
// that only one still to come stands in the way of another.
//
// Whether the slot has a place is read first: in a rush for one place most
// attempts find none and end here, before anything is written and (in
// PostgreSQL) without waiting for the slot's row lock. The claim still
// decides; this read only spares the losers the writes. The replay lookup
// comes after it, so that a booking whose commit filled the slot is seen by
// both and returned.
func StartBook(ctx context.Context, db DB, nb booking.NewBooking) (prior booking.Booking, replayed bool, err error) {
	var room, found bool
	switch err := db.QueryRow(ctx, `SELECT taken < capacity FROM slots WHERE id = $1`, nb.SlotID).Scan(&room); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return booking.Booking{}, false, err
	default:
		found = true
	}
	if nb.IdempotencyKey != "" {
		b, err := BookingByKey(ctx, db, nb.IdempotencyKey)
		if err == nil {
			return b, true, nil
		}
		if !errors.Is(err, booking.ErrNotFound) {
			return booking.Booking{}, false, err
		}
	}
	if !found {
		return booking.Booking{}, false, booking.ErrNotFound
	}
	if !room {
		return booking.Booking{}, false, booking.ErrSlotTaken
	}
	_, err = db.Exec(ctx, `UPDATE bookings SET status = 'completed'
		WHERE patient_key = $1 AND status = 'active'
			AND slot_id IN (SELECT id FROM slots WHERE end_at <= $2)`,
		nb.Patient, db.Time(nb.CreatedAt))
	return booking.Booking{}, false, err
}

// InsertBooking is the statement that writes a booking and returns its
// ID; its arguments are BookingArgs.
const InsertBooking = `INSERT INTO bookings (reference, slot_id, patient_key, birth_key, patient_masked,
		mobile_sealed, document_type, booker_channel, booker_id, status, consent_at, created_at, idempotency_key, lang)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12, $13)
	RETURNING id`

// BookingArgs are the arguments of InsertBooking for nb: $1 reference,
// $2 slot, $3 patient key, $4 birth key, $5 masked document, $6 sealed
// mobile, $7 document type, $8 booker channel, $9 booker ID, $10 consent
// time, $11 creation time, $12 idempotency key (NULL for none), $13 the
// booking's language.
func BookingArgs(db DB, nb booking.NewBooking) []any {
	return []any{nb.Reference, nb.SlotID, nb.Patient, nb.BirthKey, nb.PatientMasked,
		nb.MobileSealed, nb.DocumentType, nb.Booker.Channel, nb.Booker.ID,
		db.Time(nb.ConsentAt), db.Time(nb.CreatedAt), nullText(nb.IdempotencyKey), nb.Lang}
}

// Booked is the booking InsertBooking writes for nb as a store returns
// it, but for its ID and its slot.
func Booked(nb booking.NewBooking) booking.Booking {
	return booking.Booking{
		Reference:     nb.Reference,
		PatientMasked: nb.PatientMasked,
		DocumentType:  nb.DocumentType,
		Booker:        nb.Booker,
		Status:        booking.StatusActive,
		ConsentAt:     Stored(nb.ConsentAt),
		CreatedAt:     Stored(nb.CreatedAt),
	}
}

// RecordAudit records one line of the audit trail; id zero is none.
func RecordAudit(ctx context.Context, db DB, at time.Time, action booking.AuditAction, booker booking.Booker, patient booking.PatientKey, id booking.BookingID) error {
	var bookingID any
	if id != 0 {
		bookingID = int64(id)
	}
	_, err := db.Exec(ctx, `INSERT INTO audit (at, action, channel, booker_id, patient_key, booking_id)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		db.Time(at), action, booker.Channel, booker.ID, nullText(string(patient)), bookingID)
	return err
}

// candidate reads the booking that query selects, by its ID, patient key
// and birth key, and reports whether it matches every part of v (for a
// bound v, its booker). No such booking matches nothing, with a nil error.
// patient is the booking's patient key, "" when purged.
func candidate(ctx context.Context, db DB, v booking.Verification, query string, args ...any) (b booking.Booking, patient booking.PatientKey, matched bool, err error) {
	var (
		id                   booking.BookingID
		patientKey, birthKey *string
	)
	err = db.QueryRow(ctx, query, args...).Scan(&id, &patientKey, &birthKey)
	if errors.Is(err, sql.ErrNoRows) {
		return booking.Booking{}, "", false, nil
	}
	if err != nil {
		return booking.Booking{}, "", false, err
	}
	if b, err = bookingByID(ctx, db, id); err != nil {
		return booking.Booking{}, "", false, err
	}
	if patientKey == nil || birthKey == nil {
		return b, "", false, nil // purged: nothing left to match
	}
	patient = booking.PatientKey(*patientKey)
	if v.Bound {
		return b, patient, v.Booker.ID != "" && b.Booker == v.Booker, nil
	}
	matched = patient == v.Patient && *birthKey == v.BirthKey && b.Slot.Service == v.Service && b.Slot.ClinicID == v.ClinicID
	return b, patient, matched, nil
}

// mismatch records a failed verification for v: by the booker, for the
// patient v names (none when v is bound).
func mismatch(ctx context.Context, db DB, v booking.Verification) error {
	patient := v.Patient
	if v.Bound {
		patient = ""
	}
	return RecordAudit(ctx, db, v.At, booking.AuditVerifyFailed, v.Booker, patient, 0)
}

// Verify finds the active, not yet ended booking that matches every part
// of v and records v.Action (AuditEnquire if empty), unless v.Limits'
// cool-down refuses it first (the transaction db holds LockKeys); otherwise
// it records
// a failed verification and reports found false with a nil error, so that
// the record is committed before the store returns booking.ErrNotFound.
func Verify(ctx context.Context, db DB, v booking.Verification) (b booking.Booking, found bool, err error) {
	action := v.Action
	if action == "" {
		action = booking.AuditEnquire
	}
	if err := cooldown(ctx, db, v.Limits, v.Booker, v.Patient, v.At); err != nil {
		return booking.Booking{}, false, err
	}
	v.Bound = false
	b, _, found, err = candidate(ctx, db, v, `SELECT b.id, b.patient_key, b.birth_key
		FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.patient_key = $1 AND b.status = 'active' AND s.end_at > $2`, v.Patient, db.Time(v.At))
	if err != nil {
		return booking.Booking{}, false, err
	}
	if !found {
		return booking.Booking{}, false, RecordAudit(ctx, db, v.At, booking.AuditVerifyFailed, v.Booker, v.Patient, 0)
	}
	return b, true, RecordAudit(ctx, db, v.At, action, v.Booker, v.Patient, b.ID)
}

// Cancel cancels booking ref if it matches v and gives its place back to
// the slot; a cancelled booking is returned unchanged, one whose slot
// started by v.At is booking.ErrAppointmentStarted. When v does not match
// it records a failed verification and reports matched false with a nil
// error, so that the record is committed before the store returns
// booking.ErrNotFound.
func Cancel(ctx context.Context, db DB, v booking.Verification, ref booking.Reference) (b booking.Booking, matched bool, err error) {
	if !v.Bound {
		if err := cooldown(ctx, db, v.Limits, v.Booker, v.Patient, v.At); err != nil {
			return booking.Booking{}, false, err
		}
	}
	b, patient, matched, err := candidate(ctx, db, v,
		`SELECT id, patient_key, birth_key FROM bookings WHERE reference = $1`+db.ForUpdate, ref)
	if err != nil {
		return booking.Booking{}, false, err
	}
	if !matched {
		return booking.Booking{}, false, mismatch(ctx, db, v)
	}
	switch {
	case b.Status == booking.StatusCancelled:
		return b, true, nil
	case b.Status != booking.StatusActive || !b.Slot.Start.After(v.At):
		return booking.Booking{}, true, booking.ErrAppointmentStarted
	}
	if _, err := db.Exec(ctx, `UPDATE bookings SET status = 'cancelled', cancelled_at = $2 WHERE id = $1`,
		b.ID, db.Time(v.At)); err != nil {
		return booking.Booking{}, true, err
	}
	if _, err := db.Exec(ctx, `UPDATE slots SET taken = taken - 1 WHERE id = $1`, b.Slot.ID); err != nil {
		return booking.Booking{}, true, err
	}
	if err := RecordAudit(ctx, db, v.At, booking.AuditCancel, v.Booker, patient, b.ID); err != nil {
		return booking.Booking{}, true, err
	}
	by := booking.ByOther
	if b.Booker == v.Booker {
		by = booking.ByBooker
	}
	if b, err = bookingByID(ctx, db, b.ID); err != nil {
		return booking.Booking{}, true, err
	}
	return b, true, Changed(ctx, db, b, booking.NoticeCancelled, by, "", v.At)
}

// Move moves booking ref, if it matches v, to slot to; see
// booking.Store.Move. When v does not match it records a failed
// verification and reports matched false with a nil error, as Cancel does.
func Move(ctx context.Context, db DB, v booking.Verification, ref booking.Reference, to booking.SlotID) (b booking.Booking, matched bool, err error) {
	b, patient, matched, err := candidate(ctx, db, v,
		`SELECT id, patient_key, birth_key FROM bookings WHERE reference = $1`+db.ForUpdate, ref)
	if err != nil {
		return booking.Booking{}, false, err
	}
	if !matched {
		return booking.Booking{}, false, mismatch(ctx, db, v)
	}
	switch {
	case b.Status != booking.StatusActive || !b.Slot.Start.After(v.At):
		return booking.Booking{}, true, booking.ErrAppointmentStarted
	case b.Slot.ID == to, v.Bound && b.Slot.Service != v.Service:
		return booking.Booking{}, true, booking.ErrSlotUnavailable
	}
	if _, err := Claim(ctx, db, to, v.Booker, v.At); err != nil {
		return booking.Booking{}, true, err
	}
	if _, err := db.Exec(ctx, `UPDATE slots SET taken = taken - 1 WHERE id = $1`, b.Slot.ID); err != nil {
		return booking.Booking{}, true, err
	}
	if _, err := db.Exec(ctx, `UPDATE bookings SET slot_id = $2, sequence = sequence + 1 WHERE id = $1`, b.ID, to); err != nil {
		return booking.Booking{}, true, err
	}
	if err := RecordAudit(ctx, db, v.At, booking.AuditMove, v.Booker, patient, b.ID); err != nil {
		return booking.Booking{}, true, err
	}
	by := booking.ByOther
	if b.Booker == v.Booker {
		by = booking.ByBooker
	}
	if b, err = bookingByID(ctx, db, b.ID); err != nil {
		return booking.Booking{}, true, err
	}
	if err := Changed(ctx, db, b, booking.NoticeMoved, by, "", v.At); err != nil {
		return booking.Booking{}, true, err
	}
	return b, true, Remind(ctx, db, b.ID, v.RemindAt, b.Slot.Start, v.At)
}

// Complete marks the active bookings whose slot ended at or before at
// completed and returns how many.
func Complete(ctx context.Context, db DB, at time.Time) (int, error) {
	n, err := db.Exec(ctx, `UPDATE bookings SET status = 'completed'
		WHERE status = 'active' AND slot_id IN (SELECT id FROM slots WHERE end_at <= $1)`, db.Time(at))
	return int(n), err
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

// SaveClinics inserts or updates clinics by ID, all or none.
func (s *Store) SaveClinics(ctx context.Context, clinics []booking.Clinic) (err error) {
	defer wrap(&err, "save clinics")
	for _, c := range clinics {
		if c.ID == "" {
			return &booking.ValidationError{Field: "clinic", Reason: booking.ReasonEmpty}
		}
		if !c.Region.Valid() {
			return &booking.ValidationError{Field: "region", Reason: booking.ReasonFormat}
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, c := range clinics {
			batch.Queue(`INSERT INTO clinics (id, region, region_rank,
					district_zh_hk, district_en, district_zh_cn,
					name_zh_hk, name_en, name_zh_cn,
					address_zh_hk, address_en, address_zh_cn,
					lat, lng, source)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
				ON CONFLICT (id) DO UPDATE SET
					region = EXCLUDED.region, region_rank = EXCLUDED.region_rank,
					district_zh_hk = EXCLUDED.district_zh_hk, district_en = EXCLUDED.district_en, district_zh_cn = EXCLUDED.district_zh_cn,
					name_zh_hk = EXCLUDED.name_zh_hk, name_en = EXCLUDED.name_en, name_zh_cn = EXCLUDED.name_zh_cn,
					address_zh_hk = EXCLUDED.address_zh_hk, address_en = EXCLUDED.address_en, address_zh_cn = EXCLUDED.address_zh_cn,
					lat = EXCLUDED.lat, lng = EXCLUDED.lng, source = EXCLUDED.source`,
				c.ID, c.Region, regionRank(c.Region),
				c.District.ZhHK, c.District.En, c.District.ZhCN,
				c.Name.ZhHK, c.Name.En, c.Name.ZhCN,
				c.Address.ZhHK, c.Address.En, c.Address.ZhCN,
				c.Location.Lat, c.Location.Lng, c.Source)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
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

// Clinics returns every clinic ordered by region (seed order) then ID.
func (s *Store) Clinics(ctx context.Context) (_ []booking.Clinic, err error) {
	defer wrap(&err, "clinics")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.Clinics(ctx, s.pooled)
}

// validSlot checks what the schema would otherwise refuse less clearly.
func validSlot(sl booking.Slot) error {
	switch {
	case !sl.Service.Valid():
		return &booking.ValidationError{Field: "service", Reason: booking.ReasonFormat}
	case sl.Service == booking.ServiceClinic && sl.ClinicID == "":
		return &booking.ValidationError{Field: "clinic", Reason: booking.ReasonEmpty}
	case sl.Service == booking.ServiceVideo && sl.ClinicID != "":
		return &booking.ValidationError{Field: "clinic", Reason: booking.ReasonFormat}
	case !sl.End.After(sl.Start):
		return &booking.ValidationError{Field: "end", Reason: booking.ReasonImpossible}
	case sl.Capacity < 0:
		return &booking.ValidationError{Field: "capacity", Reason: booking.ReasonFormat}
	}
	return nil
}

// SaveSlots inserts slots, or updates the end and capacity of those that
// exist, all or none; it returns how many were new.
func (s *Store) SaveSlots(ctx context.Context, slots []booking.Slot) (_ int, err error) {
	defer wrap(&err, "save slots")
	for _, sl := range slots {
		if err := validSlot(sl); err != nil {
			return 0, err
		}
	}
	var added int
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		added = 0
		batch := &pgx.Batch{}
		for _, sl := range slots {
			batch.Queue(`INSERT INTO slots (service, clinic_id, start_at, end_at, capacity)
				VALUES ($1, NULLIF($2, ''), $3, $4, $5)
				ON CONFLICT (service, (coalesce(clinic_id, '')), start_at)
				DO UPDATE SET end_at = EXCLUDED.end_at, capacity = EXCLUDED.capacity
				RETURNING xmax = 0`,
				sl.Service, sl.ClinicID, ts(sl.Start), ts(sl.End), sl.Capacity).QueryRow(func(row pgx.Row) error {
				var inserted bool
				if err := row.Scan(&inserted); err != nil {
					return err
				}
				if inserted {
					added++
				}
				return nil
			})
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

const slotColumns = `s.id, s.service, coalesce(s.clinic_id, ''), s.start_at, s.end_at, s.capacity, s.taken`

func scanSlot(row pgx.Row) (booking.Slot, error) {
	var sl booking.Slot
	err := row.Scan(&sl.ID, &sl.Service, &sl.ClinicID, &sl.Start, &sl.End, &sl.Capacity, &sl.Taken)
	sl.Start, sl.End = sl.Start.UTC(), sl.End.UTC()
	return sl, err
}

// Slot returns one slot, or booking.ErrNotFound.
func (s *Store) Slot(ctx context.Context, id booking.SlotID) (_ booking.Slot, err error) {
	defer wrap(&err, "slot %d", id)
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.Slot(ctx, s.pooled, id)
}

// Slots returns the slots that match q, ordered by start then ID.
func (s *Store) Slots(ctx context.Context, q booking.SlotQuery) (_ []booking.Slot, err error) {
	defer wrap(&err, "slots")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.Slots(ctx, s.pooled, q)
}

// QuotaCounts sums capacity and places taken per service and clinic over
// the slots that start in [from, to).
func (s *Store) QuotaCounts(ctx context.Context, from, to time.Time) (_ []booking.QuotaCount, err error) {
	defer wrap(&err, "quota counts")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.QuotaCounts(ctx, s.pooled, from, to)
}

// bookingSelect reads bookings with their slot; callers append conditions.
const bookingSelect = `SELECT b.id, b.reference, ` + slotColumns + `,
		coalesce(b.patient_masked, ''), b.document_type, b.booker_channel, b.booker_id,
		b.status, b.consent_at, b.created_at, b.cancelled_at
	FROM bookings b JOIN slots s ON s.id = b.slot_id`

func scanBooking(row pgx.Row) (booking.Booking, error) {
	var (
		b         booking.Booking
		cancelled *time.Time
	)
	err := row.Scan(&b.ID, &b.Reference,
		&b.Slot.ID, &b.Slot.Service, &b.Slot.ClinicID, &b.Slot.Start, &b.Slot.End, &b.Slot.Capacity, &b.Slot.Taken,
		&b.PatientMasked, &b.DocumentType, &b.Booker.Channel, &b.Booker.ID,
		&b.Status, &b.ConsentAt, &b.CreatedAt, &cancelled)
	b.Slot.Start, b.Slot.End = b.Slot.Start.UTC(), b.Slot.End.UTC()
	b.ConsentAt, b.CreatedAt = b.ConsentAt.UTC(), b.CreatedAt.UTC()
	if cancelled != nil {
		b.CancelledAt = cancelled.UTC()
	}
	return b, err
}

func bookingByID(ctx context.Context, q querier, id booking.BookingID) (booking.Booking, error) {
	return scanBooking(q.QueryRow(ctx, bookingSelect+` WHERE b.id = $1`, id))
}

// Book claims one place of nb.SlotID and records the booking, atomically.
func (s *Store) Book(ctx context.Context, nb booking.NewBooking) (_ booking.Booking, err error) {
	defer wrap(&err, "book slot %d", nb.SlotID)
	ctx, cancel := bound(ctx)
	defer cancel()
	var b booking.Booking
	err = s.inTx(ctx, func(tx pgx.Tx) (err error) {
		b, err = book(ctx, tx, nb)
		return err
	})
	if err != nil && nb.IdempotencyKey != "" {
		// A concurrent request with the same key may have committed first:
		// then this one met its booking (as the patient's active booking,
		// or in a unique index) and that booking is the answer.
		var (
			pgErr   interface{ SQLState() string }
			already *booking.AlreadyBookedError
		)
		if errors.As(err, &already) || errors.As(err, &pgErr) && pgErr.SQLState() == codeUniqueViolation {
			prior, lerr := scanBooking(s.pool.QueryRow(ctx, bookingSelect+` WHERE b.idempotency_key = $1`, nb.IdempotencyKey))
			if lerr == nil {
				return prior, nil
			}
			if !errors.Is(lerr, pgx.ErrNoRows) {
				return booking.Booking{}, fmt.Errorf("replay: %w", lerr)
			}
		}
	}
	if err != nil {
		return booking.Booking{}, err
	}
	return b, nil
}

// book writes the booking and its audit record first and claims the place
// last: the claim locks the slot's row until commit, and on a busy slot
// every other booking of it waits for that lock, so it is held for as
// little as possible.
func book(ctx context.Context, tx pgx.Tx, nb booking.NewBooking) (booking.Booking, error) {
	// Whether the slot has a place, read first: in a rush for one place
	// most attempts find none and end here, before anything is written and
	// without waiting for the slot's row lock. The claim below still
	// decides; this read only spares the losers the writes. The replay
	// lookup comes after it, so that a booking whose commit filled the slot
	// is seen by both and returned.
	var room, found bool
	switch err := tx.QueryRow(ctx, `SELECT taken < capacity FROM slots WHERE id = $1`, nb.SlotID).Scan(&room); {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return booking.Booking{}, err
	default:
		found = true
	}
	if nb.IdempotencyKey != "" {
		b, err := scanBooking(tx.QueryRow(ctx, bookingSelect+` WHERE b.idempotency_key = $1`, nb.IdempotencyKey))
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return booking.Booking{}, err
		}
	}
	if !found {
		return booking.Booking{}, booking.ErrNotFound
	}
	if !room {
		return booking.Booking{}, booking.ErrSlotTaken
	}
	created := ts(nb.CreatedAt)
	if _, err := tx.Exec(ctx, `UPDATE bookings b SET status = 'completed'
		FROM slots s
		WHERE s.id = b.slot_id AND b.patient_key = $1 AND b.status = 'active' AND s.end_at <= $2`,
		nb.Patient, created); err != nil {
		return booking.Booking{}, err
	}
	b := booking.Booking{
		Reference:     nb.Reference,
		PatientMasked: nb.PatientMasked,
		DocumentType:  nb.DocumentType,
		Booker:        nb.Booker,
		Status:        booking.StatusActive,
		ConsentAt:     ts(nb.ConsentAt),
		CreatedAt:     created,
	}
	// The unique indexes refuse a patient's second active booking, a used
	// reference or idempotency key, and the foreign key an unknown slot;
	// translate says which.
	err := tx.QueryRow(ctx, `WITH b AS (
			INSERT INTO bookings (reference, slot_id, patient_key, birth_key, patient_masked,
				mobile_sealed, document_type, booker_channel, booker_id, status, consent_at, created_at, idempotency_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12)
			RETURNING id
		), a AS (
			INSERT INTO audit (at, action, channel, booker_id, patient_key, booking_id)
			SELECT $11, $13, $8, $9, $3, id FROM b
		)
		SELECT id FROM b`,
		nb.Reference, nb.SlotID, nb.Patient, nb.BirthKey, nb.PatientMasked,
		nb.MobileSealed, nb.DocumentType, nb.Booker.Channel, nb.Booker.ID, b.ConsentAt, created,
		nullText(nb.IdempotencyKey), booking.AuditBook).Scan(&b.ID)
	if err != nil {
		return booking.Booking{}, err
	}
	// The claim: one conditional update. No row means no place left (the
	// slot exists: the booking's foreign key holds it), and returning the
	// error rolls the booking and its audit record back.
	b.Slot, err = scanSlot(tx.QueryRow(ctx, `UPDATE slots s SET taken = taken + 1
		WHERE s.id = $1 AND s.taken < s.capacity
		RETURNING `+slotColumns, nb.SlotID))
	if errors.Is(err, pgx.ErrNoRows) {
		return booking.Booking{}, booking.ErrSlotTaken
	}
	if err != nil {
		return booking.Booking{}, err
	}
	return b, nil
}

// audit records one line of the audit trail.
func audit(ctx context.Context, q querier, at time.Time, action booking.AuditAction, booker booking.Booker, patient booking.PatientKey, id booking.BookingID) error {
	var bookingID *booking.BookingID
	if id != 0 {
		bookingID = &id
	}
	_, err := q.Exec(ctx, `INSERT INTO audit (at, action, channel, booker_id, patient_key, booking_id)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		ts(at), action, booker.Channel, booker.ID, nullText(string(patient)), bookingID)
	return err
}

// ActiveBooking returns the patient's active booking whose slot has not
// ended at at and whose birth key matches, or booking.ErrNotFound.
func (s *Store) ActiveBooking(ctx context.Context, patient booking.PatientKey, birthKey string, at time.Time) (_ booking.Booking, err error) {
	defer wrap(&err, "active booking")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.ActiveBooking(ctx, s.pooled, patient, birthKey, at)
}

// matches reports whether a booking's keys and slot match v.
func matches(v booking.Verification, birthKey string, slot booking.Slot) bool {
	return birthKey == v.BirthKey && slot.Service == v.Service && slot.ClinicID == v.ClinicID
}

// Verify finds the active, not yet ended booking that matches every part of
// v and records v.Action; otherwise it records a failed verification and
// returns booking.ErrNotFound.
func (s *Store) Verify(ctx context.Context, v booking.Verification) (_ booking.Booking, err error) {
	defer wrap(&err, "verify")
	ctx, cancel := bound(ctx)
	defer cancel()
	action := v.Action
	if action == "" {
		action = booking.AuditEnquire
	}
	var (
		b     booking.Booking
		found bool
	)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		found = false
		var (
			id       booking.BookingID
			birthKey *string
		)
		err := tx.QueryRow(ctx, `SELECT b.id, b.birth_key FROM bookings b JOIN slots s ON s.id = b.slot_id
			WHERE b.patient_key = $1 AND b.status = 'active' AND s.end_at > $2`, v.Patient, ts(v.At)).Scan(&id, &birthKey)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			if b, err = bookingByID(ctx, tx, id); err != nil {
				return err
			}
			found = birthKey != nil && matches(v, *birthKey, b.Slot)
		}
		if !found {
			return audit(ctx, tx, v.At, booking.AuditVerifyFailed, v.Booker, v.Patient, 0)
		}
		return audit(ctx, tx, v.At, action, v.Booker, v.Patient, b.ID)
	})
	if err != nil {
		return booking.Booking{}, err
	}
	if !found {
		return booking.Booking{}, booking.ErrNotFound
	}
	return b, nil
}

// Cancel cancels the booking ref that matches v and returns its place.
func (s *Store) Cancel(ctx context.Context, v booking.Verification, ref booking.Reference) (_ booking.Booking, err error) {
	defer wrap(&err, "cancel")
	ctx, cancel := bound(ctx)
	defer cancel()
	var (
		b       booking.Booking
		matched bool
	)
	err = s.inTx(ctx, func(tx pgx.Tx) (err error) {
		b, matched, err = cancelTx(ctx, tx, v, ref)
		return err
	})
	if err != nil {
		return booking.Booking{}, err
	}
	if !matched {
		return booking.Booking{}, booking.ErrNotFound
	}
	return b, nil
}

// cancelTx reports matched false, with a nil error so that the failed
// verification it recorded is committed, when v does not match booking ref.
func cancelTx(ctx context.Context, tx pgx.Tx, v booking.Verification, ref booking.Reference) (b booking.Booking, matched bool, err error) {
	var (
		id                   booking.BookingID
		patientKey, birthKey *string
	)
	err = tx.QueryRow(ctx, `SELECT id, patient_key, birth_key FROM bookings WHERE reference = $1 FOR UPDATE`, ref).
		Scan(&id, &patientKey, &birthKey)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return booking.Booking{}, false, err
	default:
		if b, err = bookingByID(ctx, tx, id); err != nil {
			return booking.Booking{}, false, err
		}
		matched = patientKey != nil && birthKey != nil &&
			booking.PatientKey(*patientKey) == v.Patient && matches(v, *birthKey, b.Slot)
	}
	if !matched {
		return booking.Booking{}, false, audit(ctx, tx, v.At, booking.AuditVerifyFailed, v.Booker, v.Patient, 0)
	}
	switch {
	case b.Status == booking.StatusCancelled:
		return b, true, nil
	case b.Status != booking.StatusActive || !b.Slot.Start.After(v.At):
		return booking.Booking{}, true, booking.ErrAppointmentStarted
	}
	at := ts(v.At)
	if _, err := tx.Exec(ctx, `UPDATE bookings SET status = 'cancelled', cancelled_at = $2 WHERE id = $1`, id, at); err != nil {
		return booking.Booking{}, true, err
	}
	if _, err := tx.Exec(ctx, `UPDATE slots SET taken = taken - 1 WHERE id = $1`, b.Slot.ID); err != nil {
		return booking.Booking{}, true, err
	}
	if err := audit(ctx, tx, at, booking.AuditCancel, v.Booker, v.Patient, id); err != nil {
		return booking.Booking{}, true, err
	}
	b, err = bookingByID(ctx, tx, id)
	return b, true, err
}

// FailedVerifications returns the times of failed verifications since
// since, newest first, by the booker and for the patient.
func (s *Store) FailedVerifications(ctx context.Context, booker booking.Booker, patient booking.PatientKey, since time.Time) (byBooker, byPatient []time.Time, err error) {
	defer wrap(&err, "failed verifications")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.FailedVerifications(ctx, s.pooled, booker, patient, since)
}

// Bookings lists bookings for clinic staff, ordered by slot start.
func (s *Store) Bookings(ctx context.Context, q booking.BookingQuery) (_ []booking.Booking, err error) {
	defer wrap(&err, "bookings")
	return sqlstore.Bookings(ctx, s.pooled, q)
}

// Complete marks the active bookings whose slot ended at or before at
// completed and returns how many.
func (s *Store) Complete(ctx context.Context, at time.Time) (_ int, err error) {
	defer wrap(&err, "complete")
	tag, err := s.pool.Exec(ctx, `UPDATE bookings b SET status = 'completed'
		FROM slots s
		WHERE s.id = b.slot_id AND b.status = 'active' AND s.end_at <= $1`, ts(at))
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// Purge removes the personal data of bookings whose slot ended before
// before, and the patient key from their audit records; an active one
// among them becomes completed. It returns how many bookings it purged.
func (s *Store) Purge(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "purge")
	var n int
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `WITH purged AS (
				UPDATE bookings b SET patient_key = NULL, birth_key = NULL, patient_masked = NULL, mobile_sealed = NULL,
					status = CASE b.status WHEN 'active' THEN 'completed' ELSE b.status END
				FROM slots s
				WHERE s.id = b.slot_id AND s.end_at < $1
					AND (b.patient_key IS NOT NULL OR b.birth_key IS NOT NULL
						OR b.patient_masked IS NOT NULL OR b.mobile_sealed IS NOT NULL)
				RETURNING b.id
			), unlinked AS (
				UPDATE audit SET patient_key = NULL WHERE booking_id IN (SELECT id FROM purged)
			)
			SELECT count(*) FROM purged`, ts(before)).Scan(&n)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Audit returns the audit records at or after since, oldest first.
func (s *Store) Audit(ctx context.Context, since time.Time) (_ []booking.AuditRecord, err error) {
	defer wrap(&err, "audit")
	return sqlstore.Audit(ctx, s.pooled, since)
}

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
	if err := sqlstore.CheckClinics(clinics); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, c := range clinics {
			batch.Queue(sqlstore.UpsertClinic, sqlstore.ClinicArgs(c)...)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
}

// Clinics returns every clinic ordered by region (seed order) then ID.
func (s *Store) Clinics(ctx context.Context) (_ []booking.Clinic, err error) {
	defer wrap(&err, "clinics")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.Clinics(ctx, s.pooled)
}

// SaveSlots inserts slots, or updates the end and capacity of those that
// exist, all or none; it returns how many were new.
func (s *Store) SaveSlots(ctx context.Context, slots []booking.Slot) (_ int, err error) {
	defer wrap(&err, "save slots")
	if err := sqlstore.CheckSlots(slots); err != nil {
		return 0, err
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
// the slots that start in [from, to), the holds live at at counting as
// taken.
func (s *Store) QuotaCounts(ctx context.Context, from, to, at time.Time) (_ []booking.QuotaCount, err error) {
	defer wrap(&err, "quota counts")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.QuotaCounts(ctx, s.pooled, from, to, at)
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
			prior, lerr := sqlstore.BookingByKey(ctx, s.pooled, nb.IdempotencyKey)
			if lerr == nil {
				return prior, nil
			}
			if !errors.Is(lerr, booking.ErrNotFound) {
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
	db := on(tx)
	if b, replayed, err := sqlstore.StartBook(ctx, db, nb); replayed || err != nil {
		return b, err
	}
	// The unique indexes refuse a patient's second active booking, a used
	// reference or idempotency key, and the foreign key an unknown slot;
	// translate says which.
	b := sqlstore.Booked(nb)
	if err := tx.QueryRow(ctx, insertBooking, append(sqlstore.BookingArgs(db, nb), booking.AuditBook)...).Scan(&b.ID); err != nil {
		return booking.Booking{}, err
	}
	// The claim: one conditional update. No place left (the slot exists:
	// the booking's foreign key holds it) rolls the booking and its audit
	// record back.
	slot, err := sqlstore.Claim(ctx, db, nb.SlotID, nb.Booker, nb.CreatedAt)
	if err != nil {
		return booking.Booking{}, err
	}
	b.Slot = slot
	return b, nil
}

// insertBooking is sqlstore.InsertBooking that writes the booking's audit
// record in the same statement, from the same arguments and $13, the
// action.
const insertBooking = `WITH b AS (` + sqlstore.InsertBooking + `
	), a AS (
		INSERT INTO audit (at, action, channel, booker_id, patient_key, booking_id)
		SELECT $11, $13, $8, $9, $3, id FROM b
	)
	SELECT id FROM b`

// ActiveBooking returns the patient's active booking whose slot has not
// ended at at and whose birth key matches, or booking.ErrNotFound.
func (s *Store) ActiveBooking(ctx context.Context, patient booking.PatientKey, birthKey string, at time.Time) (_ booking.Booking, err error) {
	defer wrap(&err, "active booking")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.ActiveBooking(ctx, s.pooled, patient, birthKey, at)
}

// Verify finds the active, not yet ended booking that matches every part of
// v and records v.Action; otherwise it records a failed verification and
// returns booking.ErrNotFound.
func (s *Store) Verify(ctx context.Context, v booking.Verification) (_ booking.Booking, err error) {
	defer wrap(&err, "verify")
	ctx, cancel := bound(ctx)
	defer cancel()
	var (
		b     booking.Booking
		found bool
	)
	err = s.inTx(ctx, func(tx pgx.Tx) (err error) {
		b, found, err = sqlstore.Verify(ctx, on(tx), v)
		return err
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
		b, matched, err = sqlstore.Cancel(ctx, on(tx), v, ref)
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
	return sqlstore.Complete(ctx, s.pooled, at)
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

// Hold keeps one place of h.SlotID for h.Booker until h.Until, in place of
// the booker's earlier hold, if a place is free at at.
func (s *Store) Hold(ctx context.Context, h booking.Hold, at time.Time) (_ booking.Slot, err error) {
	defer wrap(&err, "hold slot %d", h.SlotID)
	ctx, cancel := bound(ctx)
	defer cancel()
	var (
		sl   booking.Slot
		held bool
	)
	err = s.inTx(ctx, func(tx pgx.Tx) (err error) {
		sl, held, err = sqlstore.Hold(ctx, on(tx), h, at)
		return err
	})
	if err != nil {
		return booking.Slot{}, err
	}
	if !held {
		return booking.Slot{}, booking.ErrSlotTaken
	}
	return sl, nil
}

// Release drops the booker's hold, if any.
func (s *Store) Release(ctx context.Context, b booking.Booker) (err error) {
	defer wrap(&err, "release hold")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.Release(ctx, s.pooled, b)
}

// DropHolds removes the holds that lapsed by at and returns how many.
func (s *Store) DropHolds(ctx context.Context, at time.Time) (_ int, err error) {
	defer wrap(&err, "drop holds")
	return sqlstore.DropHolds(ctx, s.pooled, at)
}

// Move moves the booking ref that matches v to slot to, in one transaction.
func (s *Store) Move(ctx context.Context, v booking.Verification, ref booking.Reference, to booking.SlotID) (_ booking.Booking, err error) {
	defer wrap(&err, "move to slot %d", to)
	ctx, cancel := bound(ctx)
	defer cancel()
	var (
		b       booking.Booking
		matched bool
	)
	err = s.inTx(ctx, func(tx pgx.Tx) (err error) {
		b, matched, err = sqlstore.Move(ctx, on(tx), v, ref, to)
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

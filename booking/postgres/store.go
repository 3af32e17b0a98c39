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
// exist, all or none, and counts what it did. A slot already as given is
// not written: the conflict's WHERE leaves it, and it returns no row.
func (s *Store) SaveSlots(ctx context.Context, slots []booking.Slot) (_ booking.SlotsSaved, err error) {
	defer wrap(&err, "save slots")
	if err := sqlstore.CheckSlots(slots); err != nil {
		return booking.SlotsSaved{}, err
	}
	var saved booking.SlotsSaved
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		saved = booking.SlotsSaved{}
		batch := &pgx.Batch{}
		for _, sl := range slots {
			batch.Queue(`INSERT INTO slots (service, clinic_id, start_at, end_at, capacity)
				VALUES ($1, NULLIF($2, ''), $3, $4, $5)
				ON CONFLICT (service, (coalesce(clinic_id, '')), start_at)
				DO UPDATE SET end_at = EXCLUDED.end_at, capacity = EXCLUDED.capacity
				WHERE (slots.end_at, slots.capacity) IS DISTINCT FROM (EXCLUDED.end_at, EXCLUDED.capacity)
				RETURNING xmax = 0`,
				sl.Service, sl.ClinicID, ts(sl.Start), ts(sl.End), sl.Capacity).QueryRow(func(row pgx.Row) error {
				var inserted bool
				switch err := row.Scan(&inserted); {
				case errors.Is(err, pgx.ErrNoRows):
					saved.Unchanged++
				case err != nil:
					return err
				case inserted:
					saved.Added++
				default:
					saved.Updated++
				}
				return nil
			})
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		return sqlstore.KeepClosed(ctx, on(tx))
	})
	if err != nil {
		return booking.SlotsSaved{}, err
	}
	return saved, nil
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
		var pgErr interface{ SQLState() string }
		if errors.Is(err, booking.ErrAlreadyBooked) || errors.As(err, &pgErr) && pgErr.SQLState() == codeUniqueViolation {
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
	return b, sqlstore.Remind(ctx, db, b.ID, nb.RemindAt, slot.Start, nb.CreatedAt)
}

// insertBooking is sqlstore.InsertBooking that writes the booking's audit
// record in the same statement, from the same arguments and $14, the
// action.
const insertBooking = `WITH b AS (` + sqlstore.InsertBooking + `
	), a AS (
		INSERT INTO audit (at, action, channel, booker_id, patient_key, booking_id)
		SELECT $11, $14, $8, $9, $3, id FROM b
	)
	SELECT id FROM b`

// lockClass is the first key of the advisory locks that make a
// verification or a screening one atomic step: the booker and the patient
// are held from the count of their failures to the commit of what is
// recorded, so that concurrent wrong guesses on any number of replicas are
// counted one after the other.
const lockClass = 0x636c6276 // "clbv"

// lock takes the transaction's advisory locks on keys, in one round trip
// and in order (two transactions lock a booker before a patient, never the
// other way round; should the server ever take them otherwise, it detects
// the deadlock and inTx runs the transaction again).
func lock(ctx context.Context, tx pgx.Tx, keys []string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int4, hashtext(k))
		FROM unnest($2::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n`, lockClass, keys)
	return err
}

// Screen is the booking flow's look-up of a patient: two statements on
// the pool for a patient who holds no booking (most), then, for one who
// does, a transaction under the booker's and the patient's advisory locks.
func (s *Store) Screen(ctx context.Context, sc booking.Screening) (err error) {
	defer wrap(&err, "screen")
	ctx, cancel := bound(ctx)
	defer cancel()
	booked, err := sqlstore.Look(ctx, s.pooled, sc)
	if err != nil || !booked {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) (err error) {
		if err := lock(ctx, tx, sqlstore.LockKeys(sc.Booker, sc.Patient)); err != nil {
			return err
		}
		booked, err = sqlstore.CheckBooked(ctx, on(tx), sc)
		return err
	})
	if err != nil {
		return err
	}
	if booked {
		return booking.ErrAlreadyBooked
	}
	return nil
}

// BookerUsage returns the booker's active bookings and their look-ups
// since since.
func (s *Store) BookerUsage(ctx context.Context, b booking.Booker, since, at time.Time) (_ int, _ map[booking.PatientKey]time.Time, err error) {
	defer wrap(&err, "booker usage")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.BookerUsage(ctx, s.pooled, b, since, at)
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
		if err := lock(ctx, tx, sqlstore.LockKeys(v.Booker, v.Patient)); err != nil {
			return err
		}
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
		if err := lock(ctx, tx, sqlstore.LockKeys(v.Booker, v.Patient)); err != nil {
			return err
		}
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
// before, booker included, and the patient key and booker from their audit
// records; an active one among them becomes completed. Audit records made
// before before that name no booking go. It returns how many bookings it
// purged.
func (s *Store) Purge(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrap(&err, "purge")
	var n int
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := sqlstore.PurgeUnlinked(ctx, on(tx), before); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `WITH purged AS (
				UPDATE bookings b SET patient_key = NULL, birth_key = NULL, patient_masked = NULL, mobile_sealed = NULL,
					booker_id = '',
					status = CASE b.status WHEN 'active' THEN 'completed' ELSE b.status END
				FROM slots s
				WHERE s.id = b.slot_id AND s.end_at < $1
					AND (b.patient_key IS NOT NULL OR b.birth_key IS NOT NULL
						OR b.patient_masked IS NOT NULL OR b.mobile_sealed IS NOT NULL OR b.booker_id <> '')
				RETURNING b.id
			), unlinked AS (
				UPDATE audit SET patient_key = NULL, booker_id = '' WHERE booking_id IN (SELECT id FROM purged)
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

// KeyState returns the recorded data key fingerprint and whether any
// booking is stored.
func (s *Store) KeyState(ctx context.Context) (_ booking.KeyState, err error) {
	defer wrap(&err, "key state")
	return sqlstore.KeyState(ctx, s.pooled)
}

// BindKey records the data key's fingerprint on first use, and fails with
// booking.ErrKeyMismatch when another is recorded. Replicas binding at once
// record one fingerprint.
func (s *Store) BindKey(ctx context.Context, fingerprint string, at time.Time) (err error) {
	defer wrap(&err, "bind key")
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return sqlstore.BindKey(ctx, on(tx), fingerprint, at)
	})
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

// BookerBookings returns the active bookings booker made whose slot has
// not ended at at, ordered by slot start.
func (s *Store) BookerBookings(ctx context.Context, b booking.Booker, at time.Time) (_ []booking.Booking, err error) {
	defer wrap(&err, "booker bookings")
	return sqlstore.BookerBookings(ctx, s.pooled, b, at)
}

// PatientLog returns what the audit trail says was done for the patient.
func (s *Store) PatientLog(ctx context.Context, patient booking.PatientKey, limit int) (_ booking.PatientLog, err error) {
	defer wrap(&err, "patient log")
	return sqlstore.PatientLog(ctx, s.pooled, patient, limit)
}

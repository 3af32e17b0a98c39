package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

// SaveClinics inserts or updates clinics by ID, all or none.
func (s *Store) SaveClinics(ctx context.Context, clinics []booking.Clinic) error {
	if err := sqlstore.CheckClinics(clinics); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range clinics {
			if _, err := tx.ExecContext(ctx, sqlstore.UpsertClinic, sqlstore.ClinicArgs(c)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: save clinics: %w", translate(err))
	}
	return nil
}

// Clinics returns every clinic ordered by region (seed order) then ID.
func (s *Store) Clinics(ctx context.Context) ([]booking.Clinic, error) {
	clinics, err := sqlstore.Clinics(ctx, s.reader)
	if err != nil {
		return nil, fmt.Errorf("sqlite: clinics: %w", err)
	}
	return clinics, nil
}

// SaveSlots inserts slots, or updates the end and capacity of those that
// exist, all or none, and counts what it did.
func (s *Store) SaveSlots(ctx context.Context, slots []booking.Slot) (booking.SlotsSaved, error) {
	if err := sqlstore.CheckSlots(slots); err != nil {
		return booking.SlotsSaved{}, err
	}
	var saved booking.SlotsSaved
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		saved = booking.SlotsSaved{}
		for _, sl := range slots {
			var id, taken, end, capacity int64
			err := tx.QueryRowContext(ctx, `SELECT id, taken, end_at, capacity FROM slots
				WHERE service = ? AND coalesce(clinic_id, '') = ? AND start_at = ?`,
				sl.Service, sl.ClinicID, micro(sl.Start)).Scan(&id, &taken, &end, &capacity)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, `INSERT INTO slots (service, clinic_id, start_at, end_at, capacity)
					VALUES (?, ?, ?, ?, ?)`,
					sl.Service, nullText(string(sl.ClinicID)), micro(sl.Start), micro(sl.End), sl.Capacity); err != nil {
					if errors.Is(translate(err), booking.ErrNotFound) {
						return fmt.Errorf("clinic %s: %w", sl.ClinicID, booking.ErrNotFound)
					}
					return err
				}
				saved.Added++
			case err != nil:
				return err
			case int64(sl.Capacity) < taken:
				return &booking.ValidationError{Field: "capacity", Reason: booking.ReasonImpossible}
			case end == micro(sl.End) && capacity == int64(sl.Capacity):
				saved.Unchanged++
			default:
				if _, err := tx.ExecContext(ctx, `UPDATE slots SET end_at = ?, capacity = ? WHERE id = ?`,
					micro(sl.End), sl.Capacity, id); err != nil {
					return err
				}
				saved.Updated++
			}
		}
		return sqlstore.KeepClosed(ctx, on(tx))
	})
	if err != nil {
		return booking.SlotsSaved{}, fmt.Errorf("sqlite: save slots: %w", translate(err))
	}
	return saved, nil
}

// Slot returns one slot, or booking.ErrNotFound.
func (s *Store) Slot(ctx context.Context, id booking.SlotID) (booking.Slot, error) {
	sl, err := sqlstore.Slot(ctx, s.reader, id)
	if err != nil {
		return booking.Slot{}, fmt.Errorf("sqlite: slot %d: %w", id, err)
	}
	return sl, nil
}

// Slots returns the slots that match q, ordered by start then ID.
func (s *Store) Slots(ctx context.Context, q booking.SlotQuery) ([]booking.Slot, error) {
	slots, err := sqlstore.Slots(ctx, s.reader, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: slots: %w", err)
	}
	return slots, nil
}

// QuotaCounts sums capacity and places taken per service and clinic over
// the slots that start in [from, to), the holds live at at counting as
// taken.
func (s *Store) QuotaCounts(ctx context.Context, from, to, at time.Time) ([]booking.QuotaCount, error) {
	counts, err := sqlstore.QuotaCounts(ctx, s.reader, from, to, at)
	if err != nil {
		return nil, fmt.Errorf("sqlite: quota counts: %w", err)
	}
	return counts, nil
}

// Book claims one place of nb.SlotID and records the booking, atomically.
func (s *Store) Book(ctx context.Context, nb booking.NewBooking) (booking.Booking, error) {
	var b booking.Booking
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		b, err = book(ctx, tx, nb)
		return err
	})
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: book slot %d: %w", nb.SlotID, translate(err))
	}
	return b, nil
}

// book runs in the single writer's immediate transaction: nothing changes
// between its checks and its writes.
func book(ctx context.Context, tx *sql.Tx, nb booking.NewBooking) (booking.Booking, error) {
	db := on(tx)
	if b, replayed, err := sqlstore.StartBook(ctx, db, nb); replayed || err != nil {
		return b, err
	}
	// The schema's unique indexes would refuse a second active booking or
	// a used reference too, but SQLite's error does not say which.
	var booked bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE patient_key = ? AND status = 'active')`,
		nb.Patient).Scan(&booked); err != nil {
		return booking.Booking{}, err
	}
	if booked {
		return booking.Booking{}, booking.ErrAlreadyBooked
	}
	var used bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE reference = ?)`,
		nb.Reference).Scan(&used); err != nil {
		return booking.Booking{}, err
	}
	if used {
		return booking.Booking{}, booking.ErrConflict
	}

	slot, err := sqlstore.Claim(ctx, db, nb.SlotID, nb.Booker, nb.CreatedAt)
	if err != nil {
		return booking.Booking{}, err
	}
	b := sqlstore.Booked(nb)
	b.Slot = slot
	if err := tx.QueryRowContext(ctx, sqlstore.InsertBooking, sqlstore.BookingArgs(db, nb)...).Scan(&b.ID); err != nil {
		return booking.Booking{}, err
	}
	if err := sqlstore.RecordAudit(ctx, db, nb.CreatedAt, booking.AuditBook, nb.Booker, nb.Patient, b.ID); err != nil {
		return booking.Booking{}, err
	}
	return b, sqlstore.Remind(ctx, db, b.ID, nb.RemindAt, slot.Start, nb.CreatedAt)
}

// Screen is the booking flow's look-up of a patient, in the single
// writer's transaction: nothing else counts or records meanwhile. A
// cool-down keeps the look-up recorded, as in PostgreSQL, where the
// look-up commits before the cool-down is read.
func (s *Store) Screen(ctx context.Context, sc booking.Screening) error {
	var (
		booked  bool
		cooling error
	)
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		if booked, err = sqlstore.Look(ctx, on(tx), sc); err != nil || !booked {
			return err
		}
		booked, err = sqlstore.CheckBooked(ctx, on(tx), sc)
		if errors.Is(err, booking.ErrTooManyAttempts) {
			cooling, err = err, nil
		}
		return err
	})
	if err == nil {
		err = cooling
	}
	if err != nil {
		return fmt.Errorf("sqlite: screen: %w", translate(err))
	}
	if booked {
		return fmt.Errorf("sqlite: screen: %w", booking.ErrAlreadyBooked)
	}
	return nil
}

// BookerUsage returns the booker's active bookings and their look-ups
// since since.
func (s *Store) BookerUsage(ctx context.Context, b booking.Booker, since, at time.Time) (int, map[booking.PatientKey]time.Time, error) {
	active, lookups, err := sqlstore.BookerUsage(ctx, s.reader, b, since, at)
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: booker usage: %w", err)
	}
	return active, lookups, nil
}

// Verify finds the active, not yet ended booking that matches every part of
// v and records v.Action; otherwise it records a failed verification and
// returns booking.ErrNotFound.
func (s *Store) Verify(ctx context.Context, v booking.Verification) (booking.Booking, error) {
	var (
		b     booking.Booking
		found bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		b, found, err = sqlstore.Verify(ctx, on(tx), v)
		return err
	})
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: verify: %w", translate(err))
	}
	if !found {
		return booking.Booking{}, fmt.Errorf("sqlite: verify: %w", booking.ErrNotFound)
	}
	return b, nil
}

// Cancel cancels the booking ref that matches v and returns its place.
func (s *Store) Cancel(ctx context.Context, v booking.Verification, ref booking.Reference) (booking.Booking, error) {
	var (
		b       booking.Booking
		matched bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		b, matched, err = sqlstore.Cancel(ctx, on(tx), v, ref)
		return err
	})
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: cancel: %w", translate(err))
	}
	if !matched {
		return booking.Booking{}, fmt.Errorf("sqlite: cancel: %w", booking.ErrNotFound)
	}
	return b, nil
}

// FailedVerifications returns the times of failed verifications since
// since, newest first, by the booker and for the patient.
func (s *Store) FailedVerifications(ctx context.Context, booker booking.Booker, patient booking.PatientKey, since time.Time) (byBooker, byPatient []time.Time, err error) {
	byBooker, byPatient, err = sqlstore.FailedVerifications(ctx, s.reader, booker, patient, since)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: failed verifications: %w", err)
	}
	return byBooker, byPatient, nil
}

// Bookings lists bookings for clinic staff, ordered by slot start.
func (s *Store) Bookings(ctx context.Context, q booking.BookingQuery) ([]booking.Booking, error) {
	bookings, err := sqlstore.Bookings(ctx, s.reader, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: bookings: %w", err)
	}
	return bookings, nil
}

// Complete marks the active bookings whose slot ended at or before at
// completed and returns how many.
func (s *Store) Complete(ctx context.Context, at time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		n, err = sqlstore.Complete(ctx, on(tx), at)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: complete: %w", translate(err))
	}
	return n, nil
}

// Purge removes the personal data of bookings whose slot ended before
// before, booker included, and the patient key and booker from their audit
// records; an active one among them becomes completed. Audit records made
// before before that name no booking go. It returns how many bookings it
// purged.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		const old = `slot_id IN (SELECT id FROM slots WHERE end_at < ?)
			AND (patient_key IS NOT NULL OR birth_key IS NOT NULL
				OR patient_masked IS NOT NULL OR mobile_sealed IS NOT NULL OR booker_id <> '')`
		if _, err := tx.ExecContext(ctx, `UPDATE audit SET patient_key = NULL, booker_id = ''
			WHERE booking_id IN (SELECT id FROM bookings WHERE `+old+`)`, micro(before)); err != nil {
			return err
		}
		if err := sqlstore.PurgeUnlinked(ctx, on(tx), before); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE bookings SET patient_key = NULL, birth_key = NULL,
				patient_masked = NULL, mobile_sealed = NULL, booker_id = '',
				status = CASE status WHEN 'active' THEN 'completed' ELSE status END
			WHERE `+old, micro(before))
		if err != nil {
			return err
		}
		affected, err := res.RowsAffected()
		n = int(affected)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge: %w", translate(err))
	}
	return n, nil
}

// Audit returns the audit records at or after since, oldest first.
func (s *Store) Audit(ctx context.Context, since time.Time) ([]booking.AuditRecord, error) {
	records, err := sqlstore.Audit(ctx, s.reader, since)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	return records, nil
}

// KeyState returns the recorded data key fingerprint and whether any
// booking is stored.
func (s *Store) KeyState(ctx context.Context) (booking.KeyState, error) {
	ks, err := sqlstore.KeyState(ctx, s.reader)
	if err != nil {
		return booking.KeyState{}, fmt.Errorf("sqlite: key state: %w", err)
	}
	return ks, nil
}

// BindKey records the data key's fingerprint on first use, and fails with
// booking.ErrKeyMismatch when another is recorded.
func (s *Store) BindKey(ctx context.Context, fingerprint string, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return sqlstore.BindKey(ctx, on(tx), fingerprint, at)
	})
	if err != nil {
		return fmt.Errorf("sqlite: bind key: %w", translate(err))
	}
	return nil
}

// Hold keeps one place of h.SlotID for h.Booker until h.Until, in place of
// the booker's earlier hold, if a place is free at at.
func (s *Store) Hold(ctx context.Context, h booking.Hold, at time.Time) (booking.Slot, error) {
	var (
		sl   booking.Slot
		held bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		sl, held, err = sqlstore.Hold(ctx, on(tx), h, at)
		return err
	})
	if err != nil {
		return booking.Slot{}, fmt.Errorf("sqlite: hold slot %d: %w", h.SlotID, translate(err))
	}
	if !held {
		return booking.Slot{}, fmt.Errorf("sqlite: hold slot %d: %w", h.SlotID, booking.ErrSlotTaken)
	}
	return sl, nil
}

// Release drops the booker's hold, if any.
func (s *Store) Release(ctx context.Context, b booking.Booker) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error { return sqlstore.Release(ctx, on(tx), b) })
	if err != nil {
		return fmt.Errorf("sqlite: release hold: %w", translate(err))
	}
	return nil
}

// DropHolds removes the holds that lapsed by at and returns how many.
func (s *Store) DropHolds(ctx context.Context, at time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		n, err = sqlstore.DropHolds(ctx, on(tx), at)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: drop holds: %w", translate(err))
	}
	return n, nil
}

// Move moves the booking ref that matches v to slot to, in one transaction.
func (s *Store) Move(ctx context.Context, v booking.Verification, ref booking.Reference, to booking.SlotID) (booking.Booking, error) {
	var (
		b       booking.Booking
		matched bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		b, matched, err = sqlstore.Move(ctx, on(tx), v, ref, to)
		return err
	})
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: move to slot %d: %w", to, translate(err))
	}
	if !matched {
		return booking.Booking{}, fmt.Errorf("sqlite: move: %w", booking.ErrNotFound)
	}
	return b, nil
}

// BookerBookings returns the active bookings booker made whose slot has
// not ended at at, ordered by slot start.
func (s *Store) BookerBookings(ctx context.Context, b booking.Booker, at time.Time) ([]booking.Booking, error) {
	bookings, err := sqlstore.BookerBookings(ctx, s.reader, b, at)
	if err != nil {
		return nil, fmt.Errorf("sqlite: booker bookings: %w", err)
	}
	return bookings, nil
}

// PatientLog returns what the audit trail says was done for the patient.
func (s *Store) PatientLog(ctx context.Context, patient booking.PatientKey, limit int) (booking.PatientLog, error) {
	log, err := sqlstore.PatientLog(ctx, s.reader, patient, limit)
	if err != nil {
		return booking.PatientLog{}, fmt.Errorf("sqlite: patient log: %w", err)
	}
	return log, nil
}

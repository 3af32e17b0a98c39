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
// exist, all or none; it returns how many were new.
func (s *Store) SaveSlots(ctx context.Context, slots []booking.Slot) (int, error) {
	if err := sqlstore.CheckSlots(slots); err != nil {
		return 0, err
	}
	var added int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, sl := range slots {
			var id, taken int64
			err := tx.QueryRowContext(ctx, `SELECT id, taken FROM slots
				WHERE service = ? AND coalesce(clinic_id, '') = ? AND start_at = ?`,
				sl.Service, sl.ClinicID, micro(sl.Start)).Scan(&id, &taken)
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
				added++
			case err != nil:
				return err
			case int64(sl.Capacity) < taken:
				return &booking.ValidationError{Field: "capacity", Reason: booking.ReasonImpossible}
			default:
				if _, err := tx.ExecContext(ctx, `UPDATE slots SET end_at = ?, capacity = ? WHERE id = ?`,
					micro(sl.End), sl.Capacity, id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: save slots: %w", translate(err))
	}
	return added, nil
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
		return booking.Booking{}, &booking.AlreadyBookedError{}
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
	return b, nil
}

// ActiveBooking returns the patient's active booking whose slot has not
// ended at at and whose birth key matches, or booking.ErrNotFound.
func (s *Store) ActiveBooking(ctx context.Context, patient booking.PatientKey, birthKey string, at time.Time) (booking.Booking, error) {
	b, err := sqlstore.ActiveBooking(ctx, s.reader, patient, birthKey, at)
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: active booking: %w", err)
	}
	return b, nil
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
// before, and the patient key from their audit records; an active one
// among them becomes completed. It returns how many bookings it purged.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		const old = `slot_id IN (SELECT id FROM slots WHERE end_at < ?)
			AND (patient_key IS NOT NULL OR birth_key IS NOT NULL
				OR patient_masked IS NOT NULL OR mobile_sealed IS NOT NULL)`
		if _, err := tx.ExecContext(ctx, `UPDATE audit SET patient_key = NULL
			WHERE booking_id IN (SELECT id FROM bookings WHERE `+old+`)`, micro(before)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE bookings SET patient_key = NULL, birth_key = NULL,
				patient_masked = NULL, mobile_sealed = NULL,
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

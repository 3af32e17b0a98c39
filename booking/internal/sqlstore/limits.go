package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// LockKeys are the names of what a verification or screening must hold
// alone while it counts and records, for a store that locks them (the
// PostgreSQL store takes an advisory lock on each, in this order): the
// booker, and the patient when there is one. SQLite's single writer needs
// none.
func LockKeys(booker booking.Booker, patient booking.PatientKey) []string {
	keys := []string{"booker:" + string(booker.Channel) + ":" + booker.ID}
	if patient != "" {
		keys = append(keys, "patient:"+string(patient))
	}
	return keys
}

// cooldown applies lim's cool-down to the booker and the patient, reading
// their failed verifications in the transaction db, which holds both.
func cooldown(ctx context.Context, db DB, lim booking.Limits, booker booking.Booker, patient booking.PatientKey, at time.Time) error {
	if lim.MaxFailures <= 0 {
		return nil
	}
	byBooker, byPatient, err := FailedVerifications(ctx, db, booker, patient, at.Add(-lim.FailureWindow))
	if err != nil {
		return err
	}
	return lim.Cooldown(at, byBooker, byPatient)
}

// BookerUsage returns how many active bookings not yet ended at at the
// booker holds, and the latest look-up since since of each patient they
// looked up.
func BookerUsage(ctx context.Context, db DB, booker booking.Booker, since, at time.Time) (active int, lookups map[booking.PatientKey]time.Time, err error) {
	if err := db.QueryRow(ctx, `SELECT count(*) FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.booker_channel = $1 AND b.booker_id = $2 AND b.status = 'active' AND s.end_at > $3`,
		booker.Channel, booker.ID, db.Time(at)).Scan(&active); err != nil {
		return 0, nil, fmt.Errorf("active bookings: %w", err)
	}
	rows, err := db.Query(ctx, `SELECT patient_key, max(at) FROM audit
		WHERE action = 'lookup' AND channel = $1 AND booker_id = $2 AND at >= $3 AND patient_key IS NOT NULL
		GROUP BY patient_key`, booker.Channel, booker.ID, db.Time(since))
	type lookup struct {
		patient booking.PatientKey
		at      time.Time
	}
	list, err := collect(rows, err, func(row Row) (lookup, error) {
		var l lookup
		err := row.Scan(&l.patient, db.ScanTime(&l.at))
		return l, err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("look-ups: %w", err)
	}
	lookups = make(map[booking.PatientKey]time.Time, len(list))
	for _, l := range list {
		lookups[l.patient] = l.at
	}
	return active, lookups, nil
}

// Screen is Store.Screen in the transaction db, which holds the booker and
// the patient (LockKeys). It reports booked true when the patient holds an
// active booking, with a nil error, so that what it recorded is committed
// before the store returns booking.ErrAlreadyBooked; a refusal
// (*booking.LimitError, *booking.CooldownError) is an error, and the
// transaction that returns it records nothing.
func Screen(ctx context.Context, db DB, s booking.Screening) (booked bool, err error) {
	lim := s.Limits
	if lim.MaxActive > 0 || lim.MaxPatients > 0 {
		active, lookups, err := BookerUsage(ctx, db, s.Booker, s.At.Add(-lim.PatientWindow), s.At)
		if err != nil {
			return false, err
		}
		if err := lim.BookerLimit(s.At, active, lookups, s.Patient); err != nil {
			return false, err
		}
	}
	if err := RecordAudit(ctx, db, s.At, booking.AuditLookup, s.Booker, s.Patient, 0); err != nil {
		return false, err
	}
	var birthKey *string
	err = db.QueryRow(ctx, `SELECT b.birth_key FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.patient_key = $1 AND b.status = 'active' AND s.end_at > $2`, s.Patient, db.Time(s.At)).Scan(&birthKey)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	if err := cooldown(ctx, db, lim, s.Booker, s.Patient, s.At); err != nil {
		return false, err
	}
	if birthKey == nil || *birthKey != s.BirthKey {
		if err := RecordAudit(ctx, db, s.At, booking.AuditVerifyFailed, s.Booker, s.Patient, 0); err != nil {
			return false, err
		}
	}
	return true, nil
}

// PurgeUnlinked deletes the audit records made before before that name no
// booking: failed verifications and look-ups, kept only to count them.
func PurgeUnlinked(ctx context.Context, db DB, before time.Time) error {
	_, err := db.Exec(ctx, `DELETE FROM audit WHERE booking_id IS NULL AND at < $1`, db.Time(before))
	return err
}

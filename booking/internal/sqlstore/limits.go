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
//
// It is one statement, a round trip: it runs on every "book" a booker
// chooses and in every screening. The first row counts the active
// bookings and names no patient; each further row is a patient.
func BookerUsage(ctx context.Context, db DB, booker booking.Booker, since, at time.Time) (active int, lookups map[booking.PatientKey]time.Time, err error) {
	rows, err := db.Query(ctx, `SELECT NULL, NULL, count(*) FROM bookings b JOIN slots s ON s.id = b.slot_id
			WHERE b.booker_channel = $1 AND b.booker_id = $2 AND b.status = 'active' AND s.end_at > $3
		UNION ALL
		SELECT patient_key, max(at), 0 FROM audit
			WHERE action = 'lookup' AND channel = $1 AND booker_id = $2 AND at >= $4 AND patient_key IS NOT NULL
			GROUP BY patient_key`, booker.Channel, booker.ID, db.Time(at), db.Time(since))
	type row struct {
		patient *string
		at      time.Time
		active  int
	}
	list, err := collect(rows, err, func(r Row) (row, error) {
		var l row
		err := r.Scan(&l.patient, db.ScanTime(&l.at), &l.active)
		return l, err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("booker usage: %w", err)
	}
	lookups = make(map[booking.PatientKey]time.Time, len(list))
	for _, l := range list {
		if l.patient == nil {
			active += l.active
			continue
		}
		lookups[booking.PatientKey(*l.patient)] = l.at
	}
	return active, lookups, nil
}

// Look is the first part of Store.Screen, outside any transaction: the
// booker's limits, then one statement that records the look-up and reads
// whether the patient holds an active booking not yet ended at s.At. Most
// patients hold none, and for them this is all: two round trips, no lock.
// A booker's own updates are one at a time (the router holds the booker's
// lock, across replicas), so the limit and the record cannot interleave
// with another look-up by the same booker.
func Look(ctx context.Context, db DB, s booking.Screening) (booked bool, err error) {
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
	// SQLite's RETURNING takes a subquery, not a table name.
	err = db.QueryRow(ctx, `INSERT INTO audit (at, action, channel, booker_id, patient_key)
		SELECT $1, 'lookup', $2, $3, $4`+db.Relaxed+`
		RETURNING EXISTS (SELECT 1 FROM bookings b JOIN slots s ON s.id = b.slot_id
			WHERE b.patient_key = $4 AND b.status = 'active' AND s.end_at > $1)`,
		db.Time(s.At), s.Booker.Channel, s.Booker.ID, s.Patient).Scan(&booked)
	return booked, err
}

// CheckBooked is the second part of Store.Screen, for a patient Look found
// booked, in the transaction db, which holds the booker and the patient
// (LockKeys): the cool-down refuses with a *booking.CooldownError;
// otherwise a birth key that does not match the booking's is recorded as a
// failed verification. It reports booked false, with a nil error, when the
// booking has ended or gone meanwhile.
func CheckBooked(ctx context.Context, db DB, s booking.Screening) (booked bool, err error) {
	var birthKey *string
	err = db.QueryRow(ctx, `SELECT b.birth_key FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.patient_key = $1 AND b.status = 'active' AND s.end_at > $2`, s.Patient, db.Time(s.At)).Scan(&birthKey)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	if err := cooldown(ctx, db, s.Limits, s.Booker, s.Patient, s.At); err != nil {
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

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// The steps of the booking.StaffStore methods. Each runs in the caller's
// transaction (or on its pool, for reads) and returns driver errors as they
// came.

// AddStaff inserts an account and records it in the staff audit.
func AddStaff(ctx context.Context, db DB, a booking.StaffAccount) error {
	if a.Name == "" {
		return &booking.ValidationError{Field: "name", Reason: booking.ReasonEmpty}
	}
	if a.PasswordHash == "" {
		return &booking.ValidationError{Field: "password", Reason: booking.ReasonEmpty}
	}
	if _, err := db.Exec(ctx, `INSERT INTO staff (name, clinic_id, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
		a.Name, nullText(string(a.ClinicID)), a.PasswordHash, db.Time(a.CreatedAt)); err != nil {
		return err
	}
	return RecordStaffAudit(ctx, db, booking.StaffAuditRecord{
		At: a.CreatedAt, Staff: a.Name, Action: booking.StaffAuditAddAccount, ClinicID: a.ClinicID})
}

const staffColumns = `s.name, coalesce(s.clinic_id, ''), s.password_hash, s.created_at, s.failures, s.last_failure_at`

func scanStaff(db DB, row Row) (booking.StaffAccount, error) {
	var a booking.StaffAccount
	err := row.Scan(&a.Name, &a.ClinicID, &a.PasswordHash, db.ScanTime(&a.CreatedAt), &a.Failures, db.ScanTime(&a.LastFailureAt))
	return a, err
}

// StaffAccount returns one account, or booking.ErrNotFound.
func StaffAccount(ctx context.Context, db DB, name string) (booking.StaffAccount, error) {
	a, err := scanStaff(db, db.QueryRow(ctx, `SELECT `+staffColumns+` FROM staff s WHERE s.name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return booking.StaffAccount{}, booking.ErrNotFound
	}
	return a, err
}

// StaffAccounts returns every account ordered by name.
func StaffAccounts(ctx context.Context, db DB) ([]booking.StaffAccount, error) {
	rows, err := db.Query(ctx, `SELECT `+staffColumns+` FROM staff s ORDER BY s.name`)
	return collect(rows, err, func(row Row) (booking.StaffAccount, error) { return scanStaff(db, row) })
}

// RemoveStaff removes an account and its sessions, or returns
// booking.ErrNotFound, and records the removal.
func RemoveStaff(ctx context.Context, db DB, name string, at time.Time) error {
	if _, err := db.Exec(ctx, `DELETE FROM staff_sessions WHERE staff_name = $1`, name); err != nil {
		return err
	}
	n, err := db.Exec(ctx, `DELETE FROM staff WHERE name = $1`, name)
	if err != nil {
		return err
	}
	if n == 0 {
		return booking.ErrNotFound
	}
	return RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: at, Staff: name, Action: booking.StaffAuditRemoveAccount})
}

// StaffLoginFailed counts a failed login of an existing account, records
// it and returns the account; an unknown name is booking.ErrNotFound.
func StaffLoginFailed(ctx context.Context, db DB, name string, at time.Time) (booking.StaffAccount, error) {
	n, err := db.Exec(ctx, `UPDATE staff SET failures = failures + 1, last_failure_at = $2 WHERE name = $1`, name, db.Time(at))
	if err != nil {
		return booking.StaffAccount{}, err
	}
	if n == 0 {
		return booking.StaffAccount{}, booking.ErrNotFound
	}
	a, err := StaffAccount(ctx, db, name)
	if err != nil {
		return booking.StaffAccount{}, err
	}
	return a, RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: at, Staff: name, Action: booking.StaffAuditLoginFailed,
		ClinicID: a.ClinicID, Detail: fmt.Sprintf("failures=%d", a.Failures)})
}

// StartStaffSession stores a session, clears the account's failed logins,
// removes the sessions that expired by its start and records the login.
func StartStaffSession(ctx context.Context, db DB, s booking.StaffSession) error {
	n, err := db.Exec(ctx, `UPDATE staff SET failures = 0, last_failure_at = NULL WHERE name = $1`, s.Staff)
	if err != nil {
		return err
	}
	if n == 0 {
		return booking.ErrNotFound
	}
	// Sessions nobody signed out of would otherwise stay for ever.
	if _, err := db.Exec(ctx, `DELETE FROM staff_sessions WHERE expires_at <= $1`, db.Time(s.CreatedAt)); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `INSERT INTO staff_sessions (token_hash, staff_name, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		s.TokenHash, s.Staff, db.Time(s.CreatedAt), db.Time(s.ExpiresAt)); err != nil {
		return err
	}
	return RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: s.CreatedAt, Staff: s.Staff, Action: booking.StaffAuditLogin})
}

// StaffSession returns the session tokenHash with its account if it has
// not expired at at, or booking.ErrNotFound.
func StaffSession(ctx context.Context, db DB, tokenHash string, at time.Time) (booking.StaffSession, booking.StaffAccount, error) {
	var ss booking.StaffSession
	var a booking.StaffAccount
	err := db.QueryRow(ctx, `SELECT x.token_hash, x.staff_name, x.created_at, x.expires_at, `+staffColumns+`
		FROM staff_sessions x JOIN staff s ON s.name = x.staff_name
		WHERE x.token_hash = $1 AND x.expires_at > $2`, tokenHash, db.Time(at)).Scan(
		&ss.TokenHash, &ss.Staff, db.ScanTime(&ss.CreatedAt), db.ScanTime(&ss.ExpiresAt),
		&a.Name, &a.ClinicID, &a.PasswordHash, db.ScanTime(&a.CreatedAt), &a.Failures, db.ScanTime(&a.LastFailureAt))
	if errors.Is(err, sql.ErrNoRows) {
		return booking.StaffSession{}, booking.StaffAccount{}, booking.ErrNotFound
	}
	return ss, a, err
}

// EndStaffSession removes a session, and the sessions that expired by at,
// and records the logout of the session's staff member.
func EndStaffSession(ctx context.Context, db DB, tokenHash string, at time.Time) error {
	var name string
	err := db.QueryRow(ctx, `SELECT staff_name FROM staff_sessions WHERE token_hash = $1`, tokenHash).Scan(&name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := db.Exec(ctx, `DELETE FROM staff_sessions WHERE token_hash = $1 OR expires_at <= $2`, tokenHash, db.Time(at)); err != nil {
		return err
	}
	if name == "" {
		return nil
	}
	return RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: at, Staff: name, Action: booking.StaffAuditLogout})
}

// CloseSlot closes a slot that has not started, cancelling its active
// bookings, and returns them.
func CloseSlot(ctx context.Context, db DB, c booking.SlotChange) ([]booking.Booking, error) {
	sl, err := scanSlot(db, db.QueryRow(ctx, `SELECT `+slotColumns+` FROM slots s WHERE s.id = $1`+db.ForUpdate, c.SlotID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, booking.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if c.Actor.ClinicID != "" && sl.ClinicID != c.Actor.ClinicID {
		return nil, booking.ErrNotPermitted
	}
	var closed bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM slot_closures WHERE slot_id = $1)`, sl.ID).Scan(&closed); err != nil {
		return nil, err
	}
	if closed {
		return nil, nil
	}
	if !sl.Start.After(c.At) {
		return nil, booking.ErrAppointmentStarted
	}
	rows, err := db.Query(ctx, `SELECT id FROM bookings WHERE slot_id = $1 AND status = 'active' ORDER BY id`, sl.ID)
	ids, err := collect(rows, err, func(row Row) (booking.BookingID, error) {
		var id booking.BookingID
		return id, row.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	var cancelled []booking.Booking
	for _, id := range ids {
		b, err := cancelForStaff(ctx, db, id, c.Actor.Name, c.At)
		if err != nil {
			return nil, err
		}
		if err := Changed(ctx, db, b, booking.NoticeClosed, booking.ByOperator, c.Reason, c.At); err != nil {
			return nil, err
		}
		if err := RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: c.At, Staff: c.Actor.Name,
			Action: booking.StaffAuditCancelBooking, ClinicID: sl.ClinicID, SlotID: sl.ID, BookingID: id,
			Detail: "slot closed: " + c.Reason}); err != nil {
			return nil, err
		}
		cancelled = append(cancelled, b)
	}
	if _, err := db.Exec(ctx, `INSERT INTO slot_closures (slot_id, capacity, reason, staff_name, closed_at)
		VALUES ($1, $2, $3, $4, $5)`, sl.ID, sl.Capacity, c.Reason, c.Actor.Name, db.Time(c.At)); err != nil {
		return nil, err
	}
	// Places held by bookings that are not active (none, on a slot that has
	// not started) stay counted: capacity falls to what is taken.
	if _, err := db.Exec(ctx, `UPDATE slots SET capacity = taken WHERE id = $1`, sl.ID); err != nil {
		return nil, err
	}
	return cancelled, RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: c.At, Staff: c.Actor.Name,
		Action: booking.StaffAuditCloseSlot, ClinicID: sl.ClinicID, SlotID: sl.ID, Detail: c.Reason})
}

// ReopenSlot gives a closed slot its capacity back.
func ReopenSlot(ctx context.Context, db DB, c booking.SlotChange) error {
	sl, err := scanSlot(db, db.QueryRow(ctx, `SELECT `+slotColumns+` FROM slots s WHERE s.id = $1`+db.ForUpdate, c.SlotID))
	if errors.Is(err, sql.ErrNoRows) {
		return booking.ErrNotFound
	}
	if err != nil {
		return err
	}
	if c.Actor.ClinicID != "" && sl.ClinicID != c.Actor.ClinicID {
		return booking.ErrNotPermitted
	}
	var capacity int
	err = db.QueryRow(ctx, `SELECT capacity FROM slot_closures WHERE slot_id = $1`, sl.ID).Scan(&capacity)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `UPDATE slots SET capacity = $2 WHERE id = $1`, sl.ID, max(capacity, sl.Taken)); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `DELETE FROM slot_closures WHERE slot_id = $1`, sl.ID); err != nil {
		return err
	}
	return RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: c.At, Staff: c.Actor.Name,
		Action: booking.StaffAuditReopenSlot, ClinicID: sl.ClinicID, SlotID: sl.ID, Detail: c.Reason})
}

// SlotClosures returns the closures of the slots starting in [from, to).
func SlotClosures(ctx context.Context, db DB, from, to time.Time) ([]booking.SlotClosure, error) {
	rows, err := db.Query(ctx, `SELECT c.slot_id, c.capacity, c.reason, c.staff_name, c.closed_at
		FROM slot_closures c JOIN slots s ON s.id = c.slot_id
		WHERE s.start_at >= $1 AND s.start_at < $2 ORDER BY s.start_at, s.id`, db.Time(from), db.Time(to))
	return collect(rows, err, func(row Row) (booking.SlotClosure, error) {
		var c booking.SlotClosure
		err := row.Scan(&c.SlotID, &c.Capacity, &c.Reason, &c.Staff, db.ScanTime(&c.At))
		return c, err
	})
}

// StaffBooking returns one booking, or booking.ErrNotFound.
func StaffBooking(ctx context.Context, db DB, id booking.BookingID) (booking.Booking, error) {
	b, err := bookingByID(ctx, db, id)
	if errors.Is(err, sql.ErrNoRows) {
		return booking.Booking{}, booking.ErrNotFound
	}
	return b, err
}

// StaffCancel cancels one booking for staff.
func StaffCancel(ctx context.Context, db DB, c booking.BookingChange) (booking.Booking, error) {
	var id booking.BookingID
	err := db.QueryRow(ctx, `SELECT id FROM bookings WHERE id = $1`+db.ForUpdate, c.BookingID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return booking.Booking{}, booking.ErrNotFound
	}
	if err != nil {
		return booking.Booking{}, err
	}
	b, err := bookingByID(ctx, db, id)
	if err != nil {
		return booking.Booking{}, err
	}
	if c.Actor.ClinicID != "" && b.Slot.ClinicID != c.Actor.ClinicID {
		return booking.Booking{}, booking.ErrNotPermitted
	}
	switch {
	case b.Status == booking.StatusCancelled:
		return b, nil
	case b.Status != booking.StatusActive || !b.Slot.Start.After(c.At):
		return booking.Booking{}, booking.ErrAppointmentStarted
	}
	if b, err = cancelForStaff(ctx, db, id, c.Actor.Name, c.At); err != nil {
		return booking.Booking{}, err
	}
	if err := Changed(ctx, db, b, booking.NoticeCancelled, booking.ByOperator, c.Reason, c.At); err != nil {
		return booking.Booking{}, err
	}
	return b, RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: c.At, Staff: c.Actor.Name,
		Action: booking.StaffAuditCancelBooking, ClinicID: b.Slot.ClinicID, SlotID: b.Slot.ID, BookingID: id, Detail: c.Reason})
}

// cancelForStaff cancels active booking id, frees its place and records
// the cancel in the booking audit with the staff member as its booker.
func cancelForStaff(ctx context.Context, db DB, id booking.BookingID, staff string, at time.Time) (booking.Booking, error) {
	var slot booking.SlotID
	var patient *string
	if err := db.QueryRow(ctx, `SELECT slot_id, patient_key FROM bookings WHERE id = $1`, id).Scan(&slot, &patient); err != nil {
		return booking.Booking{}, err
	}
	if _, err := db.Exec(ctx, `UPDATE bookings SET status = 'cancelled', cancelled_at = $2 WHERE id = $1`, id, db.Time(at)); err != nil {
		return booking.Booking{}, err
	}
	if _, err := db.Exec(ctx, `UPDATE slots SET taken = taken - 1 WHERE id = $1`, slot); err != nil {
		return booking.Booking{}, err
	}
	var key booking.PatientKey
	if patient != nil {
		key = booking.PatientKey(*patient)
	}
	if err := RecordAudit(ctx, db, at, booking.AuditCancel, booking.Booker{Channel: booking.ChannelStaff, ID: staff}, key, id); err != nil {
		return booking.Booking{}, err
	}
	return bookingByID(ctx, db, id)
}

// RecordStaffAudit records one line of the staff audit.
func RecordStaffAudit(ctx context.Context, db DB, r booking.StaffAuditRecord) error {
	var slot, bk any
	if r.SlotID != 0 {
		slot = int64(r.SlotID)
	}
	if r.BookingID != 0 {
		bk = int64(r.BookingID)
	}
	_, err := db.Exec(ctx, `INSERT INTO staff_audit (at, staff_name, action, clinic_id, slot_id, booking_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		db.Time(r.At), r.Staff, r.Action, nullText(string(r.ClinicID)), slot, bk, r.Detail)
	return err
}

// StaffAudit returns the staff audit lines at or after since, oldest first.
func StaffAudit(ctx context.Context, db DB, since time.Time) ([]booking.StaffAuditRecord, error) {
	rows, err := db.Query(ctx, `SELECT id, at, staff_name, action, coalesce(clinic_id, ''),
			coalesce(slot_id, 0), coalesce(booking_id, 0), detail
		FROM staff_audit WHERE at >= $1 ORDER BY at, id`, db.Time(since))
	return collect(rows, err, func(row Row) (booking.StaffAuditRecord, error) {
		var r booking.StaffAuditRecord
		err := row.Scan(&r.ID, db.ScanTime(&r.At), &r.Staff, &r.Action, &r.ClinicID, &r.SlotID, &r.BookingID, &r.Detail)
		return r, err
	})
}

// KeepClosed is the last step of SaveSlots: a closed slot that an import
// has just given a capacity keeps it aside, in its closure, for when it is
// reopened, and stays closed (its capacity what is taken).
func KeepClosed(ctx context.Context, db DB) error {
	if _, err := db.Exec(ctx, `UPDATE slot_closures
		SET capacity = (SELECT s.capacity FROM slots s WHERE s.id = slot_closures.slot_id)
		WHERE slot_id IN (SELECT id FROM slots WHERE capacity <> taken)`); err != nil {
		return err
	}
	_, err := db.Exec(ctx, `UPDATE slots SET capacity = taken
		WHERE capacity <> taken AND id IN (SELECT slot_id FROM slot_closures)`)
	return err
}

// MarkAttendance records or corrects the attendance mark of a booking
// whose slot has started by m.At.
func MarkAttendance(ctx context.Context, db DB, m booking.AttendanceMark) error {
	if !m.Mark.Valid() {
		return &booking.ValidationError{Field: "attendance", Reason: booking.ReasonFormat}
	}
	b, err := StaffBooking(ctx, db, m.BookingID)
	if err != nil {
		return err
	}
	switch {
	case m.Actor.ClinicID != "" && b.Slot.ClinicID != m.Actor.ClinicID:
		return booking.ErrNotPermitted
	case b.Status == booking.StatusCancelled:
		return booking.ErrNotFound
	case b.Slot.Start.After(m.At):
		return booking.ErrAppointmentNotStarted
	}
	if _, err := db.Exec(ctx, `INSERT INTO booking_attendance (booking_id, mark, staff_name, marked_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (booking_id) DO UPDATE SET mark = excluded.mark, staff_name = excluded.staff_name, marked_at = excluded.marked_at`,
		b.ID, m.Mark, m.Actor.Name, db.Time(m.At)); err != nil {
		return err
	}
	return RecordStaffAudit(ctx, db, booking.StaffAuditRecord{At: m.At, Staff: m.Actor.Name, Action: booking.StaffAuditAttendance,
		ClinicID: b.Slot.ClinicID, SlotID: b.Slot.ID, BookingID: b.ID, Detail: string(m.Mark)})
}

// Attendance returns the marks of the bookings whose slot starts in
// [from, to).
func Attendance(ctx context.Context, db DB, from, to time.Time) ([]booking.AttendanceMark, error) {
	rows, err := db.Query(ctx, `SELECT a.booking_id, a.mark, a.staff_name, a.marked_at
		FROM booking_attendance a JOIN bookings b ON b.id = a.booking_id JOIN slots s ON s.id = b.slot_id
		WHERE s.start_at >= $1 AND s.start_at < $2 ORDER BY s.start_at, a.booking_id`, db.Time(from), db.Time(to))
	return collect(rows, err, func(row Row) (booking.AttendanceMark, error) {
		var m booking.AttendanceMark
		err := row.Scan(&m.BookingID, &m.Mark, &m.Actor.Name, db.ScanTime(&m.At))
		return m, err
	})
}

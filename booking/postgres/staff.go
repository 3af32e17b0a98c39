package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

var _ booking.StaffStore = (*Store)(nil)

// inStep runs step in a transaction, bounded by OpTimeout.
func (s *Store) inStep(ctx context.Context, step func(ctx context.Context, db sqlstore.DB) error) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	return s.inTx(ctx, func(tx pgx.Tx) error { return step(ctx, on(tx)) })
}

// AddStaff creates an account.
func (s *Store) AddStaff(ctx context.Context, a booking.StaffAccount) (err error) {
	defer wrap(&err, "add staff")
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error { return sqlstore.AddStaff(ctx, db, a) })
}

// StaffAccount returns one account, or booking.ErrNotFound.
func (s *Store) StaffAccount(ctx context.Context, name string) (_ booking.StaffAccount, err error) {
	defer wrap(&err, "staff account")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.StaffAccount(ctx, s.pooled, name)
}

// StaffAccounts returns every account ordered by name.
func (s *Store) StaffAccounts(ctx context.Context) (_ []booking.StaffAccount, err error) {
	defer wrap(&err, "staff accounts")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.StaffAccounts(ctx, s.pooled)
}

// RemoveStaff removes an account and its sessions.
func (s *Store) RemoveStaff(ctx context.Context, name string, at time.Time) (err error) {
	defer wrap(&err, "remove staff")
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error { return sqlstore.RemoveStaff(ctx, db, name, at) })
}

// StaffLoginFailed counts a failed login of an existing account.
func (s *Store) StaffLoginFailed(ctx context.Context, name string, at time.Time) (a booking.StaffAccount, err error) {
	defer wrap(&err, "staff login failed")
	err = s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) (err error) {
		a, err = sqlstore.StaffLoginFailed(ctx, db, name, at)
		return err
	})
	return a, err
}

// StartStaffSession stores a session and records the login.
func (s *Store) StartStaffSession(ctx context.Context, ss booking.StaffSession) (err error) {
	defer wrap(&err, "start staff session")
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error { return sqlstore.StartStaffSession(ctx, db, ss) })
}

// StaffSession returns an unexpired session with its account.
func (s *Store) StaffSession(ctx context.Context, tokenHash string, at time.Time) (_ booking.StaffSession, _ booking.StaffAccount, err error) {
	defer wrap(&err, "staff session")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.StaffSession(ctx, s.pooled, tokenHash, at)
}

// EndStaffSession removes a session and records the logout.
func (s *Store) EndStaffSession(ctx context.Context, tokenHash string, at time.Time) (err error) {
	defer wrap(&err, "end staff session")
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error {
		return sqlstore.EndStaffSession(ctx, db, tokenHash, at)
	})
}

// CloseSlot closes a slot and cancels its bookings.
func (s *Store) CloseSlot(ctx context.Context, c booking.SlotChange) (cancelled []booking.Booking, err error) {
	defer wrap(&err, "close slot %d", c.SlotID)
	err = s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) (err error) {
		cancelled, err = sqlstore.CloseSlot(ctx, db, c)
		return err
	})
	return cancelled, err
}

// ReopenSlot gives a closed slot its capacity back.
func (s *Store) ReopenSlot(ctx context.Context, c booking.SlotChange) (err error) {
	defer wrap(&err, "reopen slot %d", c.SlotID)
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error { return sqlstore.ReopenSlot(ctx, db, c) })
}

// SlotClosures returns the closures of the slots starting in [from, to).
func (s *Store) SlotClosures(ctx context.Context, from, to time.Time) (_ []booking.SlotClosure, err error) {
	defer wrap(&err, "slot closures")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.SlotClosures(ctx, s.pooled, from, to)
}

// StaffCancel cancels one booking for staff.
func (s *Store) StaffCancel(ctx context.Context, c booking.BookingChange) (b booking.Booking, err error) {
	defer wrap(&err, "staff cancel %d", c.BookingID)
	err = s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) (err error) {
		b, err = sqlstore.StaffCancel(ctx, db, c)
		return err
	})
	return b, err
}

// StaffBooking returns one booking, or booking.ErrNotFound.
func (s *Store) StaffBooking(ctx context.Context, id booking.BookingID) (_ booking.Booking, err error) {
	defer wrap(&err, "booking %d", id)
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.StaffBooking(ctx, s.pooled, id)
}

// MarkAttendance records whether the patient of a booking came.
func (s *Store) MarkAttendance(ctx context.Context, m booking.AttendanceMark) (err error) {
	defer wrap(&err, "mark attendance %d", m.BookingID)
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error { return sqlstore.MarkAttendance(ctx, db, m) })
}

// Attendance returns the marks of the bookings whose slot starts in [from, to).
func (s *Store) Attendance(ctx context.Context, from, to time.Time) (_ []booking.AttendanceMark, err error) {
	defer wrap(&err, "attendance")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.Attendance(ctx, s.pooled, from, to)
}

// RecordStaffAudit records one line of the staff audit.
func (s *Store) RecordStaffAudit(ctx context.Context, r booking.StaffAuditRecord) (err error) {
	defer wrap(&err, "record staff audit")
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error { return sqlstore.RecordStaffAudit(ctx, db, r) })
}

// StaffAudit returns the staff audit lines at or after since.
func (s *Store) StaffAudit(ctx context.Context, since time.Time) (_ []booking.StaffAuditRecord, err error) {
	defer wrap(&err, "staff audit")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.StaffAudit(ctx, s.pooled, since)
}

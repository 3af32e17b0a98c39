package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

var _ booking.StaffStore = (*Store)(nil)

// write1 runs step in an immediate transaction and wraps its error with what.
func (s *Store) write1(ctx context.Context, what string, step func(db sqlstore.DB) error) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return step(on(tx)) }); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, translate(err))
	}
	return nil
}

// AddStaff creates an account.
func (s *Store) AddStaff(ctx context.Context, a booking.StaffAccount) error {
	return s.write1(ctx, "add staff", func(db sqlstore.DB) error { return sqlstore.AddStaff(ctx, db, a) })
}

// StaffAccount returns one account, or booking.ErrNotFound.
func (s *Store) StaffAccount(ctx context.Context, name string) (booking.StaffAccount, error) {
	a, err := sqlstore.StaffAccount(ctx, s.reader, name)
	if err != nil {
		return booking.StaffAccount{}, fmt.Errorf("sqlite: staff account: %w", err)
	}
	return a, nil
}

// StaffAccounts returns every account ordered by name.
func (s *Store) StaffAccounts(ctx context.Context) ([]booking.StaffAccount, error) {
	as, err := sqlstore.StaffAccounts(ctx, s.reader)
	if err != nil {
		return nil, fmt.Errorf("sqlite: staff accounts: %w", err)
	}
	return as, nil
}

// RemoveStaff removes an account and its sessions.
func (s *Store) RemoveStaff(ctx context.Context, name string, at time.Time) error {
	return s.write1(ctx, "remove staff", func(db sqlstore.DB) error { return sqlstore.RemoveStaff(ctx, db, name, at) })
}

// StaffLoginFailed counts a failed login of an existing account.
func (s *Store) StaffLoginFailed(ctx context.Context, name string, at time.Time) (a booking.StaffAccount, err error) {
	err = s.write1(ctx, "staff login failed", func(db sqlstore.DB) (err error) {
		a, err = sqlstore.StaffLoginFailed(ctx, db, name, at)
		return err
	})
	return a, err
}

// StartStaffSession stores a session and records the login.
func (s *Store) StartStaffSession(ctx context.Context, ss booking.StaffSession) error {
	return s.write1(ctx, "start staff session", func(db sqlstore.DB) error { return sqlstore.StartStaffSession(ctx, db, ss) })
}

// StaffSession returns an unexpired session with its account.
func (s *Store) StaffSession(ctx context.Context, tokenHash string, at time.Time) (booking.StaffSession, booking.StaffAccount, error) {
	ss, a, err := sqlstore.StaffSession(ctx, s.reader, tokenHash, at)
	if err != nil {
		return booking.StaffSession{}, booking.StaffAccount{}, fmt.Errorf("sqlite: staff session: %w", err)
	}
	return ss, a, nil
}

// EndStaffSession removes a session and records the logout.
func (s *Store) EndStaffSession(ctx context.Context, tokenHash string, at time.Time) error {
	return s.write1(ctx, "end staff session", func(db sqlstore.DB) error { return sqlstore.EndStaffSession(ctx, db, tokenHash, at) })
}

// CloseSlot closes a slot and cancels its bookings.
func (s *Store) CloseSlot(ctx context.Context, c booking.SlotChange) (cancelled []booking.Booking, err error) {
	err = s.write1(ctx, fmt.Sprintf("close slot %d", c.SlotID), func(db sqlstore.DB) (err error) {
		cancelled, err = sqlstore.CloseSlot(ctx, db, c)
		return err
	})
	return cancelled, err
}

// ReopenSlot gives a closed slot its capacity back.
func (s *Store) ReopenSlot(ctx context.Context, c booking.SlotChange) error {
	return s.write1(ctx, fmt.Sprintf("reopen slot %d", c.SlotID), func(db sqlstore.DB) error { return sqlstore.ReopenSlot(ctx, db, c) })
}

// SlotClosures returns the closures of the slots starting in [from, to).
func (s *Store) SlotClosures(ctx context.Context, from, to time.Time) ([]booking.SlotClosure, error) {
	cs, err := sqlstore.SlotClosures(ctx, s.reader, from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: slot closures: %w", err)
	}
	return cs, nil
}

// StaffCancel cancels one booking for staff.
func (s *Store) StaffCancel(ctx context.Context, c booking.BookingChange) (b booking.Booking, err error) {
	err = s.write1(ctx, fmt.Sprintf("staff cancel %d", c.BookingID), func(db sqlstore.DB) (err error) {
		b, err = sqlstore.StaffCancel(ctx, db, c)
		return err
	})
	return b, err
}

// StaffBooking returns one booking, or booking.ErrNotFound.
func (s *Store) StaffBooking(ctx context.Context, id booking.BookingID) (booking.Booking, error) {
	b, err := sqlstore.StaffBooking(ctx, s.reader, id)
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: booking %d: %w", id, err)
	}
	return b, nil
}

// MarkAttendance records whether the patient of a booking came.
func (s *Store) MarkAttendance(ctx context.Context, m booking.AttendanceMark) error {
	return s.write1(ctx, fmt.Sprintf("mark attendance %d", m.BookingID), func(db sqlstore.DB) error { return sqlstore.MarkAttendance(ctx, db, m) })
}

// Attendance returns the marks of the bookings whose slot starts in [from, to).
func (s *Store) Attendance(ctx context.Context, from, to time.Time) ([]booking.AttendanceMark, error) {
	ms, err := sqlstore.Attendance(ctx, s.reader, from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: attendance: %w", err)
	}
	return ms, nil
}

// RecordStaffAudit records one line of the staff audit.
func (s *Store) RecordStaffAudit(ctx context.Context, r booking.StaffAuditRecord) error {
	return s.write1(ctx, "record staff audit", func(db sqlstore.DB) error { return sqlstore.RecordStaffAudit(ctx, db, r) })
}

// StaffAudit returns the staff audit lines at or after since.
func (s *Store) StaffAudit(ctx context.Context, since time.Time) ([]booking.StaffAuditRecord, error) {
	rs, err := sqlstore.StaffAudit(ctx, s.reader, since)
	if err != nil {
		return nil, fmt.Errorf("sqlite: staff audit: %w", err)
	}
	return rs, nil
}

package booking

import (
	"context"
	"errors"
	"time"
)

// Staff console outcomes.
var (
	// ErrNotPermitted: a staff member acted on a clinic that is not theirs.
	ErrNotPermitted = errors.New("not permitted")
	// ErrAppointmentNotStarted: attendance cannot be marked before the
	// appointment's start.
	ErrAppointmentNotStarted = errors.New("appointment not started")
)

// StaffStore keeps the clinic staff console's accounts, sessions and audit
// trail, and makes the changes staff make to slots and bookings. Each
// change records its staff audit line (and, for a booking it cancels, the
// booking audit line) in the same transaction.
//
// Implementations: booking/sqlite and booking/postgres; bookingtest.Exercise
// checks both. A scoped call (StaffActor.ClinicID set) that reaches another
// clinic's slot or booking changes nothing and fails with ErrNotPermitted.
type StaffStore interface {
	// AddStaff creates an account; a name in use fails with ErrConflict,
	// an unknown clinic with ErrNotFound.
	AddStaff(ctx context.Context, a StaffAccount) error
	// StaffAccount returns one account, or ErrNotFound.
	StaffAccount(ctx context.Context, name string) (StaffAccount, error)
	// StaffAccounts returns every account ordered by name.
	StaffAccounts(ctx context.Context) ([]StaffAccount, error)
	// RemoveStaff removes an account and its sessions, or fails with
	// ErrNotFound. Its audit lines stay.
	RemoveStaff(ctx context.Context, name string, at time.Time) error
	// StaffLoginFailed counts a failed login of an existing account and
	// returns the account as it is then; an unknown name is ErrNotFound
	// and is not recorded (it may be a password typed in the wrong box).
	StaffLoginFailed(ctx context.Context, name string, at time.Time) (StaffAccount, error)
	// StartStaffSession stores a session, clears the account's failed
	// logins, removes every session that expired by s.CreatedAt and records
	// the login.
	StartStaffSession(ctx context.Context, s StaffSession) error
	// StaffSession returns the session whose token hashes to tokenHash with
	// its account, if it has not expired at at; otherwise ErrNotFound.
	StaffSession(ctx context.Context, tokenHash string, at time.Time) (StaffSession, StaffAccount, error)
	// EndStaffSession removes a session and records the logout; an unknown
	// session is not an error.
	EndStaffSession(ctx context.Context, tokenHash string, at time.Time) error

	// CloseSlot closes a slot that has not started: its active bookings are
	// cancelled and their places freed, and no place is left to book until
	// it is reopened. It returns the bookings it cancelled. Closing a closed
	// slot changes nothing; a slot that started by c.At fails with
	// ErrAppointmentStarted.
	CloseSlot(ctx context.Context, c SlotChange) ([]Booking, error)
	// ReopenSlot gives a closed slot its capacity back; a slot that is not
	// closed changes nothing.
	ReopenSlot(ctx context.Context, c SlotChange) error
	// SlotClosures returns the closures of the slots starting in [from, to).
	SlotClosures(ctx context.Context, from, to time.Time) ([]SlotClosure, error)
	// StaffCancel cancels one booking that has not started and frees its
	// place; a cancelled booking is returned unchanged, one that started by
	// c.At fails with ErrAppointmentStarted.
	StaffCancel(ctx context.Context, c BookingChange) (Booking, error)
	// StaffBooking returns one booking, or ErrNotFound.
	StaffBooking(ctx context.Context, id BookingID) (Booking, error)
	// MarkAttendance records whether the patient of a booking came, or
	// corrects the mark. The slot must have started by m.At and the booking
	// must not be cancelled; otherwise it fails with ErrAppointmentNotStarted
	// or ErrNotFound.
	MarkAttendance(ctx context.Context, m AttendanceMark) error
	// Attendance returns the marks of the bookings whose slot starts in
	// [from, to).
	Attendance(ctx context.Context, from, to time.Time) ([]AttendanceMark, error)

	// RecordStaffAudit records what a staff member did that no other
	// StaffStore method records (an upload, an account change by the CLI).
	RecordStaffAudit(ctx context.Context, r StaffAuditRecord) error
	// StaffAudit returns the staff audit lines at or after since, oldest first.
	StaffAudit(ctx context.Context, since time.Time) ([]StaffAuditRecord, error)
}

// StaffAccount is a clinic staff member who may sign in to the console.
type StaffAccount struct {
	Name string
	// ClinicID is the one clinic the member sees; empty for an admin, who
	// sees every clinic and video consultation.
	ClinicID ClinicID
	// PasswordHash is an encoded argon2id hash; it is never shown.
	PasswordHash  string
	CreatedAt     time.Time
	Failures      int       // failed logins since the last success
	LastFailureAt time.Time // zero: none
}

// Admin reports whether the account sees every clinic.
func (a StaffAccount) Admin() bool { return a.ClinicID == "" }

// Sees reports whether the account may see and act on clinic (empty for
// video consultation, which only an admin sees).
func (a StaffAccount) Sees(clinic ClinicID) bool { return a.Admin() || a.ClinicID == clinic }

// StaffSession is a signed-in console session. The token itself is only in
// the browser's cookie: the store keeps its hash.
type StaffSession struct {
	TokenHash string
	Staff     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// StaffActor is who makes a staff change, and the clinic it is limited to
// (empty: any).
type StaffActor struct {
	Name     string
	ClinicID ClinicID
}

// SlotChange closes or reopens a slot.
type SlotChange struct {
	Actor  StaffActor
	SlotID SlotID
	Reason string
	At     time.Time
}

// BookingChange cancels one booking for staff.
type BookingChange struct {
	Actor     StaffActor
	BookingID BookingID
	Reason    string
	At        time.Time
}

// Attendance is whether a patient came to their appointment.
type Attendance string

// Attendance marks.
const (
	Attended Attendance = "attended"
	NoShow   Attendance = "no_show"
)

// Valid reports whether a is a known mark.
func (a Attendance) Valid() bool { return a == Attended || a == NoShow }

// AttendanceMark is a staff member's mark on one booking.
type AttendanceMark struct {
	Actor     StaffActor // Actor.Name only, when read back
	BookingID BookingID
	Mark      Attendance
	At        time.Time
}

// SlotClosure says why and by whom a slot is closed, and the capacity it
// had (and gets back when reopened).
type SlotClosure struct {
	SlotID   SlotID
	Capacity int
	Reason   string
	Staff    string
	At       time.Time
}

// StaffAuditAction is what a staff audit line says happened.
type StaffAuditAction string

// Staff audit actions.
const (
	StaffAuditLogin         StaffAuditAction = "login"
	StaffAuditLoginFailed   StaffAuditAction = "login_failed"
	StaffAuditLogout        StaffAuditAction = "logout"
	StaffAuditCloseSlot     StaffAuditAction = "close_slot"
	StaffAuditReopenSlot    StaffAuditAction = "reopen_slot"
	StaffAuditCancelBooking StaffAuditAction = "cancel_booking"
	StaffAuditImport        StaffAuditAction = "import_schedule"
	StaffAuditAttendance    StaffAuditAction = "mark_attendance"
	StaffAuditAddAccount    StaffAuditAction = "add_account"
	StaffAuditRemoveAccount StaffAuditAction = "remove_account"
)

// StaffAuditRecord is one line of the staff audit: who did what, when, and
// to which clinic, slot or booking. Detail is the reason given, or a count;
// it names no patient.
type StaffAuditRecord struct {
	ID        int64
	At        time.Time
	Staff     string
	Action    StaffAuditAction
	ClinicID  ClinicID  // empty when none
	SlotID    SlotID    // zero when none
	BookingID BookingID // zero when none
	Detail    string
}

// ChannelStaff is the booker channel of the booking audit lines that the
// staff console writes when staff cancel a booking: the booker is then the
// staff member.
const ChannelStaff Channel = "staff"

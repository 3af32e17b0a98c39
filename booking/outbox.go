package booking

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// NoticeKind is what a notice in the outbox tells a booker.
type NoticeKind string

// Notice kinds. Each is written in the same transaction as the change that
// causes it.
const (
	// NoticeReminder reminds the booker of the appointment ahead of it
	// (written by Book, rescheduled by Move, dropped by a cancel).
	NoticeReminder NoticeKind = "reminder"
	// NoticeCancelled says the booking was cancelled, with the calendar
	// file that removes it (Cancel, StaffStore.StaffCancel).
	NoticeCancelled NoticeKind = "cancelled"
	// NoticeMoved says the booking moved, with the updated calendar file.
	NoticeMoved NoticeKind = "moved"
	// NoticeClosed says an operator closed the booking's slot, which
	// cancelled the booking (StaffStore.CloseSlot).
	NoticeClosed NoticeKind = "closed"
)

// NoticeStatus is where a notice is in the outbox.
type NoticeStatus string

// Notice statuses. A notice is pending until a dispatcher claims it
// (sending); it ends sent or failed, or dropped when the booking it was
// for was cancelled before it was due (a reminder).
const (
	NoticePending NoticeStatus = "pending"
	NoticeSending NoticeStatus = "sending"
	NoticeSent    NoticeStatus = "sent"
	NoticeFailed  NoticeStatus = "failed"
	NoticeDropped NoticeStatus = "dropped"
)

// NoticeID identifies a notice in the outbox.
type NoticeID int64

// Who changed a booking, as a cancel notice tells it.
const (
	ByBooker   = "booker"   // the chat that made the booking
	ByOther    = "other"    // another chat, which verified the patient
	ByOperator = "operator" // clinic staff or an operator's command
)

// Notice is one message owed to the chat that made a booking.
type Notice struct {
	ID      NoticeID
	Kind    NoticeKind
	Booking Booking // as it is when the notice is claimed
	// By says who made the change (ByBooker, ByOther, ByOperator); empty
	// for a reminder.
	By string
	// Reason is the operator's reason for a close or cancel; never
	// personal data.
	Reason string
	// Sequence is the calendar SEQUENCE of the event the notice carries.
	Sequence int
	// Lang is the language the booking was made in; empty when unknown.
	Lang     string
	Due      time.Time // not sent before
	Deadline time.Time // not sent after: failed instead
	Attempts int       // claims so far, this one included
	// Unknown says an earlier claim lapsed without its outcome being
	// recorded (the dispatcher stopped between sending and marking): the
	// send must be checked, not repeated blindly.
	Unknown bool
}

// NoticeClaim is a dispatcher's claim of due notices.
type NoticeClaim struct {
	Owner string    // the claiming dispatcher, unique per process
	At    time.Time // now: notices due by At are claimed
	Lease time.Duration
	Limit int
}

// OutboxCounts is what `clinicbot outbox` shows.
type OutboxCounts struct {
	Pending, Sending, Sent, Failed, Dropped int
	// OldestPending is when the oldest notice due and not yet sent fell
	// due; zero when none is.
	OldestPending time.Time
}

// Outbox is the store's queue of notices to bookers. The stores write
// notices in the transactions of Store.Book, Cancel and Move and of
// StaffStore.CloseSlot and StaffCancel; a dispatcher claims and settles
// them. Every settling call names the claim's owner: a claim that lapsed
// and was taken by another dispatcher is no longer the first one's to
// settle (ErrNotFound).
type Outbox interface {
	// ClaimNotices leases up to c.Limit notices for c.Owner until
	// c.At+c.Lease: those pending and due by c.At, and those whose lease
	// lapsed while sending (Unknown). Concurrent claims never take the
	// same notice; a claimed notice is counted as an attempt.
	ClaimNotices(ctx context.Context, c NoticeClaim) ([]Notice, error)
	// NoticeSent marks a claimed notice sent, with the channel's message id.
	NoticeSent(ctx context.Context, id NoticeID, owner, messageID string, at time.Time) error
	// RetryNotice gives a claimed notice back, to be sent from next on.
	RetryNotice(ctx context.Context, id NoticeID, owner string, next time.Time, reason string) error
	// NoticeFailed marks a claimed notice failed for good.
	NoticeFailed(ctx context.Context, id NoticeID, owner string, at time.Time, reason string) error
	// NoticeCounts counts the notices by status at at.
	NoticeCounts(ctx context.Context, at time.Time) (OutboxCounts, error)
	// Notices returns the notices of one booking, oldest first (for tests
	// and operators).
	Notices(ctx context.Context, id BookingID) ([]NoticeRow, error)
}

// NoticeRow is a notice as the outbox keeps it.
type NoticeRow struct {
	ID        NoticeID
	BookingID BookingID
	Kind      NoticeKind
	Status    NoticeStatus
	By        string
	Reason    string
	Due       time.Time
	Attempts  int
	MessageID string
}

// QuietHours is a daily period in which no reminder is sent, in the
// clinics' time zone. From == To means none.
type QuietHours struct {
	From, To time.Duration // since midnight
}

// ParseQuietHours reads "22:00-08:00", or "off" for none.
func ParseQuietHours(s string) (QuietHours, error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return QuietHours{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM or off", s)
	}
	from, err := ParseClock(a)
	if err != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	to, err := ParseClock(b)
	if err != nil {
		return QuietHours{}, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	return QuietHours{From: from, To: to}, nil
}

// ParseClock reads "HH:MM" as the time since midnight, for an operator's
// command; 24:00 is refused.
func ParseClock(s string) (time.Duration, error) {
	d, ok := parseClock(strings.TrimSpace(s))
	if !ok || d >= 24*time.Hour {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return d, nil
}

// Off reports whether q keeps no hours quiet.
func (q QuietHours) Off() bool { return q.From == q.To }

// String writes q as ParseQuietHours reads it.
func (q QuietHours) String() string {
	if q.Off() {
		return "off"
	}
	f := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return f(q.From) + "-" + f(q.To)
}

// end returns when the quiet period that holds t ends, or t when none does.
func (q QuietHours) end(t time.Time, loc *time.Location) time.Time {
	if q.Off() {
		return t
	}
	local := t.In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	since := local.Sub(midnight)
	switch {
	case q.From < q.To && since >= q.From && since < q.To:
		return midnight.Add(q.To)
	case q.From > q.To && since >= q.From:
		return midnight.AddDate(0, 0, 1).Add(q.To)
	case q.From > q.To && since < q.To:
		return midnight.Add(q.To)
	}
	return t
}

// Reminders is when a booking's reminder is sent.
type Reminders struct {
	// Before is how long ahead of the appointment; zero sends none.
	Before time.Duration
	// Quiet are the hours in which none is sent.
	Quiet QuietHours
	// Location is the clinics' time zone, for Quiet.
	Location *time.Location
}

// DefaultReminders are a day ahead, not between 22:00 and 08:00.
func DefaultReminders() Reminders {
	return Reminders{Before: 24 * time.Hour, Quiet: QuietHours{From: 22 * time.Hour, To: 8 * time.Hour}, Location: HongKong()}
}

// At returns when to remind of an appointment at start, for a booking
// made at now; zero for none. A time already passed is now (a booking made
// closer to its appointment than Before is reminded at once); a time in
// quiet hours moves to their end, unless that would be at or after the
// appointment: then it stays.
func (r Reminders) At(start, now time.Time) time.Time {
	if r.Before <= 0 {
		return time.Time{}
	}
	loc := r.Location
	if loc == nil {
		loc = HongKong()
	}
	at := start.Add(-r.Before)
	if at.Before(now) {
		at = now
	}
	if end := r.Quiet.end(at, loc); end.Before(start) {
		at = end
	}
	return at.UTC()
}

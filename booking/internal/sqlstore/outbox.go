package sqlstore

import (
	"context"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// The steps of the outbox (booking.Outbox). The notices are written by
// the steps that change bookings, in their transactions; a dispatcher
// claims and settles them.

// noticeGrace is the least time a notice of a change has to be sent: a
// change close to the appointment is still told, for a while.
const noticeGrace = time.Hour

// insertNotice writes one pending notice, due at due.
func insertNotice(ctx context.Context, db DB, id booking.BookingID, kind booking.NoticeKind, by, reason string, seq int, at, due, deadline time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO outbox (booking_id, kind, by_whom, reason, sequence, created_at, due_at, deadline_at, next_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7)`,
		id, kind, by, reason, seq, db.Time(at), db.Time(due), db.Time(deadline))
	return err
}

// Remind writes the reminder of booking id, due at remindAt (none when
// zero) and not sent after the appointment's start.
func Remind(ctx context.Context, db DB, id booking.BookingID, remindAt, start, at time.Time) error {
	if remindAt.IsZero() || !remindAt.Before(start) {
		return nil
	}
	return insertNotice(ctx, db, id, booking.NoticeReminder, "", "", 0, at, remindAt, start)
}

// dropReminders drops the reminders of booking id not yet claimed.
func dropReminders(ctx context.Context, db DB, id booking.BookingID, at time.Time) error {
	_, err := db.Exec(ctx, `UPDATE outbox SET status = 'dropped', settled_at = $2
		WHERE booking_id = $1 AND kind = 'reminder' AND status = 'pending'`, id, db.Time(at))
	return err
}

// Changed writes the notice of a change to booking b (cancelled, moved,
// its slot closed) made at at by by, due at once, and drops its pending
// reminders. The notice carries the calendar SEQUENCE the change gives
// the booking's event: a cancel counts one more than the moves.
func Changed(ctx context.Context, db DB, b booking.Booking, kind booking.NoticeKind, by, reason string, at time.Time) error {
	if err := dropReminders(ctx, db, b.ID, at); err != nil {
		return err
	}
	seq := b.Sequence
	if kind != booking.NoticeMoved {
		seq++
	}
	deadline := b.Slot.Start
	if min := at.Add(noticeGrace); deadline.Before(min) {
		deadline = min
	}
	return insertNotice(ctx, db, b.ID, kind, by, reason, seq, at, at, deadline)
}

// ClaimNotices leases the due notices for c.Owner and returns them with
// their bookings.
func ClaimNotices(ctx context.Context, db DB, c booking.NoticeClaim) ([]booking.Notice, error) {
	rows, err := db.Query(ctx, `UPDATE outbox SET
			unknown = CASE WHEN status = 'sending' THEN 1 ELSE 0 END,
			status = 'sending', lease_owner = $1, lease_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox
			WHERE (status = 'pending' AND next_at <= $3) OR (status = 'sending' AND lease_until <= $3)
			ORDER BY next_at, id LIMIT $4`+db.SkipLocked+`)
		RETURNING id, booking_id, kind, by_whom, reason, sequence, due_at, deadline_at, attempts, unknown`,
		c.Owner, db.Time(c.At.Add(c.Lease)), db.Time(c.At), c.Limit)
	type claimed struct {
		n  booking.Notice
		id booking.BookingID
	}
	got, err := collect(rows, err, func(row Row) (claimed, error) {
		var x claimed
		var unknown int
		err := row.Scan(&x.n.ID, &x.id, &x.n.Kind, &x.n.By, &x.n.Reason, &x.n.Sequence,
			db.ScanTime(&x.n.Due), db.ScanTime(&x.n.Deadline), &x.n.Attempts, &unknown)
		x.n.Unknown = unknown != 0
		return x, err
	})
	if err != nil {
		return nil, err
	}
	out := make([]booking.Notice, 0, len(got))
	for _, x := range got {
		if x.n.Booking, err = bookingByID(ctx, db, x.id); err != nil {
			return nil, err
		}
		if err := db.QueryRow(ctx, `SELECT lang FROM bookings WHERE id = $1`, x.id).Scan(&x.n.Lang); err != nil {
			return nil, err
		}
		out = append(out, x.n)
	}
	return out, nil
}

// settle ends owner's claim of notice id with status; a claim that is no
// longer owner's is booking.ErrNotFound.
func settle(ctx context.Context, db DB, id booking.NoticeID, owner string, status booking.NoticeStatus, set string, args ...any) error {
	n, err := db.Exec(ctx, `UPDATE outbox SET status = $3, lease_owner = NULL, lease_until = NULL`+set+`
		WHERE id = $1 AND lease_owner = $2 AND status = 'sending'`, append([]any{id, owner, status}, args...)...)
	if err != nil {
		return err
	}
	if n == 0 {
		return booking.ErrNotFound
	}
	return nil
}

// NoticeSent marks a claimed notice sent.
func NoticeSent(ctx context.Context, db DB, id booking.NoticeID, owner, messageID string, at time.Time) error {
	return settle(ctx, db, id, owner, booking.NoticeSent, `, message_id = $4, settled_at = $5`, messageID, db.Time(at))
}

// RetryNotice gives a claimed notice back to be sent from next.
func RetryNotice(ctx context.Context, db DB, id booking.NoticeID, owner string, next time.Time, reason string) error {
	return settle(ctx, db, id, owner, booking.NoticePending, `, next_at = $4, last_error = $5`, db.Time(next), reason)
}

// NoticeFailed marks a claimed notice failed for good.
func NoticeFailed(ctx context.Context, db DB, id booking.NoticeID, owner string, at time.Time, reason string) error {
	return settle(ctx, db, id, owner, booking.NoticeFailed, `, settled_at = $4, last_error = $5`, db.Time(at), reason)
}

// NoticeCounts counts the notices by status, and finds the oldest due by
// at and not yet sent.
func NoticeCounts(ctx context.Context, db DB, at time.Time) (booking.OutboxCounts, error) {
	var c booking.OutboxCounts
	rows, err := db.Query(ctx, `SELECT status, count(*) FROM outbox GROUP BY status`)
	type count struct {
		status booking.NoticeStatus
		n      int
	}
	counts, err := collect(rows, err, func(row Row) (count, error) {
		var x count
		return x, row.Scan(&x.status, &x.n)
	})
	if err != nil {
		return c, err
	}
	for _, x := range counts {
		switch x.status {
		case booking.NoticePending:
			c.Pending = x.n
		case booking.NoticeSending:
			c.Sending = x.n
		case booking.NoticeSent:
			c.Sent = x.n
		case booking.NoticeFailed:
			c.Failed = x.n
		case booking.NoticeDropped:
			c.Dropped = x.n
		}
	}
	err = db.QueryRow(ctx, `SELECT min(due_at) FROM outbox WHERE status IN ('pending', 'sending') AND due_at <= $1`,
		db.Time(at)).Scan(db.ScanTime(&c.OldestPending))
	return c, err
}

// Notices returns the notices of booking id, oldest first.
func Notices(ctx context.Context, db DB, id booking.BookingID) ([]booking.NoticeRow, error) {
	rows, err := db.Query(ctx, `SELECT id, booking_id, kind, status, by_whom, reason, due_at, attempts, coalesce(message_id, '')
		FROM outbox WHERE booking_id = $1 ORDER BY id`, id)
	return collect(rows, err, func(row Row) (booking.NoticeRow, error) {
		var n booking.NoticeRow
		err := row.Scan(&n.ID, &n.BookingID, &n.Kind, &n.Status, &n.By, &n.Reason, db.ScanTime(&n.Due), &n.Attempts, &n.MessageID)
		return n, err
	})
}

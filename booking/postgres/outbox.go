package postgres

import (
	"context"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

var _ booking.Outbox = (*Store)(nil)

// ClaimNotices leases the due notices for c.Owner: FOR UPDATE SKIP LOCKED
// lets replicas claim at once, each taking rows the others did not.
func (s *Store) ClaimNotices(ctx context.Context, c booking.NoticeClaim) (ns []booking.Notice, err error) {
	defer wrap(&err, "claim notices")
	err = s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) (err error) {
		ns, err = sqlstore.ClaimNotices(ctx, db, c)
		return err
	})
	return ns, err
}

// NoticeSent marks a claimed notice sent.
func (s *Store) NoticeSent(ctx context.Context, id booking.NoticeID, owner, messageID string, at time.Time) (err error) {
	defer wrap(&err, "notice %d sent", id)
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error {
		return sqlstore.NoticeSent(ctx, db, id, owner, messageID, at)
	})
}

// RetryNotice gives a claimed notice back to be sent from next.
func (s *Store) RetryNotice(ctx context.Context, id booking.NoticeID, owner string, next time.Time, reason string) (err error) {
	defer wrap(&err, "retry notice %d", id)
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error {
		return sqlstore.RetryNotice(ctx, db, id, owner, next, reason)
	})
}

// NoticeFailed marks a claimed notice failed for good.
func (s *Store) NoticeFailed(ctx context.Context, id booking.NoticeID, owner string, at time.Time, reason string) (err error) {
	defer wrap(&err, "notice %d failed", id)
	return s.inStep(ctx, func(ctx context.Context, db sqlstore.DB) error {
		return sqlstore.NoticeFailed(ctx, db, id, owner, at, reason)
	})
}

// NoticeCounts counts the notices by status.
func (s *Store) NoticeCounts(ctx context.Context, at time.Time) (_ booking.OutboxCounts, err error) {
	defer wrap(&err, "notice counts")
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.NoticeCounts(ctx, s.pooled, at)
}

// Notices returns the notices of one booking.
func (s *Store) Notices(ctx context.Context, id booking.BookingID) (_ []booking.NoticeRow, err error) {
	defer wrap(&err, "notices of booking %d", id)
	ctx, cancel := bound(ctx)
	defer cancel()
	return sqlstore.Notices(ctx, s.pooled, id)
}

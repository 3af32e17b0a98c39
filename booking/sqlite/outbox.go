package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

var _ booking.Outbox = (*Store)(nil)

// ClaimNotices leases the due notices for c.Owner. The single writer's
// immediate transaction keeps two claims apart.
func (s *Store) ClaimNotices(ctx context.Context, c booking.NoticeClaim) (ns []booking.Notice, err error) {
	err = s.write1(ctx, "claim notices", func(db sqlstore.DB) (err error) {
		ns, err = sqlstore.ClaimNotices(ctx, db, c)
		return err
	})
	return ns, err
}

// NoticeSent marks a claimed notice sent.
func (s *Store) NoticeSent(ctx context.Context, id booking.NoticeID, owner, messageID string, at time.Time) error {
	return s.write1(ctx, fmt.Sprintf("notice %d sent", id), func(db sqlstore.DB) error {
		return sqlstore.NoticeSent(ctx, db, id, owner, messageID, at)
	})
}

// RetryNotice gives a claimed notice back to be sent from next.
func (s *Store) RetryNotice(ctx context.Context, id booking.NoticeID, owner string, next time.Time, reason string) error {
	return s.write1(ctx, fmt.Sprintf("retry notice %d", id), func(db sqlstore.DB) error {
		return sqlstore.RetryNotice(ctx, db, id, owner, next, reason)
	})
}

// NoticeFailed marks a claimed notice failed for good.
func (s *Store) NoticeFailed(ctx context.Context, id booking.NoticeID, owner string, at time.Time, reason string) error {
	return s.write1(ctx, fmt.Sprintf("notice %d failed", id), func(db sqlstore.DB) error {
		return sqlstore.NoticeFailed(ctx, db, id, owner, at, reason)
	})
}

// NoticeCounts counts the notices by status.
func (s *Store) NoticeCounts(ctx context.Context, at time.Time) (booking.OutboxCounts, error) {
	c, err := sqlstore.NoticeCounts(ctx, s.reader, at)
	if err != nil {
		return booking.OutboxCounts{}, fmt.Errorf("sqlite: notice counts: %w", err)
	}
	return c, nil
}

// Notices returns the notices of one booking.
func (s *Store) Notices(ctx context.Context, id booking.BookingID) ([]booking.NoticeRow, error) {
	ns, err := sqlstore.Notices(ctx, s.reader, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notices of booking %d: %w", id, err)
	}
	return ns, nil
}

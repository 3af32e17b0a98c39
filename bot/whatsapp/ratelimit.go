package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// errRateLimited is returned when a send would have to wait past its
// message's deadline for a token.
var errRateLimited = errors.New("whatsapp: send rate limit")

// bucket is a token bucket (golang.org/x/time/rate) on an injected clock:
// it holds up to burst tokens and gains rate tokens a second. Every
// outbound message takes one.
type bucket struct {
	lim *rate.Limiter
	now func() time.Time
}

func newBucket(r float64, burst int, now func() time.Time) *bucket {
	return &bucket{lim: rate.NewLimiter(rate.Limit(r), burst), now: now}
}

// reserve takes a token and returns how long the caller must wait before
// using it. When that wait would end after deadline (non-zero), it takes
// nothing and returns errRateLimited.
func (b *bucket) reserve(deadline time.Time) (time.Duration, error) {
	now := b.now()
	r := b.lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	if !deadline.IsZero() && now.Add(wait).After(deadline) {
		r.CancelAt(now)
		return 0, errRateLimited
	}
	return wait, nil
}

// wait blocks until a token is available, or fails when ctx ends first.
func (b *bucket) wait(ctx context.Context) error {
	deadline, _ := ctx.Deadline()
	d, err := b.reserve(deadline)
	if err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("whatsapp: wait for send token: %w", ctx.Err())
	}
}

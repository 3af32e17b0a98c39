package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// errRateLimited is returned when a send would have to wait past its
// message's deadline for a token.
var errRateLimited = errors.New("whatsapp: send rate limit")

// bucket is a token bucket: it holds up to burst tokens and gains rate
// tokens a second. Every outbound message takes one.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate float64, burst int, now func() time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// reserve takes a token and returns how long the caller must wait before
// using it. When that wait would end after deadline (non-zero), it takes
// nothing and returns errRateLimited.
func (b *bucket) reserve(deadline time.Time) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	wait := time.Duration(0)
	if b.tokens < 1 {
		wait = time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	}
	if !deadline.IsZero() && now.Add(wait).After(deadline) {
		return 0, errRateLimited
	}
	b.tokens--
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

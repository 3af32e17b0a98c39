package booking

import (
	"context"
	"sync"
	"time"
)

// cached holds one value loaded from the store for a while by the
// service's clock. Concurrent callers that find it stale share one load.
type cached[T any] struct {
	mu       sync.Mutex
	val      T
	loadedAt time.Time
	valid    bool
	loading  chan struct{} // closed when the load in flight ends; nil when none is
}

// get returns the value loaded within ttl of now(), or loads it. A ttl of
// zero or less loads every time. A failed load is not kept: the next
// caller tries again.
func (c *cached[T]) get(ctx context.Context, now func() time.Time, ttl time.Duration, load func(context.Context) (T, error)) (T, error) {
	if ttl <= 0 {
		return load(ctx)
	}
	for {
		c.mu.Lock()
		t := now()
		// A clock set back counts as stale too.
		if c.valid && !t.Before(c.loadedAt) && t.Sub(c.loadedAt) < ttl {
			v := c.val
			c.mu.Unlock()
			return v, nil
		}
		if wait := c.loading; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				var zero T
				return zero, context.Cause(ctx)
			}
		}
		c.loading = make(chan struct{})
		c.mu.Unlock()
		return c.fill(ctx, t, load)
	}
}

// fill runs the load that get started at t and lets the waiters go, even
// if load panics.
func (c *cached[T]) fill(ctx context.Context, t time.Time, load func(context.Context) (T, error)) (T, error) {
	loaded := false
	var v T
	defer func() {
		c.mu.Lock()
		if loaded {
			c.val, c.loadedAt, c.valid = v, t, true
		}
		close(c.loading)
		c.loading = nil
		c.mu.Unlock()
	}()
	v, err := load(ctx)
	loaded = err == nil
	return v, err
}

// forget drops the value, so that the next get loads afresh. A load in
// flight still delivers its value to its waiters.
func (c *cached[T]) forget() {
	c.mu.Lock()
	c.valid = false
	c.mu.Unlock()
}

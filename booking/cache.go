package booking

import (
	"context"
	"errors"
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
	gen      uint64     // counts values dropped by forgetIf; a load started at gen knows of them all
	loading  *flight[T] // the load in flight; nil when none is
}

// flight is one load that callers wait for together.
type flight[T any] struct {
	gen  uint64        // the cache's gen when the load started
	done chan struct{} // closed when the load ends
	val  T
	err  error
}

// get returns the value loaded within ttl of now(), or loads it. A ttl of
// zero or less loads every time. A caller takes the value of a load in
// flight that started after the last forgetIf it knows of, even if the value
// has been forgotten since; otherwise it waits for that load to end and
// shares or starts the next. So each caller waits for two loads at most,
// however often forgetIf drops the value. A failed load is not kept: its waiters,
// and the next caller, try again.
func (c *cached[T]) get(ctx context.Context, now func() time.Time, ttl time.Duration, load func(context.Context) (T, error)) (T, error) {
	if ttl <= 0 {
		return load(ctx)
	}
	c.mu.Lock()
	need := c.gen
	c.mu.Unlock()
	for {
		c.mu.Lock()
		t := now()
		// A clock set back counts as stale too.
		if c.valid && !t.Before(c.loadedAt) && t.Sub(c.loadedAt) < ttl {
			v := c.val
			c.mu.Unlock()
			return v, nil
		}
		if f := c.loading; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
				if f.err == nil && f.gen >= need {
					return f.val, nil
				}
				continue
			case <-ctx.Done():
				var zero T
				return zero, context.Cause(ctx)
			}
		}
		f := &flight[T]{gen: c.gen, done: make(chan struct{})}
		c.loading = f
		c.mu.Unlock()
		return c.fill(ctx, t, f, load)
	}
}

// fill runs the load f that get started at t and lets the waiters go, even
// if load panics. A value forgotten while it loaded is handed to the
// waiters but not kept.
func (c *cached[T]) fill(ctx context.Context, t time.Time, f *flight[T], load func(context.Context) (T, error)) (T, error) {
	f.err = errLoadPanicked
	defer func() {
		c.mu.Lock()
		if f.err == nil && f.gen == c.gen {
			c.val, c.loadedAt, c.valid = f.val, t, true
		}
		close(f.done)
		c.loading = nil
		c.mu.Unlock()
	}()
	f.val, f.err = load(ctx)
	return f.val, f.err
}

// errLoadPanicked stands for the outcome of a load that panicked: its
// waiters try again.
var errLoadPanicked = errors.New("booking: cache load panicked")

// forgetIf drops the value, so that the next get loads afresh, only if
// stale reports that it is out of date (a load in flight still delivers its
// value to its waiters); a value already showing what the caller found is kept, so
// that many callers finding the same thing do not make everyone load again.
func (c *cached[T]) forgetIf(stale func(T) bool) {
	c.mu.Lock()
	if c.valid && stale(c.val) {
		c.valid = false
		c.gen++
	}
	c.mu.Unlock()
}

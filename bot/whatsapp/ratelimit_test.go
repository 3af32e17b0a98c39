package whatsapp

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	b := newBucket(2, 3, clock) // 2 a second, bursts of 3

	type step struct {
		advance  time.Duration
		deadline time.Duration // from now; 0: none
		wait     time.Duration
		err      error
	}
	steps := []step{
		{wait: 0}, {wait: 0}, {wait: 0}, // the burst
		{wait: 500 * time.Millisecond},                             // one token is half a second away
		{wait: time.Second},                                        // the next a second
		{deadline: time.Second, err: errRateLimited},               // would wait 1.5s
		{advance: 1500 * time.Millisecond, wait: 0},                // three tokens came, two were owed
		{advance: 10 * time.Second, wait: 0}, {wait: 0}, {wait: 0}, // refilled to the burst, not beyond
		{wait: 500 * time.Millisecond, deadline: 500 * time.Millisecond}, // a wait that just fits
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		var deadline time.Time
		if s.deadline > 0 {
			deadline = now.Add(s.deadline)
		}
		wait, err := b.reserve(deadline)
		if wait != s.wait || !errors.Is(err, s.err) {
			t.Errorf("step %d: reserve() = %v, %v; want %v, %v", i, wait, err, s.wait, s.err)
		}
	}
}

func TestBucketWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	b := newBucket(0.001, 1, time.Now) // one token, then one in 1000s
	if err := b.wait(context.Background()); err != nil {
		t.Fatalf("first wait() = %v, want nil", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := b.wait(ctx); !errors.Is(err, errRateLimited) {
		t.Errorf("wait() past the deadline = %v, want errRateLimited", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := b.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait() with a cancelled context = %v, want context.Canceled", err)
	}
}

package bot_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

// clock is a settable fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestMemoryCoordinator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &clock{now: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	c := bot.NewMemoryCoordinator(dialog.NewMemoryStore(clk.Now, 0), clk.Now)
	const key = "telegram:1"
	tryBegin := func(id, token string) (*dialog.Session, bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		return c.Begin(ctx, key, id, token, time.Minute)
	}

	s, dup, err := tryBegin("1", "a")
	if err != nil || dup {
		t.Fatalf("Begin = %v, %v", dup, err)
	}
	if _, _, err := tryBegin("2", "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Begin while locked = %v, want %v", err, context.DeadlineExceeded)
	}
	if err := c.Commit(ctx, key, "1", "b", s); !errors.Is(err, bot.ErrLockLost) {
		t.Errorf("Commit by a non-holder = %v, want %v", err, bot.ErrLockLost)
	}
	c.Abort(ctx, key, "b") // not the holder: no effect
	if _, _, err := tryBegin("2", "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Begin after a non-holder's Abort = %v, want %v", err, context.DeadlineExceeded)
	}
	s.State = "menu"
	if err := c.Commit(ctx, key, "1", "a", s); err != nil {
		t.Fatalf("Commit = %v", err)
	}
	if _, dup, err := tryBegin("1", "c"); err != nil || !dup {
		t.Errorf("Begin(committed update) = %v, %v; want a duplicate", dup, err)
	}

	// A crashed holder's lock expires by its TTL; its late Commit fails.
	crashed, _, err := tryBegin("2", "crashed")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	s, dup, err = tryBegin("2", "d")
	if err != nil || dup || s.State != "menu" {
		t.Fatalf("Begin after the lock expired = %+v, %v, %v", s, dup, err)
	}
	if err := c.Commit(ctx, key, "2", "crashed", crashed); !errors.Is(err, bot.ErrLockLost) {
		t.Errorf("late Commit of the crashed holder = %v, want %v", err, bot.ErrLockLost)
	}
	if err := c.Commit(ctx, key, "2", "d", s); err != nil {
		t.Fatal(err)
	}

	// Update ids are forgotten after a day.
	clk.Advance(24 * time.Hour)
	if _, dup, err := tryBegin("1", "e"); err != nil || dup {
		t.Errorf("Begin(update id of yesterday) = %v, %v; want it handled", dup, err)
	}
}

func TestMemoryCoordinatorStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dialog.NewMemoryStore(time.Now, 0)
	c := bot.NewMemoryCoordinator(store, time.Now)
	s, _, err := c.Begin(ctx, "k", "1", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, "k", &dialog.Session{State: "other"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(ctx, "k", "1", "a", s); !errors.Is(err, dialog.ErrStale) {
		t.Fatalf("Commit(stale) = %v, want %v", err, dialog.ErrStale)
	}
	// The lock was released and the update not marked.
	if _, dup, err := c.Begin(ctx, "k", "1", "b", time.Minute); err != nil || dup {
		t.Errorf("Begin after a stale Commit = %v, %v; want the update to run again", dup, err)
	}
}

package bot

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitQueued waits until n tickets wait in key's lane.
func waitQueued(t *testing.T, l *lanes, key string, n int) {
	t.Helper()
	for l.waiting(key) != n {
		time.Sleep(time.Millisecond)
	}
}

// TestLanesFIFO: goroutines that enter a busy lane one after the other get
// their turns in that order, one at a time.
func TestLanesFIFO(t *testing.T) {
	t.Parallel()
	var l lanes
	holder := l.enter("k")
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	var want []int
	for i := range 50 {
		want = append(want, i)
		wg.Go(func() {
			tk := l.enter("k")
			if err := l.wait(context.Background(), tk); err != nil {
				t.Errorf("wait = %v", err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			l.leave("k")
		})
		waitQueued(t, &l, "k", i+1)
	}
	if err := l.wait(context.Background(), holder); err != nil {
		t.Fatal(err)
	}
	l.leave("k")
	wg.Wait()
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("turn order mismatch (-want +got):\n%s", diff)
	}
	if n := len(l.lanes); n != 0 {
		t.Errorf("%d lanes left after every ticket left, want 0", n)
	}
}

// TestLanesGiveUp: a waiter whose context ends leaves the line; the ones
// behind it keep their order.
func TestLanesGiveUp(t *testing.T) {
	t.Parallel()
	var l lanes
	holder := l.enter("k")
	quitter := l.enter("k")
	next := l.enter("k")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.wait(ctx, quitter); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait(cancelled) = %v, want %v", err, context.Canceled)
	}
	if n := l.waiting("k"); n != 1 {
		t.Errorf("waiting after one gave up = %d, want 1", n)
	}
	l.wait(context.Background(), holder)
	l.leave("k")
	if err := l.wait(context.Background(), next); err != nil {
		t.Fatalf("wait(next) = %v", err)
	}
	l.leave("k")
	if n := len(l.lanes); n != 0 {
		t.Errorf("%d lanes left, want 0", n)
	}
}

// TestLanesGiveUpAfterHandover: a waiter given the turn as its context ends
// passes the turn on rather than dropping it.
func TestLanesGiveUpAfterHandover(t *testing.T) {
	t.Parallel()
	var l lanes
	l.enter("k")
	late := l.enter("k")
	next := l.enter("k")
	l.leave("k") // the turn goes to late, which has not looked yet
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// late sees both its turn and its cancelled context; either way next
	// must get the turn.
	if err := l.wait(ctx, late); err == nil {
		l.leave("k")
	}
	done := make(chan error, 1)
	go func() { done <- l.wait(context.Background(), next) }()
	if err := <-done; err != nil {
		t.Fatalf("wait(next) = %v", err)
	}
	l.leave("k")
}

package bot

import (
	"context"
	"sync"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
)

// lanes serialize work per key in arrival order: one holder per key at a
// time, the others waiting first in, first out. A key with no holder and
// no waiter takes no memory.
type lanes struct {
	mu    sync.Mutex
	lanes map[string]*lane
}

type lane struct {
	waiters []chan struct{} // closed when the turn is handed over
}

// ticket is a place in a key's lane, taken by enter. A nil turn means the
// lane was free and the ticket already holds it.
type ticket struct {
	key  string
	turn chan struct{}
}

// enter takes a place in key's lane at once; wait then blocks until it is
// the ticket's turn. Splitting the two lets a caller fix the order
// synchronously and wait elsewhere.
func (l *lanes) enter(key string) ticket {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lanes == nil {
		l.lanes = make(map[string]*lane)
	}
	ln, busy := l.lanes[key]
	if !busy {
		l.lanes[key] = &lane{}
		return ticket{key: key}
	}
	turn := make(chan struct{})
	ln.waiters = append(ln.waiters, turn)
	return ticket{key: key, turn: turn}
}

// wait blocks until t holds its lane, or ctx ends: then t leaves the lane
// (handing the turn on if it had just been given it) and ctx's error is
// returned. After a nil error the caller must call leave.
func (l *lanes) wait(ctx context.Context, t ticket) error {
	if t.turn == nil {
		return nil
	}
	select {
	case <-t.turn:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	select {
	case <-t.turn:
		// Handed over while giving up: pass it on.
		l.mu.Unlock()
		l.leave(t.key)
		return context.Cause(ctx)
	default:
	}
	ln := l.lanes[t.key]
	for i, w := range ln.waiters {
		if w == t.turn {
			ln.waiters = append(ln.waiters[:i], ln.waiters[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	return context.Cause(ctx)
}

// leave ends the holder's turn and hands it to the first waiter.
func (l *lanes) leave(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln := l.lanes[key]
	if len(ln.waiters) == 0 {
		delete(l.lanes, key)
		return
	}
	next := ln.waiters[0]
	ln.waiters = ln.waiters[1:]
	close(next)
}

// waiting returns how many tickets wait in key's lane, for tests.
func (l *lanes) waiting(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ln, ok := l.lanes[key]; ok {
		return len(ln.waiters)
	}
	return 0
}

// Lines runs each booker's jobs one at a time, in the order Go was called,
// and different bookers' in parallel: the ordering half of Router.Go, for a
// Handler that is not a Router (a test's). The zero value is ready.
type Lines struct{ lanes lanes }

// Go runs job in a goroutine once the booker's earlier jobs are done.
func (l *Lines) Go(ctx context.Context, b booking.Booker, job func(ctx context.Context)) error {
	key := dialog.SessionKey(b)
	t := l.lanes.enter(key)
	go func() {
		_ = l.lanes.wait(context.WithoutCancel(ctx), t)
		defer l.lanes.leave(key)
		job(ctx)
	}()
	return nil
}

package bot

import (
	"context"
	"sync"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
)

// Standing is where a booker stands in a conversation, as the router last
// saw their session: it orders the work when the router, or a chat's send
// budget, is the bottleneck.
type Standing int

// Standings, lowest priority first.
const (
	// Newcomer: no flow open (or a session this replica has not seen). A
	// newcomer may be asked to come back when the router is full.
	Newcomer Standing = iota
	// InConversation: a flow is open. The router never refuses the update.
	InConversation
	// PastConsent: a flow is open and the patient's consent given; the
	// booker is a few answers from a booking, and is served first.
	PastConsent
)

// standingOf reads a session.
func standingOf(s *dialog.Session) Standing {
	switch {
	case !s.InFlow():
		return Newcomer
	case s.Answers.ConsentAt.IsZero():
		return InConversation
	}
	return PastConsent
}

// sessionPeeker reads a session without locking it. *redisstore.Store and
// *MemoryCoordinator implement it; the router uses it to tell a booker it
// has not seen from a newcomer before refusing them.
type sessionPeeker interface {
	Load(ctx context.Context, key string) (*dialog.Session, error)
}

// Admission defaults.
const (
	DefaultWorkers  = 64
	DefaultMaxQueue = 1024
)

// NewcomerWait is the longest a newcomer's update waits for a worker
// before the newcomer is asked to come back (at most the timeout): a few
// seconds, not the whole timeout of silence.
const NewcomerWait = 3 * time.Second

// admission bounds the updates the router works on at once (workers) and
// those waiting for a worker (maxQueue, by standing), and decides which
// wait: a newcomer is refused, early, when the queue is full or the update
// could not be finished within the timeout by the recent service times; a
// booker in a conversation is always queued, and served before newcomers,
// those past consent first.
type admission struct {
	now      func() time.Time
	workers  int
	maxQueue int
	timeout  time.Duration

	mu      sync.Mutex
	running int
	queued  int
	queues  [PastConsent + 1][]*waiter
	service time.Duration // moving average of recent service times, 0 before the first
	known   map[string]seen
	sweepAt int // len(known) at which it is swept next
}

// seen is what the router remembers of a booker's session.
type seen struct {
	standing Standing
	lang     string
	at       time.Time
}

// knownFor is how long a booker's standing is remembered after their last
// update: longer than any session lives without one.
const knownFor = 2 * time.Hour

type waiter struct {
	standing Standing
	since    time.Time
	// turn receives true when a worker is the waiter's, false when it is
	// refused.
	turn chan bool
}

func newAdmission(now func() time.Time, workers, maxQueue int, timeout time.Duration) *admission {
	return &admission{now: now, workers: workers, maxQueue: maxQueue, timeout: timeout,
		known: make(map[string]seen), sweepAt: 1024}
}

// lookup returns what is remembered of key.
func (a *admission) lookup(key string) (seen, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.known[key]
	return s, ok
}

// remember notes key's standing after an update.
func (a *admission) remember(key string, st Standing, lang string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.known[key] = seen{standing: st, lang: lang, at: now}
	if len(a.known) < a.sweepAt {
		return
	}
	for k, s := range a.known {
		if now.Sub(s.at) > knownFor {
			delete(a.known, k)
		}
	}
	a.sweepAt = max(1024, 2*len(a.known))
}

// forget drops key's standing.
func (a *admission) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.known, key)
}

// busy reports whether an update would wait for a worker now.
func (a *admission) busy() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running >= a.workers || a.queued > 0
}

// acquire waits for a worker for an update of standing st. It returns
// admitted false when a newcomer is refused, and ctx's error when ctx ends
// first. After admitted true the caller must call release.
func (a *admission) acquire(ctx context.Context, st Standing) (bool, error) {
	a.mu.Lock()
	if a.running < a.workers && a.queued == 0 {
		a.running++
		a.mu.Unlock()
		return true, nil
	}
	if st == Newcomer && (a.queued >= a.maxQueue || !a.inTime(a.queued, 0)) {
		a.mu.Unlock()
		return false, nil
	}
	if a.queued >= a.maxQueue {
		// A booker in a conversation is never refused: the newest
		// newcomer waiting makes room, if there is one.
		a.refuseNewest()
	}
	w := &waiter{standing: st, since: a.now(), turn: make(chan bool, 1)}
	a.queues[st] = append(a.queues[st], w)
	a.queued++
	a.mu.Unlock()

	// A newcomer kept waiting by bookers in a conversation is told so
	// after NewcomerWait rather than left in silence up to the timeout.
	var giveUp <-chan time.Time
	if st == Newcomer {
		t := time.NewTimer(min(NewcomerWait, a.timeout))
		defer t.Stop()
		giveUp = t.C
	}
	var err error
	select {
	case ok := <-w.turn:
		return ok, nil
	case <-ctx.Done():
		err = context.Cause(ctx)
	case <-giveUp:
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case ok := <-w.turn: // given a turn while giving up: pass it on
		if ok {
			a.running--
			a.next()
		}
	default:
		a.remove(w)
	}
	return false, err
}

// release ends a worker's update, which took d, and hands the worker on.
func (a *admission) release(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.service == 0 {
		a.service = d
	} else {
		a.service += (d - a.service) / 8
	}
	a.running--
	a.next()
}

// next gives free workers to the waiters, highest standing first and in
// arrival order; a newcomer who could no longer be served in time is
// refused instead of started. Called with a.mu held.
func (a *admission) next() {
	for a.running < a.workers && a.queued > 0 {
		for st := PastConsent; st >= Newcomer; st-- {
			q := a.queues[st]
			if len(q) == 0 {
				continue
			}
			w := q[0]
			a.queues[st] = q[1:]
			a.queued--
			if st == Newcomer && !a.inTime(0, a.now().Sub(w.since)) {
				w.turn <- false
				break
			}
			a.running++
			w.turn <- true
			break
		}
	}
}

// inTime reports whether an update that has waited waited, with ahead
// updates before it, can be finished within the timeout by the recent
// service times. Called with a.mu held.
func (a *admission) inTime(ahead int, waited time.Duration) bool {
	if a.service == 0 {
		return waited < a.timeout
	}
	turns := time.Duration(1 + ahead/a.workers)
	return waited+turns*a.service <= a.timeout
}

// refuseNewest refuses the newcomer who came last. Called with a.mu held.
func (a *admission) refuseNewest() {
	q := a.queues[Newcomer]
	if len(q) == 0 {
		return
	}
	w := q[len(q)-1]
	a.queues[Newcomer] = q[:len(q)-1]
	a.queued--
	w.turn <- false
}

// remove takes w out of its queue. Called with a.mu held.
func (a *admission) remove(w *waiter) {
	q := a.queues[w.standing]
	for i, x := range q {
		if x == w {
			a.queues[w.standing] = append(q[:i:i], q[i+1:]...)
			a.queued--
			return
		}
	}
}

// Standing returns where b stands in a conversation as this router last
// saw their session: Newcomer for a booker it has not seen. The Telegram
// adapter orders its sends by it when Telegram's budget is the bottleneck.
func (r *Router) Standing(b booking.Booker) Standing {
	s, _ := r.adm.lookup(dialog.SessionKey(b))
	return s.standing
}

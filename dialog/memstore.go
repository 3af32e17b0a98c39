package dialog

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryStore keeps sessions in process: the embedded default for a single
// instance. A session expires after idle time without a Save (sliding);
// loading an expired session that had a flow open returns a new session
// with TimedOut set. Expired sessions are swept as the store is used, so
// memory stays bounded by the bookers active within the idle time (and,
// for a further idle time, a marker of each timed-out flow), and by Run
// when nobody uses it: a session holds a patient's personal data, which
// must not outlive the idle time in a quiet process (the terminal chat's
// one booker, a bot nobody writes to at night). It is safe for concurrent
// use.
type MemoryStore struct {
	now  func() time.Time
	idle time.Duration

	mu        sync.Mutex
	sessions  map[string]memEntry
	timedOut  map[string]time.Time // key → when the marker lapses
	nextSweep time.Time
}

type memEntry struct {
	data    []byte // Session.MarshalBinary: a stored copy shares nothing
	version int64
	inFlow  bool
	expires time.Time
}

// NewMemoryStore returns an empty store with clock now whose sessions
// expire after idle (15 minutes when idle is not positive).
func NewMemoryStore(now func() time.Time, idle time.Duration) *MemoryStore {
	if idle <= 0 {
		idle = 15 * time.Minute
	}
	return &MemoryStore{now: now, idle: idle, sessions: make(map[string]memEntry), timedOut: make(map[string]time.Time)}
}

// Load returns the booker's session, a new one, or a new one with TimedOut
// set when the earlier one expired with a flow open.
func (m *MemoryStore) Load(ctx context.Context, key string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dialog: memory store: load: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweep(now)
	e, ok := m.sessions[key]
	if ok && !now.Before(e.expires) {
		m.expire(key, e)
		ok = false
	}
	if !ok {
		s := &Session{}
		if until, marked := m.timedOut[key]; marked && now.Before(until) {
			s.TimedOut = true // until the next Save
		}
		return s, nil
	}
	s := &Session{}
	if err := s.UnmarshalBinary(e.data); err != nil {
		return nil, fmt.Errorf("dialog: memory store: load: %w", err)
	}
	s.Version = e.version
	return s, nil
}

// Save stores s if the stored version is still s.Version, then increments
// s.Version; otherwise it returns ErrStale. An expired session counts as
// absent (version 0).
func (m *MemoryStore) Save(ctx context.Context, key string, s *Session) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dialog: memory store: save: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var current int64
	if e, ok := m.sessions[key]; ok && now.Before(e.expires) {
		current = e.version
	}
	if current != s.Version {
		return ErrStale
	}
	next := *s
	next.Version = current + 1
	data, err := next.MarshalBinary()
	if err != nil {
		return fmt.Errorf("dialog: memory store: save: %w", err)
	}
	m.sessions[key] = memEntry{data: data, version: next.Version, inFlow: s.InFlow(), expires: now.Add(m.idle)}
	delete(m.timedOut, key)
	s.Version = next.Version
	m.sweep(now)
	return nil
}

// Delete forgets the booker's session.
func (m *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dialog: memory store: delete: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, key)
	delete(m.timedOut, key)
	return nil
}

// Len returns how many sessions and time-out markers the store holds,
// expired ones not yet swept included.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions) + len(m.timedOut)
}

// Run sweeps the expired sessions at every tick until ctx ends, whether or
// not the store is used meanwhile. Its owner gives it a ticker of about a
// minute (time.NewTicker(dialog.SweepEvery).C).
func (m *MemoryStore) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			m.mu.Lock()
			m.nextSweep = time.Time{}
			m.sweep(m.now())
			m.mu.Unlock()
		}
	}
}

// SweepEvery is how often a MemoryStore's owner should tick its Run.
const SweepEvery = time.Minute

// expire drops an expired session, keeping for one more idle time a marker
// that its flow timed out.
func (m *MemoryStore) expire(key string, e memEntry) {
	delete(m.sessions, key)
	if e.inFlow {
		m.timedOut[key] = e.expires.Add(m.idle)
	}
}

// sweep expires every session due, at most once a minute (or once an
// idle time when that is shorter), so that its cost is spread thin.
func (m *MemoryStore) sweep(now time.Time) {
	if now.Before(m.nextSweep) {
		return
	}
	m.nextSweep = now.Add(min(time.Minute, m.idle))
	for key, e := range m.sessions {
		if !now.Before(e.expires) {
			m.expire(key, e)
		}
	}
	for key, until := range m.timedOut {
		if !now.Before(until) {
			delete(m.timedOut, key)
		}
	}
}

package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/clinicbot/clinicbot/dialog"
)

// Coordinator guards each booker's session across the updates of every
// replica that serves the bot: a lock, the set of updates already taken
// into effect, and the session itself.
//
// Implementations: *redisstore.Store (several replicas; Begin and Commit
// are one Redis round trip each) and MemoryCoordinator (one process).
type Coordinator interface {
	// Begin takes the booker's lock with token, waiting while another
	// holder keeps it, until ctx ends. If updateID was committed before
	// (within a day) it releases the lock and returns duplicate true;
	// otherwise it returns the booker's session (see
	// dialog.SessionStore.Load), and the caller must end with Commit or
	// Abort within lockTTL. An empty updateID is never a duplicate.
	Begin(ctx context.Context, key, updateID, token string, lockTTL time.Duration) (s *dialog.Session, duplicate bool, err error)
	// Commit stores s by compare-and-set on its version, marks updateID as
	// taken into effect and releases the lock, all or nothing. It fails,
	// storing nothing, when token no longer holds the lock or the version
	// moved (dialog.ErrStale).
	Commit(ctx context.Context, key, updateID, token string, s *dialog.Session) error
	// Abort releases the lock if token still holds it, storing nothing.
	Abort(ctx context.Context, key, token string) error
	// Delete forgets the booker's session.
	Delete(ctx context.Context, key string) error
}

// ErrLockLost is returned by MemoryCoordinator.Commit when the caller's lock
// expired or was never held.
var ErrLockLost = errors.New("bot: session lock lost")

// MemoryCoordinator is the in-process Coordinator of the embedded default,
// over a session store such as dialog.MemoryStore: a lock table with
// expiry and a set of committed update ids kept for DedupeTTL. It is safe
// for concurrent use; state is lost with the process.
type MemoryCoordinator struct {
	store dialog.SessionStore
	now   func() time.Time
	// dedupeTTL is how long a committed update id is remembered.
	dedupeTTL time.Duration

	mu        sync.Mutex
	locks     map[string]memLock
	seen      map[string]time.Time // key + "\x00" + update id → when forgotten
	nextSweep time.Time
}

type memLock struct {
	token string
	until time.Time
}

// NewMemoryCoordinator returns a MemoryCoordinator over store with clock
// now (time.Now when nil); update ids are remembered for 24 hours.
func NewMemoryCoordinator(store dialog.SessionStore, now func() time.Time) *MemoryCoordinator {
	if now == nil {
		now = time.Now
	}
	return &MemoryCoordinator{
		store:     store,
		now:       now,
		dedupeTTL: 24 * time.Hour,
		locks:     make(map[string]memLock),
		seen:      make(map[string]time.Time),
	}
}

// Begin implements Coordinator.
func (c *MemoryCoordinator) Begin(ctx context.Context, key, updateID, token string, lockTTL time.Duration) (*dialog.Session, bool, error) {
	backoff := time.Millisecond
	for {
		acquired, duplicate := c.tryLock(key, updateID, token, lockTTL)
		if duplicate {
			return nil, true, nil
		}
		if acquired {
			s, err := c.store.Load(ctx, key)
			if err != nil {
				c.unlock(key, token)
				return nil, false, fmt.Errorf("bot: begin: %w", err)
			}
			return s, false, nil
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, fmt.Errorf("bot: begin: waiting for the lock: %w", context.Cause(ctx))
		case <-t.C:
		}
		backoff = min(backoff*2, 50*time.Millisecond)
	}
}

func (c *MemoryCoordinator) tryLock(key, updateID, token string, ttl time.Duration) (acquired, duplicate bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if l, ok := c.locks[key]; ok && now.Before(l.until) {
		return false, false
	}
	if updateID != "" {
		if until, ok := c.seen[key+"\x00"+updateID]; ok && now.Before(until) {
			return false, true
		}
	}
	c.locks[key] = memLock{token: token, until: now.Add(ttl)}
	return true, false
}

// holds reports whether token holds key's lock now.
func (c *MemoryCoordinator) holds(key, token string) bool {
	l, ok := c.locks[key]
	return ok && l.token == token && c.now().Before(l.until)
}

// Commit implements Coordinator. The session is saved outside the table's
// mutex: the lock, not the mutex, keeps other updates of the booker away.
func (c *MemoryCoordinator) Commit(ctx context.Context, key, updateID, token string, s *dialog.Session) error {
	c.mu.Lock()
	held := c.holds(key, token)
	c.mu.Unlock()
	if !held {
		return ErrLockLost
	}
	if err := c.store.Save(ctx, key, s); err != nil {
		c.unlock(key, token)
		return fmt.Errorf("bot: commit: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if updateID != "" {
		c.seen[key+"\x00"+updateID] = now.Add(c.dedupeTTL)
	}
	if l, ok := c.locks[key]; ok && l.token == token {
		delete(c.locks, key)
	}
	c.sweep(now)
	return nil
}

// Abort implements Coordinator.
func (c *MemoryCoordinator) Abort(ctx context.Context, key, token string) error {
	c.unlock(key, token)
	return nil
}

// Load reads the booker's session without taking the lock, as the router
// does to learn where a booker stands before queueing their update.
func (c *MemoryCoordinator) Load(ctx context.Context, key string) (*dialog.Session, error) {
	s, err := c.store.Load(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("bot: load session: %w", err)
	}
	return s, nil
}

// Delete implements Coordinator.
func (c *MemoryCoordinator) Delete(ctx context.Context, key string) error {
	if err := c.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("bot: delete session: %w", err)
	}
	return nil
}

func (c *MemoryCoordinator) unlock(key, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.locks[key]; ok && l.token == token {
		delete(c.locks, key)
	}
}

// sweep forgets expired update ids and locks, at most once a minute.
func (c *MemoryCoordinator) sweep(now time.Time) {
	if now.Before(c.nextSweep) {
		return
	}
	c.nextSweep = now.Add(time.Minute)
	for k, until := range c.seen {
		if !now.Before(until) {
			delete(c.seen, k)
		}
	}
	for k, l := range c.locks {
		if !now.Before(l.until) {
			delete(c.locks, k)
		}
	}
}

package whatsapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLeaseLost is returned by Lease.Renew when the lease expired or another
// contender holds it now.
var ErrLeaseLost = errors.New("whatsapp: lease lost")

// Lease is the right to hold the one WhatsApp connection a linked device
// allows. Replicas share the lease; each Lease value is one contender, so two
// values never both hold it.
type Lease interface {
	// TryAcquire takes the lease if no other contender holds it and reports
	// whether this contender holds it now. It does not wait.
	TryAcquire(ctx context.Context) (bool, error)
	// Renew extends a held lease, or returns ErrLeaseLost.
	Renew(ctx context.Context) error
	// Release gives the lease up if this contender holds it.
	Release(ctx context.Context) error
}

// RedisLease is a Lease kept in Redis under one key: SET NX PX with a random
// token, renewed and released only by the token's owner, so a contender whose
// lease expired can never extend or delete another's.
type RedisLease struct {
	rdb   redis.UniversalClient
	key   string
	ttl   time.Duration
	token string
}

// NewRedisLease returns a contender for the lease stored at key. A held
// lease expires ttl after its last renewal, so a crashed holder frees it.
func NewRedisLease(rdb redis.UniversalClient, key string, ttl time.Duration) *RedisLease {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return &RedisLease{rdb: rdb, key: key, ttl: ttl, token: hex.EncodeToString(b[:])}
}

// Both scripts act only while the key still holds this contender's token.
var (
	renewScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)
)

// TryAcquire implements Lease.
func (l *RedisLease) TryAcquire(ctx context.Context) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, l.key, l.token, l.ttl).Result()
	if err != nil {
		return false, fmt.Errorf("whatsapp: acquire redis lease: %w", err)
	}
	if ok {
		return true, nil
	}
	// A restarted process gets a new token, so only this value's own earlier
	// acquisition can match here: treat it as held and extend it.
	if err := l.Renew(ctx); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Renew implements Lease.
func (l *RedisLease) Renew(ctx context.Context) error {
	n, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("whatsapp: renew redis lease: %w", err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Release implements Lease.
func (l *RedisLease) Release(ctx context.Context) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("whatsapp: release redis lease: %w", err)
	}
	return nil
}

// LocalLock is the lease of a single process, the embedded default: the
// contenders it hands out exclude each other within the process.
type LocalLock struct {
	mu     sync.Mutex
	holder *localLease
}

// NewLocalLock returns a free in-process lock.
func NewLocalLock() *LocalLock { return &LocalLock{} }

// Lease returns a new contender for the lock.
func (l *LocalLock) Lease() Lease { return &localLease{lock: l} }

type localLease struct{ lock *LocalLock }

func (c *localLease) TryAcquire(context.Context) (bool, error) {
	c.lock.mu.Lock()
	defer c.lock.mu.Unlock()
	if c.lock.holder == nil {
		c.lock.holder = c
	}
	return c.lock.holder == c, nil
}

func (c *localLease) Renew(context.Context) error {
	c.lock.mu.Lock()
	defer c.lock.mu.Unlock()
	if c.lock.holder != c {
		return ErrLeaseLost
	}
	return nil
}

func (c *localLease) Release(context.Context) error {
	c.lock.mu.Lock()
	defer c.lock.mu.Unlock()
	if c.lock.holder == c {
		c.lock.holder = nil
	}
	return nil
}

package whatsapp

import (
	"context"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/internal/testenv"
)

// redisKey returns a Redis client and a key unique to the test, deleted at
// the end.
func redisKey(t *testing.T) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatalf("redis.ParseURL: %v", err)
	}
	rdb := redis.NewClient(opt)
	key := "clinicbot-test:whatsapp-lease:" + rand.Text()
	t.Cleanup(func() {
		rdb.Del(context.Background(), key)
		rdb.Close()
	})
	return rdb, key
}

// exerciseLease checks the contract of Lease with two contenders of one
// lease. expire, if not nil, makes the held lease expire.
func exerciseLease(t *testing.T, a, b Lease, expire func()) {
	t.Helper()
	ctx := context.Background()
	try := func(name string, l Lease, want bool) {
		t.Helper()
		got, err := l.TryAcquire(ctx)
		if err != nil || got != want {
			t.Fatalf("%s.TryAcquire() = %v, %v; want %v, nil", name, got, err, want)
		}
	}
	try("a", a, true)
	try("a", a, true) // holding it already
	try("b", b, false)
	if err := a.Renew(ctx); err != nil {
		t.Fatalf("a.Renew() = %v, want nil", err)
	}
	if err := b.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("b.Renew() = %v, want ErrLeaseLost", err)
	}
	if err := b.Release(ctx); err != nil { // not b's to release
		t.Fatalf("b.Release() = %v, want nil", err)
	}
	try("b", b, false)
	if err := a.Release(ctx); err != nil {
		t.Fatalf("a.Release() = %v, want nil", err)
	}
	try("b", b, true)
	if err := a.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a.Renew() after b took it = %v, want ErrLeaseLost", err)
	}
	if expire != nil {
		expire()
		if err := b.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("b.Renew() after expiry = %v, want ErrLeaseLost", err)
		}
		try("a", a, true)
	}
}

func TestLocalLease(t *testing.T) {
	t.Parallel()
	l := NewLocalLock()
	exerciseLease(t, l.Lease(), l.Lease(), nil)
}

func TestRedisLease(t *testing.T) {
	t.Parallel()
	rdb, key := redisKey(t)
	a := NewRedisLease(rdb, key, time.Minute)
	b := NewRedisLease(rdb, key, time.Minute)
	exerciseLease(t, a, b, func() { rdb.Del(context.Background(), key) })

	ttl, err := rdb.PTTL(context.Background(), key).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("PTTL(lease) = %v, %v; want a TTL of at most a minute", ttl, err)
	}
}

// countingLease counts acquisition attempts.
type countingLease struct {
	Lease
	tries atomic.Int64
	tried chan struct{}
}

func (c *countingLease) TryAcquire(ctx context.Context) (bool, error) {
	ok, err := c.Lease.TryAcquire(ctx)
	c.tries.Add(1)
	select {
	case c.tried <- struct{}{}:
	default:
	}
	return ok, err
}

// TestOneConnection: of two adapters sharing a lease, only the holder
// connects; the other connects once the holder stops.
func TestOneConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		leases func(t *testing.T) (Lease, Lease)
	}{
		{"local", func(t *testing.T) (Lease, Lease) {
			l := NewLocalLock()
			return l.Lease(), l.Lease()
		}},
		{"redis", func(t *testing.T) (Lease, Lease) {
			rdb, key := redisKey(t)
			return NewRedisLease(rdb, key, 30*time.Second), NewRedisLease(rdb, key, 30*time.Second)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			la, lb := tt.leases(t)
			first := newHarness(t, &recordingHandler{}, Options{Lease: la})

			second := newFakeClient()
			counted := &countingLease{Lease: lb, tried: make(chan struct{}, 1)}
			b := New(second, Options{Handler: &recordingHandler{}, Lease: counted, LeaseRetry: time.Millisecond, Log: discardLog()})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- b.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("second Run = %v, want nil", err)
				}
			}()
			for counted.tries.Load() < 5 {
				<-counted.tried
			}
			if connects, _ := second.counts(); connects != 0 {
				t.Fatalf("second adapter connected %d times while the first held the lease", connects)
			}

			if err := first.stop(); err != nil {
				t.Fatalf("first Run = %v, want nil", err)
			}
			select {
			case <-second.connectedCh:
			case <-time.After(10 * time.Second):
				t.Fatal("second adapter did not connect after the first released the lease")
			}
		})
	}
}

package bot_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/booking/bookingtest"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
)

// hungRedis listens on 127.0.0.1, accepts connections and never answers:
// a Redis that hangs rather than refuses.
func hungRedis(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				io.Copy(io.Discard, conn)
				conn.Close()
			})
		}
	})
	return "redis://" + ln.Addr().String() + "/0"
}

// hungRouter is a router whose Redis hangs; closing the client ends the
// hung connections.
func hungRouter(tb testing.TB) *bot.Router {
	tb.Helper()
	o, err := redisstore.ClientOptions(hungRedis(tb))
	if err != nil {
		tb.Fatal(err)
	}
	client := redis.NewClient(o)
	tb.Cleanup(func() { client.Close() })
	store := redisstore.New(client, redisstore.Options{Sealer: bookingtest.NewProtector(tb)})
	return bot.NewRouter(newFakeEngine(tb), store, bot.Options{Apology: testApology})
}

func TestRouterRedisHung(t *testing.T) {
	t.Parallel()
	r := hungRouter(t)
	res, err := r.Handle(context.Background(), update(booker("1"), "1", "hello"))
	if err != nil {
		t.Fatalf("Handle = %v, want an answer", err)
	}
	if diff := cmp.Diff([]string{bot.KeyUnavailable}, keys(res)); diff != "" {
		t.Errorf("keys mismatch (-want +got):\n%s", diff)
	}
}

// BenchmarkRouterRedisHung is how long a booker waits for "try again" when
// Redis hangs, with the timeouts of redisstore.ClientOptions.
func BenchmarkRouterRedisHung(b *testing.B) {
	r := hungRouter(b)
	for i := 0; b.Loop(); i++ {
		r.Handle(context.Background(), update(booker("1"), "1", "hello"))
	}
}

// BenchmarkRouterRedisRefused is the same for a Redis that refuses
// connections (the process is down).
func BenchmarkRouterRedisRefused(b *testing.B) {
	o, err := redisstore.ClientOptions("redis://127.0.0.1:1/0")
	if err != nil {
		b.Fatal(err)
	}
	client := redis.NewClient(o)
	b.Cleanup(func() { client.Close() })
	store := redisstore.New(client, redisstore.Options{Sealer: bookingtest.NewProtector(b)})
	r := bot.NewRouter(newFakeEngine(b), store, bot.Options{Apology: testApology})
	for i := 0; b.Loop(); i++ {
		r.Handle(context.Background(), update(booker("1"), "1", "hello"))
	}
}

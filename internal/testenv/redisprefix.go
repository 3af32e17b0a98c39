package testenv

import (
	"context"
	"crypto/rand"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisPrefix returns a key prefix of the test's own in the test Redis,
// "clinicbot-test:<test name>:<random>:", and registers a tb.Cleanup that
// deletes every key under it, by SCAN and DEL on a client of its own. It
// skips (fails in CI) as RedisURL does.
//
// Cleanups run last registered first, so a client the caller opens after
// calling RedisPrefix, and closes in a tb.Cleanup of its own, is closed
// before the keys are deleted.
func RedisPrefix(tb testing.TB) string {
	tb.Helper()
	raw := RedisURL(tb)
	opts, err := redis.ParseURL(raw)
	if err != nil {
		tb.Fatalf("%s: %v", RedisVar, err)
	}
	prefix := "clinicbot-test:" + tb.Name() + ":" + rand.Text()[:8] + ":"
	tb.Cleanup(func() {
		ctx := context.WithoutCancel(tb.Context())
		client := redis.NewClient(opts)
		defer client.Close()
		iter := client.Scan(ctx, 0, globEscaper.Replace(prefix)+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("scan %s*: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				tb.Errorf("delete %d keys under %s: %v", len(keys), prefix, err)
			}
		}
	})
	return prefix
}

// globEscaper quotes the characters special to a Redis MATCH pattern, which
// a test's name may hold.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)

// RoundTrips is a go-redis hook that counts the requests a client sends:
// one per command, one per pipeline (a Lua script is one command). Add it
// with client.AddHook and read N.
type RoundTrips struct{ n atomic.Int64 }

// N returns how many requests were sent so far.
func (r *RoundTrips) N() int64 { return r.n.Load() }

// DialHook passes dials through uncounted.
func (r *RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts one command.
func (r *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts a whole pipeline as one.
func (r *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

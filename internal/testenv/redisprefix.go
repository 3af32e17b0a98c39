package testenv

import (
	"context"
	"crypto/rand"
	"strings"
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

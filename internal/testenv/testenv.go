// Package testenv finds the services that integration tests talk to.
//
// Tests reach PostgreSQL and Redis through environment variables. Locally a
// missing service skips the test with a message saying how to provide it; in
// CI, CLINICBOT_TEST_REQUIRE_SERVICES=1 turns that skip into a failure, so a
// service that silently went missing cannot turn CI green.
package testenv

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// Environment variables read by this package.
const (
	PostgresVar = "CLINICBOT_TEST_POSTGRES_URL" // e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable
	RedisVar    = "CLINICBOT_TEST_REDIS_URL"    // e.g. redis://127.0.0.1:6379/0
	RequireVar  = "CLINICBOT_TEST_REQUIRE_SERVICES"
)

// PostgresURL returns the URL of the test PostgreSQL, or skips (fails in CI)
// when it is not set or not reachable.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	return serviceURL(tb, PostgresVar, "5432")
}

// RedisURL returns the URL of the test Redis, or skips (fails in CI) when it
// is not set or not reachable.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	return serviceURL(tb, RedisVar, "6379")
}

// Required reports whether a missing service must fail the test.
func Required() bool { return os.Getenv(RequireVar) == "1" }

func serviceURL(tb testing.TB, name, defaultPort string) string {
	tb.Helper()
	raw := os.Getenv(name)
	if raw == "" {
		unavailable(tb, name+" is not set; set it to run this test against a real service")
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		tb.Fatalf("%s=%q is not a URL with a host", name, raw)
	}
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		unavailable(tb, name+": cannot reach "+u.Host+": "+err.Error())
		return ""
	}
	conn.Close()
	return raw
}

func unavailable(tb testing.TB, msg string) {
	tb.Helper()
	if Required() {
		tb.Fatalf("%s (%s=1: services are required)", msg, RequireVar)
	}
	tb.Skip(msg)
}

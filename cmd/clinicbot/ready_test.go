package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/internal/config"
	"github.com/clinicbot/clinicbot/internal/health"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// TestReadyz: /readyz fails while PostgreSQL or Redis is unreachable and
// recovers once it is back, through the checks serve builds.
func TestReadyz(t *testing.T) {
	t.Parallel()
	pg := testenv.NewProxy(t, testenv.PostgresSchema(t), "5432")
	rd := testenv.NewProxy(t, testenv.RedisURL(t), "6379")
	cfg, err := config.Load([]string{
		"DATABASE_URL=" + pg.URL(),
		"REDIS_URL=" + rd.URL(),
		"CLINICBOT_DATA_KEY=" + strings.Repeat("ab", 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cfg: cfg, log: slog.New(slog.DiscardHandler), now: time.Now}
	c, err := e.openCore(t.Context(), nil)
	if err != nil {
		t.Fatalf("openCore: %v", err)
	}
	defer c.Close()
	if err := c.openRedis(t.Context(), cfg.RedisURL.Reveal(), e.log); err != nil {
		t.Fatalf("openRedis: %v", err)
	}
	srv := httptest.NewServer(&health.Checker{Checks: c.checks(), Timeout: time.Second})
	defer srv.Close()

	get := func() (int, string) {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatalf("GET /readyz: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// eventually polls until /readyz answers want; a pool may need a
	// request or two to drop connections cut under it.
	eventually := func(want int, wantBody string) {
		t.Helper()
		var code int
		var body string
		for range 100 {
			if code, body = get(); code == want && strings.Contains(body, wantBody) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("/readyz = %d %q, want %d %q", code, body, want, wantBody)
	}

	if code, body := get(); code != http.StatusOK {
		t.Fatalf("/readyz = %d %q with both up, want 200", code, body)
	}
	for _, tt := range []struct {
		name  string
		proxy *testenv.Proxy
		check string
	}{
		{"postgres", pg, "store"},
		{"redis", rd, "redis"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.proxy.Down()
			eventually(http.StatusServiceUnavailable, tt.check)
			tt.proxy.Up()
			eventually(http.StatusOK, "ok")
		})
	}
	var ce *health.CheckError
	if err := (&health.Checker{Checks: c.checks()}).Ready(t.Context()); errors.As(err, &ce) {
		t.Errorf("Ready after recovery = %v", err)
	}
}

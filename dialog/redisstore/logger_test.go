package redisstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/clinicbot/clinicbot/dialog/redisstore"
)

func TestClientLoggerWarns(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := redisstore.ClientLogger{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %s", 1, "refused")
	got := buf.String()
	for _, want := range []string{"level=WARN", `msg="redis client"`, "failed to dial after 1 attempts: refused"} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %q lacks %q", got, want)
		}
	}
}

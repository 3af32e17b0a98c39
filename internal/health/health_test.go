package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestChecker(t *testing.T) {
	t.Parallel()
	ok := Check{Name: "ok", Func: func(context.Context) error { return nil }}
	down := Check{Name: "store", Func: func(context.Context) error { return errors.New("connection refused") }}
	hang := Check{Name: "redis", Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	tests := []struct {
		name       string
		checks     []Check
		wantFailed []string
		wantCode   int
	}{
		{"all_up", []Check{ok, ok}, nil, http.StatusOK},
		{"none", nil, nil, http.StatusOK},
		{"one_down", []Check{ok, down}, []string{"store"}, http.StatusServiceUnavailable},
		{"hanging_times_out", []Check{hang, ok, down}, []string{"redis", "store"}, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Checker{Checks: tt.checks, Timeout: 50 * time.Millisecond}
			err := c.Ready(context.Background())
			var ce *CheckError
			var failed []string
			if errors.As(err, &ce) {
				failed = ce.Failed
			} else if err != nil {
				t.Fatalf("Ready = %v (%T), want nil or *CheckError", err, err)
			}
			if diff := cmp.Diff(tt.wantFailed, failed); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s", diff)
			}
			if len(tt.wantFailed) > 0 && tt.checks[0].Name == "redis" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Ready = %v, want it to wrap context.DeadlineExceeded", err)
			}

			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.wantCode {
				t.Errorf("ServeHTTP code = %d, want %d", rec.Code, tt.wantCode)
			}
			for _, name := range tt.wantFailed {
				if !strings.Contains(rec.Body.String(), name) {
					t.Errorf("body %q does not name %s", rec.Body.String(), name)
				}
			}
			if strings.Contains(rec.Body.String(), "connection refused") {
				t.Errorf("body %q shows an error's detail", rec.Body.String())
			}
		})
	}
}

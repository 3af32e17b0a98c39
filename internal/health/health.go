// Package health answers liveness (/healthz) and readiness (/readyz) probes.
// Readiness runs every dependency check at once under a short deadline, so a
// replica whose PostgreSQL or Redis is unreachable leaves the load balancer
// quickly and comes back as soon as they answer again.
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Check is one dependency check, such as a store's Ping or Redis PING.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Checker runs the readiness checks.
type Checker struct {
	Checks  []Check
	Timeout time.Duration // per probe; 0 means 2 seconds
	Logger  *slog.Logger
}

// CheckError names the checks that failed.
type CheckError struct {
	Failed []string
	Err    error // the failures, joined
}

func (e *CheckError) Error() string {
	return "health: not ready: " + strings.Join(e.Failed, ", ") + ": " + e.Err.Error()
}

func (e *CheckError) Unwrap() error { return e.Err }

// Ready runs every check concurrently and returns a *CheckError naming
// those that failed or did not answer in time.
func (c *Checker) Ready(ctx context.Context) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(c.Checks))
	var wg sync.WaitGroup
	for i, ch := range c.Checks {
		wg.Go(func() {
			if err := ch.Func(ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", ch.Name, err)
			}
		})
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, c.Checks[i].Name)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &CheckError{Failed: failed, Err: errors.Join(errs...)}
}

// ServeHTTP answers /readyz: 200 "ok", or 503 with the names of the failed
// checks (the errors themselves go to the log only).
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := c.Ready(r.Context())
	var ce *CheckError
	switch {
	case err == nil:
		fmt.Fprintln(w, "ok")
	case errors.As(err, &ce):
		if c.Logger != nil {
			c.Logger.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.Any("failed", ce.Failed), slog.String("error", ce.Err.Error()))
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unavailable: "+strings.Join(ce.Failed, ", "))
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unavailable")
	}
}

// Live answers /healthz: the process is up and serving HTTP.
func Live(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

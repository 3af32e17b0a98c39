package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// recorder collects every update's latency and the time of the latest
// update answered without an apology.
type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	failed int
	lastOK atomic.Int64 // unix nanoseconds
}

func (r *recorder) observe(d time.Duration, ok bool, at time.Time) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	if !ok {
		r.failed++
	}
	r.mu.Unlock()
	if ok {
		r.lastOK.Store(at.UnixNano())
	}
}

// percentiles returns the p50, p95, p99 and maximum latency.
func (r *recorder) percentiles() (p50, p95, p99, maxd time.Duration) {
	r.mu.Lock()
	lat := slices.Clone(r.lat)
	r.mu.Unlock()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	return at(0.50), at(0.95), at(0.99), lat[len(lat)-1]
}

func (r *recorder) count() (n, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lat), r.failed
}

// firstOKAfter waits (at most limit) for an update answered without an
// apology after t and returns how long after t it came.
func (r *recorder) firstOKAfter(ctx context.Context, t time.Time, limit time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if last := r.lastOK.Load(); last > t.UnixNano() {
			return time.Duration(last - t.UnixNano()), true
		}
		time.Sleep(time.Millisecond)
	}
	return 0, false
}

// pacer spaces updates out to a target rate, open loop: update k is due at
// start + k/rate whether or not earlier ones were answered, and its latency
// counts from when it was due, so a slow answer cannot hide the queue
// behind it.
type pacer struct {
	start    time.Time
	interval time.Duration
	n        atomic.Int64
}

func newPacer(rate float64) *pacer {
	return &pacer{start: time.Now(), interval: time.Duration(float64(time.Second) / rate)}
}

func (p *pacer) pause(ctx context.Context) (time.Time, error) {
	due := p.start.Add(time.Duration(p.n.Add(1)-1) * p.interval)
	if d := time.Until(due); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return due, ctx.Err()
		}
	}
	return due, nil
}

// report prints figures as aligned "name value" lines.
type report struct {
	w    io.Writer
	fail bool
}

func (r *report) figure(name string, format string, args ...any) {
	fmt.Fprintf(r.w, "  %-42s %s\n", name, fmt.Sprintf(format, args...))
}

func (r *report) section(title string) { fmt.Fprintf(r.w, "%s\n", title) }

// check prints PASS or FAIL for an invariant.
func (r *report) check(name string, ok bool, format string, args ...any) {
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
		r.fail = true
	}
	fmt.Fprintf(r.w, "  %s  %-40s %s\n", verdict, name, fmt.Sprintf(format, args...))
}

// loadAverage returns /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// memFigures reads the process's heap in use and memory from the OS.
func memFigures() (heapInuse, sys uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.Sys
}

// mallocs is how many heap objects the process has allocated so far.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// poolFigure reports how long the run waited for a PostgreSQL connection
// from the pool.
func poolFigure(rep *report, s *services) {
	st := s.pool.Stat()
	var mean time.Duration
	if n := st.EmptyAcquireCount(); n > 0 {
		mean = st.EmptyAcquireWaitTime() / time.Duration(n)
	}
	rep.figure("PostgreSQL pool: acquires, of which waited (mean wait)", "%d, %d (%s), %d cancelled; max %d connections",
		st.AcquireCount(), st.EmptyAcquireCount(), ms(mean), st.CanceledAcquireCount(), st.MaxConns())
}

// quantiles formats the p50, p95 and p99 of ds.
func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	r := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("%s / %s / %s", r(at(0.50)), r(at(0.95)), r(at(0.99)))
}

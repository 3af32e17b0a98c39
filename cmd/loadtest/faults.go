package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// keyVar carries the data key to the worker (not on its command line,
// where ps would show it).
const keyVar = "CLINICBOT_LOAD_KEY"

// runWorker is the bot process of -mode=faults: the router over the run's
// schema and key prefix, serving updates on loopback until it is stopped
// (or killed).
func runWorker(ctx context.Context, c config, stdout io.Writer, log *slog.Logger) error {
	key, err := hex.DecodeString(os.Getenv(keyVar))
	if err != nil || len(key) == 0 {
		return fmt.Errorf("worker: %s is not a hex key", keyVar)
	}
	if !strings.HasPrefix(c.schema, "load_") || !strings.HasPrefix(c.prefix, "clinicbot-load-") {
		return errors.New("worker: -schema and -prefix must be a load run's")
	}
	host, _, err := net.SplitHostPort(c.listen)
	if err != nil || host != "127.0.0.1" {
		return fmt.Errorf("worker: -listen=%q: must be on 127.0.0.1", c.listen)
	}
	s := &services{pgURL: c.pgURL, redisURL: c.redisURL, schema: c.schema, prefix: c.prefix, key: key}
	if err := s.open(ctx); err != nil {
		return err
	}
	defer s.close()
	router, err := s.router(log, nil)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: workerHandler(router), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "listening %s\n", l.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	router.Close()
	router.Wait()
	return nil
}

// worker is the child process running the bot.
type worker struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

// startWorker starts this program as the bot process and waits until it
// serves.
func startWorker(ctx context.Context, c config, s *services, keyHex string, stderr io.Writer) (*worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-role=worker", "-schema=" + s.schema, "-prefix=" + s.prefix,
		"-postgres=" + c.pgURL, "-redis=" + c.redisURL, "-listen=127.0.0.1:0"}
	if c.verbose {
		args = append(args, "-v")
	}
	cmd := exec.Command(filepath.Clean(exe), args...)
	cmd.Env = append(os.Environ(), keyVar+"="+keyHex)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(w.done) }()
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "listening ")
		if !ok || !found {
			w.kill()
			return nil, errors.New("worker: did not start")
		}
		w.addr = addr
	case <-time.After(30 * time.Second):
		w.kill()
		return nil, errors.New("worker: not serving after 30s")
	case <-ctx.Done():
		w.kill()
		return nil, ctx.Err()
	}
	return w, nil
}

// kill ends the worker with SIGKILL: no shutdown, no cleanup.
func (w *worker) kill() {
	w.cmd.Process.Kill()
	<-w.done
}

// stop asks the worker to finish its updates and leave.
func (w *worker) stop() {
	w.cmd.Process.Signal(os.Interrupt)
	select {
	case <-w.done:
	case <-time.After(15 * time.Second):
		w.kill()
	}
}

func faults(ctx context.Context, c config, s *services, keyHex string, rep *report, stderr io.Writer) error {
	var drills []string
	for _, d := range strings.Split(c.drills, ",") {
		if d != "" {
			drills = append(drills, d)
		}
	}
	if slices.Contains(drills, "redis") || slices.Contains(drills, "postgres") {
		if err := quiet(ctx, stderr); err != nil {
			return err
		}
	}
	wc := &workerConn{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}
	var mu sync.Mutex
	w, err := startWorker(ctx, c, s, keyHex, stderr)
	if err != nil {
		return err
	}
	wc.addr.Store(&w.addr)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		w.stop()
	}()

	f := &fleet{rec: &recorder{}, goals: func(int) []goal { return []goal{goalBook} }, conn: wc}
	if c.rate > 0 {
		f.pace = newPacer(c.rate)
	}
	runDone := make(chan error, 1)
	start := time.Now()
	go func() { runDone <- f.runPool(ctx, 0, c.bookers, c.concurrency) }()

	type recovery struct {
		name  string
		down  time.Duration
		first time.Duration
		ok    bool
		err   error
	}
	var recs []recovery
	for _, name := range drills {
		// Let the load settle between drills.
		select {
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
		t0 := time.Now()
		var err error
		switch name {
		case "kill":
			mu.Lock()
			w.kill()
			wc.addr.Store(nil)
			var nw *worker
			nw, err = startWorker(ctx, c, s, keyHex, stderr)
			if err == nil {
				w = nw
				wc.addr.Store(&w.addr)
			}
			mu.Unlock()
		case "redis":
			err = restartRedis(ctx)
		case "postgres":
			err = restartPostgres(ctx)
		}
		back := time.Now()
		first, ok := f.rec.firstOKAfter(ctx, back, 60*time.Second)
		recs = append(recs, recovery{name: name, down: back.Sub(t0), first: first, ok: ok, err: err})
		if err != nil {
			return fmt.Errorf("drill %s: %w", name, err)
		}
	}
	if err := <-runDone; err != nil {
		return err
	}
	elapsed := time.Since(start)
	t := f.tally(0)
	n, failed := f.rec.count()
	p50, p95, p99, maxd := f.rec.percentiles()
	rep.section("figures")
	rep.figure("duration", "%v", elapsed.Round(time.Millisecond))
	rep.figure("updates (answered, of which apologies)", "%d (%d)", n, failed)
	rep.figure("latency per update p50 / p95 / p99 / max", "%s / %s / %s / %s", ms(p50), ms(p95), ms(p99), ms(maxd))
	rep.figure("bookers", "%s", t)
	for _, r := range recs {
		rep.figure("drill "+r.name+": restart took", "%v", r.down.Round(time.Millisecond))
		if r.ok {
			rep.figure("drill "+r.name+": recovery", "%v (service back to first successful update)", r.first.Round(time.Millisecond))
		} else {
			rep.figure("drill "+r.name+": recovery", "no successful update within 60s")
		}
	}
	rep.section("invariants")
	for _, r := range recs {
		rep.check("recovered after "+r.name, r.ok, "%v", r.first.Round(time.Millisecond))
	}
	rep.check("every booker completed or was told to try again", t.byOutcome[outStuck] == 0, "%s", t)
	rep.check("every booker who completed was booked", t.booked >= t.byOutcome[outDone], "booked=%d done=%d", t.booked, t.byOutcome[outDone])
	return storeChecks(ctx, s, rep, t.accepted, -1)
}

// quiet waits (up to five minutes) until no other test run is active on
// the machine, since restarting PostgreSQL or Redis would fail it.
func quiet(ctx context.Context, stderr io.Writer) error {
	for range 300 {
		out, _ := exec.CommandContext(ctx, "pgrep", "-fa", `go test|\.test( |$)`).Output()
		var others []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line != "" && !strings.Contains(line, "loadtest") {
				others = append(others, line)
			}
		}
		if len(others) == 0 {
			return nil
		}
		fmt.Fprintf(stderr, "loadtest: waiting for %d other test processes before restarting services\n", len(others))
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.New("other tests kept running for five minutes; not restarting shared services")
}

// restartRedis shuts Redis down without saving and starts it again as the
// machine runs it, then waits until it answers.
func restartRedis(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "redis-cli", "-h", "127.0.0.1", "shutdown", "nosave").CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "connection") && len(out) > 0 {
		return fmt.Errorf("redis shutdown: %v: %s", err, out)
	}
	time.Sleep(time.Second) // down for a second, as a crash would be
	start := exec.CommandContext(ctx, "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no")
	if out, err := start.CombinedOutput(); err != nil {
		return fmt.Errorf("redis-server: %v: %s", err, out)
	}
	return waitFor(ctx, "redis", func() bool {
		out, err := exec.CommandContext(ctx, "redis-cli", "-h", "127.0.0.1", "ping").Output()
		return err == nil && strings.TrimSpace(string(out)) == "PONG"
	})
}

// restartPostgres restarts the machine's PostgreSQL cluster and waits
// until it accepts connections.
func restartPostgres(ctx context.Context) error {
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) != 1 {
		return fmt.Errorf("postgres: want exactly one version under /etc/postgresql: %v", err)
	}
	cmd := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "restart")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctlcluster restart: %v: %s", err, out)
	}
	return waitFor(ctx, "postgres", func() bool {
		return exec.CommandContext(ctx, "pg_isready", "-h", "127.0.0.1", "-q").Run() == nil
	})
}

func waitFor(ctx context.Context, what string, ok func() bool) error {
	for range 600 {
		if ok() {
			return nil
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("%s: not back after 30s", what)
}

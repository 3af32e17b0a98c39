// Command loadtest plays many simulated bookers through complete
// conversations against clinicbot and prints what it measured: updates a
// second, latency per update, bookings a second, Redis round trips per
// update, PostgreSQL transactions per booking, and memory. It checks that
// nothing was lost or doubled, and exits non-zero when an invariant fails.
//
// Modes:
//
//	-mode=throughput  N bookers (-bookers), C at a time (-concurrency), paced
//	                  open loop at -rate updates/s (0: as fast as they go),
//	                  through the router (-path=router) or the Telegram adapter
//	                  polling a fake Bot API server (-path=telegram)
//	-mode=surge       -bookers arrive within -arrival for -places places:
//	                  exactly that many bookings, everyone else told the quota
//	                  is full, no apology, places taken = active bookings;
//	                  bookers asked to come back (the router's admission
//	                  control) come back after -come-back and are counted;
//	                  with -path=telegram through the adapter, its send
//	                  limits on, against a fake Bot API that answers 429
//	                  above 30 messages a second. Run it under GOMAXPROCS=1
//	                  for a machine half as fast.
//	-mode=faults      the bot runs as a child process (this program with
//	                  -role=worker) while bookers book; it is killed with
//	                  SIGKILL and started again, and with -drills Redis and
//	                  PostgreSQL are restarted too (they disturb the machine's
//	                  shared services, so they are opt-in)
//	-mode=reminders   -bookers (10,000) bookings whose reminders are all due
//	                  at once, sent by a bot child process through the
//	                  Telegram adapter to a fake Bot API server at
//	                  -notice-rate messages/s; the bot is killed (SIGKILL) when
//	                  -kill-at of them are sent and started again; every chat
//	                  must get its reminder once, none twice
//
// Every run works in a PostgreSQL schema (load_<random>) and a Redis key
// prefix (clinicbot-load-<random>:) of its own, removed at the end, and
// talks only to 127.0.0.1. Every loop is bounded in count and time.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/dialog/redisstore"
)

// config is the command line.
type config struct {
	mode        string
	path        string
	role        string
	bookers     int
	concurrency int
	rate        float64
	places      int
	perSlot     int
	arrival     time.Duration
	think       time.Duration
	comeBack    time.Duration
	enquire     float64
	cancel      float64
	decline     float64
	hold        int
	tgLimit     bool
	drills      string
	timeout     time.Duration
	// updateTimeout is the router's per-update deadline (0: its default).
	updateTimeout time.Duration
	// sessions is where the router keeps sessions: redis or memory.
	sessions     string
	pgURL        string
	redisURL     string
	keep         bool
	cpuprofile   string
	blockprofile string
	mutexprofile string
	memprofile   string
	verbose      bool
	// reminders mode: the notice send rate (messages/s), the dispatcher's
	// lease, and the share of reminders sent before the kill.
	noticeRate float64
	lease      time.Duration
	killAt     float64
	// worker role only
	schema, prefix, listen string
	tgEndpoint             string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.mode, "mode", "throughput", "throughput, surge, faults or reminders")
	fs.StringVar(&c.path, "path", "router", "throughput and surge: router (in process, Redis and PostgreSQL) or telegram (the adapter polling a fake Bot API server)")
	fs.StringVar(&c.role, "role", "", "internal: worker runs the bot for -mode=faults")
	fs.IntVar(&c.bookers, "bookers", 0, "simulated bookers (default: throughput 2000, surge 10000 (telegram path 500), faults 1500)")
	fs.IntVar(&c.concurrency, "concurrency", 200, "bookers in conversation at once (throughput, faults)")
	fs.Float64Var(&c.rate, "rate", 0, "target updates/s, paced open loop (0: unpaced)")
	fs.IntVar(&c.places, "places", 0, "places to book (default: surge 1000 (telegram path 250), otherwise enough for every booker)")
	fs.IntVar(&c.perSlot, "per-slot", 10, "places per slot")
	fs.DurationVar(&c.arrival, "arrival", 10*time.Second, "surge: the bookers arrive spread over this time")
	fs.DurationVar(&c.think, "think", 0, "surge: how long a booker reads each answer before the next step (spread 0.5–1.5×)")
	fs.DurationVar(&c.comeBack, "come-back", 5*time.Second, "how long a booker asked to come back (\"try again in a minute\") waits before starting again (spread 0.5–1.5×)")
	fs.Float64Var(&c.enquire, "enquire", 0.1, "throughput: share of bookers who enquire after booking")
	fs.Float64Var(&c.cancel, "cancel", 0.1, "throughput: share of bookers who cancel after booking")
	fs.Float64Var(&c.decline, "decline", 0.1, "throughput: share of bookers who decline the offer and pick a time by day")
	fs.IntVar(&c.hold, "hold", 1000, "router throughput: bookers left mid-flow afterwards to measure Redis memory per active session")
	fs.BoolVar(&c.tgLimit, "telegram-limit", true, "telegram path: keep the adapter's own send rate limits (about 25 messages/s)")
	fs.StringVar(&c.drills, "drills", "kill", "faults: comma-separated drills among kill, redis, postgres (redis and postgres restart the machine's shared services)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "the whole run stops after this")
	fs.DurationVar(&c.updateTimeout, "update-timeout", 0, "the router's bound on one update, after which the booker is told to try again (0: the router's default, 10s)")
	fs.StringVar(&c.sessions, "sessions", "redis", "router path: where sessions live, redis (production) or memory (in process, as the embedded default)")
	fs.StringVar(&c.pgURL, "postgres", envOr("CLINICBOT_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL URL (a load_ schema is created in it and dropped)")
	fs.StringVar(&c.redisURL, "redis", envOr("CLINICBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL (keys under a clinicbot-load- prefix, deleted)")
	fs.BoolVar(&c.keep, "keep", false, "keep the schema and Redis keys for inspection")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof -top)")
	fs.StringVar(&c.blockprofile, "blockprofile", "", "write a profile of where goroutines blocked (channels, locks, select) to this file")
	fs.StringVar(&c.memprofile, "memprofile", "", "router throughput: write a heap profile, taken while the -hold sessions are held, to this file")
	fs.StringVar(&c.mutexprofile, "mutexprofile", "", "write a profile of contended mutexes to this file")
	fs.BoolVar(&c.verbose, "v", false, "log the bot's errors to stderr")
	fs.StringVar(&c.schema, "schema", "", "internal: the worker's schema")
	fs.StringVar(&c.prefix, "prefix", "", "internal: the worker's Redis key prefix")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "internal: the worker's address")
	fs.Float64Var(&c.noticeRate, "notice-rate", 300, "reminders: the bot's Telegram send rate, messages/s (TELEGRAM_RATE)")
	fs.DurationVar(&c.lease, "lease", 20*time.Second, "reminders: how long a dispatcher's claim lasts before another may take it over (above the router's lock TTL, 15s, which a killed bot's bookers wait out too)")
	fs.Float64Var(&c.killAt, "kill-at", 0.4, "reminders: the share of reminders sent when the bot is killed (SIGKILL) and started again")
	fs.StringVar(&c.tgEndpoint, "tg-endpoint", "", "internal: the reminder worker's fake Bot API endpoint")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	switch c.mode {
	case "throughput", "surge", "faults", "reminders":
	default:
		errs = append(errs, fmt.Errorf("-mode=%q: want throughput, surge, faults or reminders", c.mode))
	}
	if c.mode == "reminders" && (c.noticeRate <= 0 || c.lease <= 0 || c.killAt <= 0 || c.killAt >= 1) {
		errs = append(errs, errors.New("-notice-rate and -lease must be positive, -kill-at between 0 and 1"))
	}
	if c.sessions != "redis" && c.sessions != "memory" {
		errs = append(errs, fmt.Errorf("-sessions=%q: want redis or memory", c.sessions))
	}
	if c.sessions == "memory" && c.mode == "faults" {
		errs = append(errs, errors.New("-sessions=memory: the fault drills need sessions that outlive the bot process (redis)"))
	}
	if c.path != "router" && c.path != "telegram" {
		errs = append(errs, fmt.Errorf("-path=%q: want router or telegram", c.path))
	}
	for _, d := range strings.Split(c.drills, ",") {
		if d != "kill" && d != "redis" && d != "postgres" && d != "" {
			errs = append(errs, fmt.Errorf("-drills: unknown drill %q", d))
		}
	}
	surgeTelegram := c.mode == "surge" && c.path == "telegram"
	if c.bookers == 0 {
		c.bookers = map[string]int{"throughput": 2000, "surge": 10000, "faults": 1500, "reminders": 10000}[c.mode]
		if surgeTelegram {
			c.bookers = 500
		}
	}
	if c.places == 0 && c.mode == "surge" {
		c.places = 1000
		if surgeTelegram {
			c.places = 250
		}
	}
	if c.comeBack < 0 {
		errs = append(errs, errors.New("-come-back must not be negative"))
	}
	if c.mode == "surge" && c.places > c.bookers {
		errs = append(errs, fmt.Errorf("-places=%d: a surge needs at least as many bookers (%d)", c.places, c.bookers))
	}
	if c.bookers < 1 || c.concurrency < 1 || c.perSlot < 1 || c.rate < 0 || c.hold < 0 {
		errs = append(errs, errors.New("-bookers, -concurrency and -per-slot must be positive, -rate and -hold not negative"))
	}
	if c.decline < 0 || c.decline > 1 {
		errs = append(errs, errors.New("-decline is a share: 0 to 1"))
	}
	if c.enquire < 0 || c.cancel < 0 || c.enquire+c.cancel > 1 {
		errs = append(errs, errors.New("-enquire and -cancel are shares: each at least 0, together at most 1"))
	}
	return c, errors.Join(errs...)
}

// startProfile turns on the block or mutex profile and returns the function
// that writes it to file at the end of the run.
func startProfile(name, file string, stderr io.Writer) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if name == "block" {
		runtime.SetBlockProfileRate(int(time.Microsecond)) // an event per µs blocked, on average
	} else {
		runtime.SetMutexProfileFraction(1)
	}
	return func() {
		if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
			fmt.Fprintf(stderr, "loadtest: %s profile: %v\n", name, err)
		}
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "loadtest: %s profile: %v\n", name, err)
		}
	}, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		os.Exit(1)
	}
}

// errFailed is returned when an invariant failed (the report says which).
var errFailed = errors.New("an invariant failed")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	if c.verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	// go-redis's own lines (dial failures during the Redis drill) go where
	// the bot's errors go, not straight to stderr.
	redis.SetLogger(redisstore.ClientLogger{Log: log})
	switch c.role {
	case "worker":
		return runWorker(ctx, c, stdout, log)
	case "reminder-worker":
		return runReminderWorker(ctx, c, stdout, log)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, p := range []struct{ name, file string }{{"block", c.blockprofile}, {"mutex", c.mutexprofile}} {
		if p.file == "" {
			continue
		}
		stop, err := startProfile(p.name, p.file, stderr)
		if err != nil {
			return err
		}
		defer stop()
	}

	schema, prefix, key, err := newRunIDs()
	if err != nil {
		return err
	}
	s := &services{pgURL: c.pgURL, redisURL: c.redisURL, schema: schema, prefix: prefix, key: key, updateTimeout: c.updateTimeout,
		memorySessions: c.sessions == "memory"}
	if err := createSchema(ctx, c.pgURL, schema); err != nil {
		return err
	}
	defer func() {
		if c.keep {
			fmt.Fprintf(stdout, "kept schema %s and Redis keys %s*\n", schema, prefix)
			return
		}
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer ccancel()
		if s.rdb != nil {
			if err := cleanRedis(cctx, s.rdb, prefix); err != nil {
				fmt.Fprintln(stderr, "loadtest: clean Redis:", err)
			}
		}
		s.close()
		if err := dropSchema(cctx, c.pgURL, schema); err != nil {
			fmt.Fprintln(stderr, "loadtest: drop schema:", err)
		}
	}()
	if err := s.open(ctx); err != nil {
		return err
	}
	places := c.places
	if places == 0 {
		places = c.bookers
	}
	if err := seed(ctx, s.store, time.Now(), places, c.perSlot, 0); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	rep := &report{w: stdout}
	fmt.Fprintf(stdout, "clinicbot load test: mode=%s path=%s bookers=%d places=%d GOMAXPROCS=%d  (load average before: %s)\n",
		c.mode, c.path, c.bookers, places, runtime.GOMAXPROCS(0), loadAverage())
	switch c.mode {
	case "throughput":
		err = throughput(ctx, c, s, log, rep)
	case "surge":
		err = surge(ctx, c, s, log, rep)
	case "faults":
		err = faults(ctx, c, s, hex.EncodeToString(key), rep, stderr)
	case "reminders":
		err = reminderDrill(ctx, c, s, hex.EncodeToString(key), rep, stderr)
	}
	fmt.Fprintf(stdout, "  %-42s %s\n", "load average after", loadAverage())
	if err != nil {
		return err
	}
	if rep.fail {
		return errFailed
	}
	return nil
}

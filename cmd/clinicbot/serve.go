package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/bot/console"
	"github.com/clinicbot/clinicbot/bot/telegram"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
	"github.com/clinicbot/clinicbot/internal/health"
	"github.com/clinicbot/clinicbot/internal/metrics"
	"github.com/clinicbot/clinicbot/locales"
	"github.com/clinicbot/clinicbot/staff"
)

// maintenanceEvery is how often serve tops up the schedule and purges
// personal data past the retention; completeEvery how often it marks the
// bookings whose appointment ended completed, so that staff lists of active
// bookings show only what is still to come.
const (
	maintenanceEvery = 6 * time.Hour
	completeEvery    = 5 * time.Minute
)

// app is the booking core with the conversation on top: what every
// channel shares.
type app struct {
	*core
	router *bot.Router
	// stopSweep stops the in-process session store's sweeper; nil with
	// Redis, whose keys expire by themselves.
	stopSweep func()
}

func redisOptions(url string) (*redis.Options, error) { return redisstore.ClientOptions(url) }

// openApp opens the core, makes sure there are clinics and a schedule,
// and builds the engine and router over the configured session store.
func (e *env) openApp(ctx context.Context, m *metrics.Metrics) (*app, error) {
	c, err := e.openCore(ctx, m)
	if err != nil {
		return nil, err
	}
	a := &app{core: c}
	if err := a.build(ctx, e); err != nil {
		a.Close() // the sweeper, if it started, and the core
		return nil, err
	}
	return a, nil
}

func (a *app) build(ctx context.Context, e *env) error {
	added, err := fillSchedule(ctx, a.store, e.now(), e.cfg.ScheduleDays)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	if added > 0 {
		e.log.Info("schedule generated", "slots_added", added, "days", e.cfg.ScheduleDays)
	}

	var coord bot.Coordinator
	if e.cfg.RedisURL != "" {
		if err := a.openRedis(ctx, e.cfg.RedisURL.Reveal(), e.log); err != nil {
			return err
		}
		coord = redisstore.New(a.rdb, redisstore.Options{
			Sealer: a.protector,
			Idle:   e.cfg.SessionTTL,
			Logger: e.log.With("component", "redisstore"),
		})
	} else {
		sessions := dialog.NewMemoryStore(e.now, e.cfg.SessionTTL)
		a.sweep(sessions)
		coord = bot.NewMemoryCoordinator(sessions, e.now)
	}
	engine, err := dialog.New(a.svc, dialog.Options{Logger: e.log.With("component", "dialog"), SessionIdle: e.cfg.SessionTTL})
	if err != nil {
		return err
	}
	// One setting bounds an update: the adapters' deadline around it
	// (answer included) and the router's on the engine's work.
	opts := bot.Options{Logger: e.log, Timeout: e.cfg.UpdateTimeout}
	if a.metrics != nil {
		opts.Metrics = a.metrics
	}
	a.router = bot.NewRouter(engine, coord, opts)
	return nil
}

// sweep drops the in-process sessions that expire, every
// dialog.SweepEvery until Close, even when no update comes: a session left
// mid-flow holds a patient's details, and the terminal chat's one booker
// may simply walk away.
func (a *app) sweep(sessions *dialog.MemoryStore) {
	ctx, cancel := context.WithCancel(context.Background())
	ticker := time.NewTicker(dialog.SweepEvery)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sessions.Run(ctx, ticker.C)
	}()
	a.stopSweep = func() {
		cancel()
		ticker.Stop()
		<-done
	}
}

// Close stops the router, waits for the updates it accepted, stops the
// session sweeper and closes the stores.
func (a *app) Close() error {
	if a.router != nil {
		a.router.Close()
		a.router.Wait()
	}
	if a.stopSweep != nil {
		a.stopSweep()
	}
	return a.core.Close()
}

// chat is the terminal conversation.
func (e *env) chat(ctx context.Context, args []string) error {
	fs := e.flags("chat")
	lang := fs.String("lang", e.cfg.Lang, "the conversation's language: "+strings.Join(locales.Languages(), ", "))
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	return e.chatIn(ctx, *lang)
}

func (e *env) chatIn(ctx context.Context, lang string) error {
	if !locales.Supported(lang) {
		return usagef("--lang %q: want one of %s", lang, strings.Join(locales.Languages(), ", "))
	}
	a, err := e.openApp(ctx, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	c := &console.Chat{Handler: a.router, Lang: lang, In: e.stdin, Out: e.stdout, Now: e.now}
	return c.Run(ctx)
}

// serve serves the configured chat networks until ctx ends, then shuts
// down in order: stop taking updates, finish those in hand, close the
// stores. With no chat network configured it chats in the terminal.
func (e *env) serve(ctx context.Context, args []string) error {
	fs := e.flags("serve")
	lang := fs.String("lang", e.cfg.Lang, "the terminal chat's language, when no chat network is configured")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if !e.cfg.Serves() {
		return e.chatIn(ctx, *lang)
	}
	log := e.log
	log.Info("starting", "config", e.cfg)
	m := metrics.New()
	a, err := e.openApp(ctx, m)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			a.Close()
		}
	}()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", health.Live)
	mux.Handle("GET /readyz", &health.Checker{Checks: a.checks(), Timeout: 2 * time.Second, Logger: log.With("component", "health")})
	console, err := e.staffConsole(a.core)
	if err != nil {
		return err
	}
	mux.Handle(staff.Prefix, console)

	// Every long-running part runs in its own goroutine owned by this
	// function; the first to fail stops the rest.
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	// On an early return, stop what started before the stores close.
	defer func() { cancel(nil); wg.Wait() }()
	fail := func(err error) {
		if err != nil && ctx.Err() == nil {
			cancel(err)
		}
	}

	notifiers := map[booking.Channel]bot.Notifier{}
	if e.cfg.TelegramToken != "" {
		tg, err := telegram.New(telegram.Options{
			Token:         telegram.Token(e.cfg.TelegramToken.Reveal()),
			Endpoint:      e.cfg.TelegramAPIEndpoint,
			Handler:       a.router,
			Forgetter:     a.router,
			Logger:        log,
			UpdateTimeout: e.cfg.UpdateTimeout,
			Rate:          e.cfg.TelegramRate,
			ChatRate:      e.cfg.TelegramChatRate,
		})
		if err != nil {
			return err
		}
		if err := startTelegram(ctx, tg, e.cfg.TelegramWebhookURL, e.cfg.TelegramWebhookSecret.Reveal()); err != nil {
			return err
		}
		if e.cfg.Webhook() {
			u, _ := url.Parse(e.cfg.TelegramWebhookURL) // checked by config.Load
			path := u.Path
			if path == "" {
				path = "/"
			}
			mux.Handle("POST "+path, tg.WebhookHandler(e.cfg.TelegramWebhookSecret.Reveal()))
			log.Info("telegram webhook", "path", path)
		} else {
			wg.Go(func() { fail(tg.Poll(ctx)) })
			log.Info("telegram polling")
		}
		notifiers[booking.ChannelTelegram] = tg
	}
	if e.cfg.WhatsAppEnabled {
		wa, err := e.startWhatsApp(ctx, a, &wg, fail)
		if err != nil {
			return err
		}
		notifiers[booking.ChannelWhatsApp] = wa
	}
	if err := e.startDispatcher(ctx, a, notifiers, &wg); err != nil {
		return err
	}

	srv, ln, err := e.listen(ctx, mux)
	if err != nil {
		return err
	}
	log.Info("http listening", "addr", ln.Addr().String())
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("http: %w", err))
		}
	})
	wg.Go(func() { e.maintain(ctx, a) })

	<-ctx.Done()
	cause := context.Cause(ctx)
	log.Info("shutting down")
	// Stop taking updates: the webhook first (Shutdown waits for the calls
	// in hand), the pollers and WhatsApp with ctx; then the router finishes
	// what it accepted and the stores close.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.ShutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "error", err)
	}
	wg.Wait()
	closed = true
	if err := a.Close(); err != nil {
		log.Warn("close", "error", err)
	}
	log.Info("stopped")
	if cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// startDispatcher sends the outbox's notices (reminders, changes told)
// through the channels served, in a goroutine wg owns, until ctx ends.
func (e *env) startDispatcher(ctx context.Context, a *app, notifiers map[booking.Channel]bot.Notifier, wg *sync.WaitGroup) error {
	outbox, err := a.outbox()
	if err != nil {
		return err
	}
	d := bot.NewDispatcher(outbox, notifiers, bot.DispatcherOptions{Now: e.now, Logger: e.log})
	wg.Go(func() {
		if err := d.Run(ctx); err != nil {
			e.log.Error("outbox dispatcher stopped", "error", err)
		}
	})
	e.log.Info("outbox dispatcher running", "reminder_before", e.cfg.ReminderBefore, "quiet_hours", e.cfg.QuietHours)
	return nil
}

// startTelegram checks the token, sets the command menu and, in webhook
// mode, points Telegram at the webhook.
func startTelegram(ctx context.Context, tg *telegram.Bot, webhookURL, secret string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := tg.Check(ctx); err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	if err := tg.SetCommands(ctx); err != nil {
		return err
	}
	if webhookURL != "" {
		if err := tg.SetWebhook(ctx, webhookURL, secret); err != nil {
			return err
		}
	}
	return nil
}

// maintain marks ended bookings completed and drops lapsed holds, at
// start and then every completeEvery, and purges personal data past the retention and tops up
// the schedule every maintenanceEvery, until ctx ends.
func (e *env) maintain(ctx context.Context, a *app) {
	log := e.log.With("component", "maintenance")
	t := time.NewTicker(completeEvery)
	defer t.Stop()
	var longAt time.Time // the last purge; zero: not yet
	for {
		now := e.now()
		if n, err := a.store.Complete(ctx, now); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("completing ended bookings failed", "error", err)
		} else if n > 0 {
			log.Info("ended bookings completed", "bookings", n)
		}
		// Tidying only: a lapsed hold is counted nowhere.
		if n, err := a.store.DropHolds(ctx, now); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("dropping lapsed holds failed", "error", err)
		} else if n > 0 {
			log.Debug("lapsed holds dropped", "holds", n)
		}
		if longAt.IsZero() || now.Sub(longAt) >= maintenanceEvery {
			if !longAt.IsZero() { // at start, serve has just filled the schedule
				if n, err := fillSchedule(ctx, a.store, now, e.cfg.ScheduleDays); err != nil {
					if ctx.Err() != nil {
						return
					}
					log.Error("schedule top-up failed", "error", err)
				} else if n > 0 {
					log.Info("schedule generated", "slots_added", n)
				}
			}
			if n, err := a.store.Purge(ctx, now.Add(-e.cfg.Retention.Duration())); err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Error("purge failed", "error", err)
			} else if n > 0 {
				log.Info("personal data purged", "bookings", n)
			}
			longAt = now
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// listen binds HTTP_ADDR and returns the server for h, its timeouts set
// and its requests under ctx.
func (e *env) listen(ctx context.Context, h http.Handler) (*http.Server, net.Listener, error) {
	srv := &http.Server{
		Addr:              e.cfg.HTTPAddr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(e.log.With("component", "http").Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ln, err := net.Listen("tcp", e.cfg.HTTPAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("http: %w", err)
	}
	return srv, ln, nil
}

package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/locales"
)

// Engine answers one input over a booker's session, changing the session
// in place and doing no session store I/O. *dialog.Engine implements it.
type Engine interface {
	Step(ctx context.Context, booker booking.Booker, s *dialog.Session, in dialog.Input) (dialog.Result, error)
}

// Metrics observes every update the router finishes: its channel, its
// outcome (one of the Outcome constants) and how long it took, waiting for
// its turn included. The command backs it with Prometheus.
type Metrics interface {
	Observe(channel, outcome string, d time.Duration)
}

// Outcomes reported to Metrics.
const (
	OutcomeOK          = "ok"          // the engine's answer was sent and its session stored
	OutcomeDuplicate   = "duplicate"   // the update had been taken into effect before: nothing sent
	OutcomeInternal    = "internal"    // the engine failed: apology, nothing stored
	OutcomePanic       = "panic"       // the engine panicked: apology, nothing stored
	OutcomeUnavailable = "unavailable" // the session store (or the deadline) failed: try again
	OutcomeBusy        = "busy"        // a newcomer refused by admission control: come back in a minute
)

// Locale keys of the router's own answers.
const (
	KeyInternal    = "err.internal"    // something went wrong, nothing was changed
	KeyUnavailable = "err.unavailable" // temporarily unavailable, please try again
	KeyBusy        = "busy.wait"       // many people are booking now, try again in a minute
)

// ErrClosed is returned for updates handed to a Router after Close.
var ErrClosed = errors.New("bot: router closed")

// Options configure a Router. The zero value of each field means its
// default.
type Options struct {
	// Logger receives one record per failed update, without personal data
	// (discarded when nil).
	Logger *slog.Logger
	// Now is the clock for the durations given to Metrics (time.Now).
	Now func() time.Time
	// Timeout bounds the handling of one update from its turn on (10s):
	// a newcomer's update that could not be finished within it, by the
	// recent service times, is refused (KeyBusy) rather than started.
	Timeout time.Duration
	// Workers is how many updates are worked on at once (DefaultWorkers);
	// the others wait for one, bookers past consent first, then the
	// others in a conversation, then newcomers, each in arrival order.
	Workers int
	// MaxQueue bounds the updates waiting for a worker (DefaultMaxQueue).
	// A newcomer who finds it full is refused (KeyBusy); an update of a
	// booker in a conversation is queued all the same, in the place of
	// the newest newcomer waiting if there is one.
	MaxQueue int
	// LockTTL is how long a booker's lock outlives a replica that crashed
	// holding it. It must exceed Timeout so that a lock never expires under
	// its live holder; a shorter one is raised to Timeout + 5s, the default.
	LockTTL time.Duration
	// Metrics observes each update (none when nil).
	Metrics Metrics
	// Apology renders the router's own answer with locale key (KeyInternal,
	// KeyUnavailable or KeyBusy) in lang, the session's language, or the language
	// matched from the client's hint when no session could be read. The
	// default renders from the locales catalog.
	Apology func(lang, key string) dialog.Result
}

// Router hands each booker's updates to the engine one at a time, in the
// order they arrive, and different bookers' updates in parallel. Every
// update takes effect at most once: its id is marked when its session is
// stored, and a duplicate gets an empty Result. A failing or panicking
// update is answered with an apology and stops nothing. Under overload it
// works on a bounded number of updates at once and asks newcomers to come
// back (see Options.Workers and MaxQueue). It is safe for concurrent use.
type Router struct {
	engine  Engine
	coord   Coordinator
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration
	lockTTL time.Duration
	metrics Metrics
	apology func(lang, key string) dialog.Result
	lanes   lanes
	adm     *admission

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

var _ Handler = (*Router)(nil)

// NewRouter returns a Router over engine and coord.
func NewRouter(engine Engine, coord Coordinator, opts Options) *Router {
	r := &Router{
		engine:  engine,
		coord:   coord,
		log:     opts.Logger,
		now:     opts.Now,
		timeout: opts.Timeout,
		lockTTL: opts.LockTTL,
		metrics: opts.Metrics,
		apology: opts.Apology,
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r.log = r.log.With("component", "bot")
	if r.now == nil {
		r.now = time.Now
	}
	if r.timeout <= 0 {
		r.timeout = 10 * time.Second
	}
	if r.lockTTL <= r.timeout {
		r.lockTTL = r.timeout + 5*time.Second
	}
	if r.metrics == nil {
		r.metrics = noMetrics{}
	}
	if r.apology == nil {
		r.apology = CatalogApology(locales.MustLoad())
	}
	workers, maxQueue := opts.Workers, opts.MaxQueue
	if workers <= 0 {
		workers = DefaultWorkers
	}
	if maxQueue <= 0 {
		maxQueue = DefaultMaxQueue
	}
	r.adm = newAdmission(r.now, workers, maxQueue, r.timeout)
	return r
}

// CatalogApology renders the router's answers from cat. A key missing from
// the catalog falls back to KeyInternal.
func CatalogApology(cat *locales.Catalog) func(lang, key string) dialog.Result {
	return func(lang, key string) dialog.Result {
		if !locales.Supported(lang) {
			lang = locales.Default
		}
		if !cat.Has(lang, key) {
			key = KeyInternal
		}
		return dialog.Result{Replies: []dialog.Reply{{Key: key, Text: cat.Text(lang, key, nil)}}, Lang: lang}
	}
}

type noMetrics struct{}

func (noMetrics) Observe(string, string, time.Duration) {}

// Handle handles u once its earlier updates from the same booker are done
// and returns what to answer: an empty Result for a duplicate, an apology
// when handling failed, the waiting message (KeyBusy) when admission
// control refused a newcomer. Its only error is ErrClosed, or ctx's while u waits
// for its turn.
//
// Called from a job of Go for the same booker, it runs at once: the job
// holds the booker's turn.
func (r *Router) Handle(ctx context.Context, u Update) (dialog.Result, error) {
	key := dialog.SessionKey(u.Booker)
	if held, _ := ctx.Value(heldTurn{}).(string); held == key {
		r.mu.Lock()
		r.inflight.Add(1)
		r.mu.Unlock()
		defer r.inflight.Done()
		start := r.now()
		res, outcome := r.handle(ctx, u, key)
		r.metrics.Observe(string(u.Booker.Channel), outcome, r.now().Sub(start))
		return res, nil
	}
	t, err := r.enter(u)
	if err != nil {
		return dialog.Result{}, err
	}
	defer r.inflight.Done()
	return r.run(ctx, u, t)
}

// heldTurn marks the context of a Go job with the key whose turn it holds.
type heldTurn struct{}

// Go takes a place in the booker's line at once and runs job in a
// goroutine owned by the router when its turn comes: after every update
// and job of that booker accepted before it, before any accepted after it.
// An adapter calls it from the loop that reads updates, with everything an
// update needs (handling and answering), so that one booker's answers go
// out in order too; job calls Handle with the context it is given, which
// holds the turn. job always runs, and should end early when the context
// it was given has ended. Go returns ErrClosed after Close; Wait waits for
// accepted jobs.
func (r *Router) Go(ctx context.Context, b booking.Booker, job func(ctx context.Context)) error {
	key := dialog.SessionKey(b)
	t, err := r.enter(Update{Booker: b})
	if err != nil {
		return err
	}
	go func() {
		defer r.inflight.Done()
		// A turn always comes: every holder leaves.
		_ = r.lanes.wait(context.WithoutCancel(ctx), t)
		defer r.lanes.leave(key)
		job(context.WithValue(ctx, heldTurn{}, key))
	}()
	return nil
}

// Dispatch takes u's place in its booker's line at once and handles it in a
// goroutine owned by the router, then calls done (if not nil) with what
// Handle would return. An adapter that reads updates in order from one loop
// calls Dispatch from that loop: each booker's updates are then handled in
// the order read, whatever the scheduler does. ctx bounds the waiting and
// the handling: for a graceful shutdown (Close, then Wait) pass one that
// outlives the adapter's loop. It returns ErrClosed after Close.
func (r *Router) Dispatch(ctx context.Context, u Update, done func(dialog.Result, error)) error {
	t, err := r.enter(u)
	if err != nil {
		return err
	}
	go func() {
		defer r.inflight.Done()
		res, err := r.run(ctx, u, t)
		if done == nil {
			return
		}
		defer func() {
			if p := recover(); p != nil {
				r.log.Error("update callback panicked", append([]any{slog.Any("booker", u.Booker)}, panicAttrs(p)...)...)
			}
		}()
		done(res, err)
	}()
	return nil
}

// Forget drops the booker's session after their pending updates; the
// Telegram adapter calls it when the booker blocked the bot.
func (r *Router) Forget(ctx context.Context, b booking.Booker) error {
	key := dialog.SessionKey(b)
	t := r.lanes.enter(key)
	if err := r.lanes.wait(ctx, t); err != nil {
		return fmt.Errorf("bot: forget: %w", err)
	}
	defer r.lanes.leave(key)
	if err := r.coord.Delete(ctx, key); err != nil {
		return fmt.Errorf("bot: forget: %w", err)
	}
	r.adm.forget(key)
	return nil
}

// Close stops accepting updates: Handle and Dispatch return ErrClosed from
// now on. Updates already accepted go on; Wait waits for them.
func (r *Router) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
}

// Wait blocks until every accepted update has been handled (and its
// Dispatch callback returned).
func (r *Router) Wait() { r.inflight.Wait() }

// enter accepts u and fixes its place in its booker's line.
func (r *Router) enter(u Update) (ticket, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ticket{}, ErrClosed
	}
	r.inflight.Add(1)
	return r.lanes.enter(dialog.SessionKey(u.Booker)), nil
}

// run waits for t's turn and handles u.
func (r *Router) run(ctx context.Context, u Update, t ticket) (dialog.Result, error) {
	start := r.now()
	if err := r.lanes.wait(ctx, t); err != nil {
		return dialog.Result{}, fmt.Errorf("bot: waiting for turn: %w", err)
	}
	defer r.lanes.leave(t.key)
	res, outcome := r.handle(ctx, u, t.key)
	r.metrics.Observe(string(u.Booker.Channel), outcome, r.now().Sub(start))
	return res, nil
}

// handle is one update under its booker's lane: admission, then begin,
// step, commit.
func (r *Router) handle(ctx context.Context, u Update, key string) (dialog.Result, string) {
	log := r.log.With(slog.Any("booker", u.Booker), slog.String("update_id", u.ID))
	lang := locales.Match(u.Input.LanguageHint)
	admitted, err := r.admit(ctx, key, &lang, u.Input.Kind == dialog.InputNotice)
	switch {
	case err != nil:
		log.Warn("update ran out of time waiting for a worker; nothing done", "err", err)
		return r.apology(lang, KeyUnavailable), OutcomeUnavailable
	case !admitted:
		log.Debug("newcomer asked to come back", "reason", "busy")
		return r.apology(lang, KeyBusy), OutcomeBusy
	}
	start := r.now()
	defer func() { r.adm.release(r.now().Sub(start)) }()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	return r.work(ctx, u, key, lang, log)
}

// admit waits for a worker for an update of key, by the booker's standing:
// remembered, or read from the session store when the update would wait
// and the booker is not remembered (on another replica, or before a
// restart). lang becomes the session's language when known. A notice
// (the outbox's, see Dispatcher) is never turned away as a newcomer's
// update: nobody waits on it, and the waiting message would answer a
// booker who said nothing; it ranks as a conversation's.
func (r *Router) admit(ctx context.Context, key string, lang *string, notice bool) (bool, error) {
	st := Newcomer
	if notice {
		st = InConversation
	}
	if s, ok := r.adm.lookup(key); ok {
		st = max(st, s.standing)
		if s.lang != "" {
			*lang = s.lang
		}
	} else if p, ok := r.coord.(sessionPeeker); ok && r.adm.busy() {
		if s, err := p.Load(ctx, key); err == nil {
			st = max(st, standingOf(s))
			if s.Lang != "" {
				*lang = s.Lang
			}
		}
	}
	return r.adm.acquire(ctx, st)
}

// work is one admitted update: begin, step, commit.
func (r *Router) work(ctx context.Context, u Update, key, lang string, log *slog.Logger) (dialog.Result, string) {
	token := rand.Text()
	s, duplicate, err := r.coord.Begin(ctx, key, u.ID, token, r.lockTTL)
	if err != nil {
		log.Warn("session unavailable", "err", err)
		return r.apology(lang, KeyUnavailable), OutcomeUnavailable
	}
	if duplicate {
		log.Debug("duplicate update ignored")
		return dialog.Result{}, OutcomeDuplicate
	}
	if s.Lang != "" {
		lang = s.Lang
	}

	res, err := r.step(ctx, u, s)
	if err != nil {
		r.abort(ctx, key, token, log)
		var p *panicError
		switch {
		case errors.As(err, &p):
			log.Error("update panicked; nothing stored", p.attrs...)
			return r.apology(lang, KeyInternal), OutcomePanic
		case ctx.Err() != nil:
			log.Warn("update ran out of time; nothing stored", "err", err)
			return r.apology(lang, KeyUnavailable), OutcomeUnavailable
		default:
			log.Error("update failed; nothing stored", "err", err)
			return r.apology(lang, KeyInternal), OutcomeInternal
		}
	}
	if err := r.coord.Commit(ctx, key, u.ID, token, s); err != nil {
		// Whatever the engine did is idempotent by the stored session
		// (e.g. a booking's key): the booker's retry finds it.
		r.abort(ctx, key, token, log)
		log.Warn("session not stored", "err", err)
		return r.apology(lang, KeyUnavailable), OutcomeUnavailable
	}
	r.adm.remember(key, standingOf(s), s.Lang)
	return res, OutcomeOK
}

// abort releases the lock even when the update's deadline has passed.
func (r *Router) abort(ctx context.Context, key, token string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := r.coord.Abort(ctx, key, token); err != nil {
		log.Warn("session lock not released; it expires by itself", "err", err)
	}
}

// panicError carries a recovered panic, described without personal data.
type panicError struct{ attrs []any }

func (p *panicError) Error() string { return "panic in engine" }

// step runs the engine, turning a panic into a *panicError.
func (r *Router) step(ctx context.Context, u Update, s *dialog.Session) (res dialog.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{attrs: panicAttrs(p)}
		}
	}()
	return r.engine.Step(ctx, u.Booker, s, u.Input)
}

// panicAttrs describe a panic for the log: a runtime error's message
// (which names no data) or only the type of any other value (which might
// quote what the booker typed), and the stack.
func panicAttrs(p any) []any {
	attrs := []any{slog.String("panic_type", fmt.Sprintf("%T", p))}
	if re, ok := p.(runtime.Error); ok {
		attrs = append(attrs, slog.String("panic", re.Error()))
	}
	return append(attrs, slog.String("stack", string(debug.Stack())))
}

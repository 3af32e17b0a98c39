package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/bookingtest"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// fakeEngine counts each booker's steps in the session (Failures) and
// records, per booker, the texts it was given in order. It fails the test
// if two steps of one booker ever overlap. Texts:
//
//	"panic"          panics
//	"fail"           returns an error
//	"block"          blocks until release is closed or ctx ends
//	"meet:<booker>"  blocks until <booker> has entered a step (or ctx ends)
type fakeEngine struct {
	t       testing.TB
	release chan struct{}

	mu      sync.Mutex
	texts   map[string][]string
	active  map[string]bool
	entered map[string]chan struct{}
	effects atomic.Int64
}

func newFakeEngine(t testing.TB) *fakeEngine {
	return &fakeEngine{
		t:       t,
		release: make(chan struct{}),
		texts:   make(map[string][]string),
		active:  make(map[string]bool),
		entered: make(map[string]chan struct{}),
	}
}

func (e *fakeEngine) enteredCh(id string) chan struct{} {
	ch, ok := e.entered[id]
	if !ok {
		ch = make(chan struct{})
		e.entered[id] = ch
	}
	return ch
}

func (e *fakeEngine) Step(ctx context.Context, b booking.Booker, s *dialog.Session, in dialog.Input) (dialog.Result, error) {
	e.mu.Lock()
	if e.active[b.ID] {
		e.t.Errorf("two steps of booker %s overlap", b.ID)
	}
	e.active[b.ID] = true
	e.texts[b.ID] = append(e.texts[b.ID], in.Text)
	entered := e.enteredCh(b.ID)
	select {
	case <-entered:
	default:
		close(entered)
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.active[b.ID] = false
		e.mu.Unlock()
	}()

	switch {
	case in.Text == "panic":
		panic("the booker typed something we keep out of logs")
	case in.Text == "fail":
		return dialog.Result{}, errors.New("engine failed")
	case in.Text == "block":
		select {
		case <-e.release:
		case <-ctx.Done():
			return dialog.Result{}, ctx.Err()
		}
	case strings.HasPrefix(in.Text, "meet:"):
		e.mu.Lock()
		other := e.enteredCh(strings.TrimPrefix(in.Text, "meet:"))
		e.mu.Unlock()
		select {
		case <-other:
		case <-ctx.Done():
			return dialog.Result{}, ctx.Err()
		}
	}
	e.effects.Add(1)
	s.Failures++
	s.Lang = "en"
	return dialog.Result{Replies: []dialog.Reply{{Key: "step", Text: strconv.Itoa(s.Failures)}}, Lang: s.Lang}, nil
}

func (e *fakeEngine) textsOf(id string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.texts[id]...)
}

// recorder is a Metrics that counts outcomes.
type recorder struct {
	mu       sync.Mutex
	outcomes map[string]int
}

func (r *recorder) Observe(channel, outcome string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outcomes == nil {
		r.outcomes = make(map[string]int)
	}
	r.outcomes[channel+"/"+outcome]++
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcomes[key]
}

// coordinators returns the coordinators every router test runs against.
// The Redis ones share one prefix per test, so that two of them act as two
// replicas of one bot.
func coordinators() []struct {
	name string
	new  func(t *testing.T) func() bot.Coordinator
} {
	return []struct {
		name string
		new  func(t *testing.T) func() bot.Coordinator
	}{
		{"Memory", func(t *testing.T) func() bot.Coordinator {
			c := bot.NewMemoryCoordinator(dialog.NewMemoryStore(time.Now, 0), time.Now)
			return func() bot.Coordinator { return c }
		}},
		{"Redis", func(t *testing.T) func() bot.Coordinator {
			prefix := testenv.RedisPrefix(t)
			sealer := bookingtest.NewProtector(t)
			return func() bot.Coordinator {
				client := newClient(t, nil)
				return redisstore.New(client, redisstore.Options{Prefix: prefix, Sealer: sealer})
			}
		}},
	}
}

// newClient returns a client of the test Redis, with hook if not nil,
// closed when the test ends.
func newClient(t *testing.T, hook redis.Hook) *redis.Client {
	t.Helper()
	o, err := redisstore.ClientOptions(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(o)
	if hook != nil {
		client.AddHook(hook)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// testApology renders the router's answers as "<lang>:<key>".
func testApology(lang, key string) dialog.Result {
	return dialog.Result{Replies: []dialog.Reply{{Key: key, Text: lang + ":" + key}}, Lang: lang}
}

func booker(id string) booking.Booker {
	return booking.Booker{Channel: booking.ChannelTelegram, ID: id}
}

func update(b booking.Booker, id, text string) bot.Update {
	return bot.Update{Booker: b, ID: id, Input: dialog.Input{Kind: dialog.InputText, Text: text}}
}

func texts(res dialog.Result) []string {
	var out []string
	for _, r := range res.Replies {
		out = append(out, r.Text)
	}
	return out
}

func keys(res dialog.Result) []string {
	var out []string
	for _, r := range res.Replies {
		out = append(out, r.Key)
	}
	return out
}

func TestRouterDuplicate(t *testing.T) {
	t.Parallel()
	for _, c := range coordinators() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			engine := newFakeEngine(t)
			metrics := &recorder{}
			r := bot.NewRouter(engine, c.new(t)(), bot.Options{Apology: testApology, Metrics: metrics})
			b := booker("1")

			res, err := r.Handle(ctx, update(b, "100", "hello"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"1"}, texts(res)); diff != "" {
				t.Errorf("first delivery replies mismatch (-want +got):\n%s", diff)
			}
			// Redelivered, sequentially and then concurrently.
			res, err = r.Handle(ctx, update(b, "100", "hello"))
			if err != nil || len(res.Replies) != 0 {
				t.Errorf("Handle(redelivery) = %v, %v; want an empty Result", texts(res), err)
			}
			var wg sync.WaitGroup
			for range 5 {
				wg.Go(func() {
					if res, err := r.Handle(ctx, update(b, "101", "press")); err != nil {
						t.Errorf("Handle = %v", err)
					} else if len(res.Replies) > 1 {
						t.Errorf("Handle replied %v", texts(res))
					}
				})
			}
			wg.Wait()
			if n := engine.effects.Load(); n != 2 {
				t.Errorf("engine took %d steps for 2 distinct updates, want 2", n)
			}
			if n := metrics.count("telegram/duplicate"); n != 5 {
				t.Errorf("duplicates observed = %d, want 5", n)
			}
			// Another channel's update with the same id is not a duplicate.
			wa := booking.Booker{Channel: booking.ChannelWhatsApp, ID: "1"}
			if res, err := r.Handle(ctx, update(wa, "100", "hello")); err != nil || len(res.Replies) != 1 {
				t.Errorf("Handle(same id, other channel) = %v, %v; want it handled", texts(res), err)
			}
		})
	}
}

// TestRouterOrder: 50 updates of one booker dispatched at once are handled
// one at a time, in the order dispatched, each over the session the one
// before stored.
func TestRouterOrder(t *testing.T) {
	t.Parallel()
	for _, c := range coordinators() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			engine := newFakeEngine(t)
			r := bot.NewRouter(engine, c.new(t)(), bot.Options{Apology: testApology})
			b := booker("1")
			var want []string
			replies := make([]string, 50)
			for i := range 50 {
				text := fmt.Sprintf("msg-%02d", i)
				want = append(want, text)
				err := r.Dispatch(context.Background(), update(b, strconv.Itoa(i), text), func(res dialog.Result, err error) {
					if err != nil {
						t.Errorf("update %d: %v", i, err)
					}
					replies[i] = strings.Join(texts(res), "|")
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			r.Close()
			r.Wait()
			if diff := cmp.Diff(want, engine.textsOf("1")); diff != "" {
				t.Errorf("order of steps mismatch (-want +got):\n%s", diff)
			}
			for i, got := range replies {
				if want := strconv.Itoa(i + 1); got != want {
					t.Errorf("update %d replied %q, want %q (the session of update %d)", i, got, want, i)
				}
			}
		})
	}
}

// TestRouterGo: jobs handed to Go run one at a time per booker in the
// order given, each job's Handle runs at once (the job holds the turn) and
// what a job does after Handle (an adapter sending the answer) is done
// before the next job of the booker starts; an update through Handle from
// outside waits for the jobs before it.
func TestRouterGo(t *testing.T) {
	t.Parallel()
	engine := newFakeEngine(t)
	r := bot.NewRouter(engine, bot.NewMemoryCoordinator(dialog.NewMemoryStore(time.Now, time.Hour), nil), bot.Options{Apology: testApology})
	b := booker("1")
	var mu sync.Mutex
	var sent []string
	for i := range 20 {
		text := fmt.Sprintf("msg-%02d", i)
		err := r.Go(context.Background(), b, func(ctx context.Context) {
			res, err := r.Handle(ctx, update(b, strconv.Itoa(i), text))
			if err != nil {
				t.Errorf("Handle in job %d = %v", i, err)
			}
			time.Sleep(time.Millisecond) // the answer takes a while to send
			mu.Lock()
			sent = append(sent, text+"="+strings.Join(texts(res), "|"))
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Handle(context.Background(), update(b, "last", "msg-last")); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Wait()
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("msg-%02d=%d", i, i+1))
	}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("answers sent (-want +got):\n%s", diff)
	}
	if got := engine.textsOf("1"); len(got) != 21 || got[20] != "msg-last" {
		t.Errorf("steps = %v, want the 20 jobs' then msg-last", got)
	}
	if err := r.Go(context.Background(), b, func(context.Context) {}); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Go after Close = %v, want ErrClosed", err)
	}
}

// TestRouterParallel: two bookers' steps run at the same time: each waits
// inside the engine for the other to enter, which would block forever if
// the router handled them one after the other.
func TestRouterParallel(t *testing.T) {
	t.Parallel()
	for _, c := range coordinators() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			engine := newFakeEngine(t)
			r := bot.NewRouter(engine, c.new(t)(), bot.Options{Apology: testApology, Timeout: 5 * time.Second})
			ctx := context.Background()
			var wg sync.WaitGroup
			for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
				wg.Go(func() {
					res, err := r.Handle(ctx, update(booker(pair[0]), "1", "meet:"+pair[1]))
					if err != nil || !cmp.Equal(texts(res), []string{"1"}) {
						t.Errorf("booker %s: Handle = %v (%v), %v; want both steps to meet", pair[0], texts(res), keys(res), err)
					}
				})
			}
			wg.Wait()
		})
	}
}

func TestRouterSurvivesFailures(t *testing.T) {
	t.Parallel()
	for _, c := range coordinators() {
		for _, tt := range []struct {
			text    string
			outcome string
		}{
			{"panic", bot.OutcomePanic},
			{"fail", bot.OutcomeInternal},
		} {
			t.Run(c.name+"_"+tt.outcome, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				engine := newFakeEngine(t)
				metrics := &recorder{}
				r := bot.NewRouter(engine, c.new(t)(), bot.Options{Apology: testApology, Metrics: metrics})
				b := booker("1")
				if _, err := r.Handle(ctx, update(b, "1", "hello")); err != nil {
					t.Fatal(err)
				}
				res, err := r.Handle(ctx, update(b, "2", tt.text))
				if err != nil {
					t.Fatalf("Handle(%s) = %v, want an apology", tt.text, err)
				}
				if diff := cmp.Diff([]string{bot.KeyInternal}, keys(res)); diff != "" {
					t.Errorf("Handle(%s) keys mismatch (-want +got):\n%s", tt.text, diff)
				}
				if got := res.Replies[0].Text; got != "en:"+bot.KeyInternal {
					t.Errorf("Handle(%s) = %q, want the apology in the session's language, en", tt.text, got)
				}
				// The lock was released, nothing was stored, and the failed
				// update may run again when redelivered.
				res, err = r.Handle(ctx, update(b, "3", "hello"))
				if err != nil || !cmp.Equal(texts(res), []string{"2"}) {
					t.Errorf("Handle after %s = %v (%v), %v; want step 2 over the session before it", tt.text, texts(res), keys(res), err)
				}
				if res, _ := r.Handle(ctx, update(b, "2", tt.text)); !cmp.Equal(keys(res), []string{bot.KeyInternal}) {
					t.Errorf("redelivered %s = %v, want it run again", tt.text, keys(res))
				}
				if n := metrics.count("telegram/" + tt.outcome); n != 2 {
					t.Errorf("%s outcomes observed = %d, want 2", tt.outcome, n)
				}
			})
		}
	}
}

// TestRouterRedisUnreachable: with Redis down, the booker is told to try
// again, in the language of their client.
func TestRouterRedisUnreachable(t *testing.T) {
	t.Parallel()
	o, err := redisstore.ClientOptions("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(o)
	defer client.Close()
	store := redisstore.New(client, redisstore.Options{Sealer: bookingtest.NewProtector(t)})
	metrics := &recorder{}
	engine := newFakeEngine(t)
	r := bot.NewRouter(engine, store, bot.Options{Apology: testApology, Metrics: metrics})
	u := update(booker("1"), "1", "hello")
	u.Input.LanguageHint = "en-GB"
	res, err := r.Handle(context.Background(), u)
	if err != nil {
		t.Fatalf("Handle = %v, want an answer", err)
	}
	if diff := cmp.Diff([]string{bot.KeyUnavailable}, keys(res)); diff != "" {
		t.Errorf("keys mismatch (-want +got):\n%s", diff)
	}
	if got := res.Replies[0].Text; got != "en:"+bot.KeyUnavailable {
		t.Errorf("reply = %q, want it in the client's language, en", got)
	}
	if n := engine.effects.Load(); n != 0 {
		t.Errorf("engine ran %d steps without a session", n)
	}
	if n := metrics.count("telegram/unavailable"); n != 1 {
		t.Errorf("unavailable outcomes = %d, want 1", n)
	}
}

// TestRouterLockHeldElsewhere: a lock held by another replica that never
// lets go makes the update wait to its deadline and answer "try again";
// once the lock is gone, the booker is served.
func TestRouterLockHeldElsewhere(t *testing.T) {
	t.Parallel()
	for _, c := range coordinators() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			coord := c.new(t)()
			engine := newFakeEngine(t)
			r := bot.NewRouter(engine, coord, bot.Options{Apology: testApology, Timeout: 200 * time.Millisecond})
			b := booker("1")
			if _, _, err := coord.Begin(ctx, dialog.SessionKey(b), "", "other-replica", time.Minute); err != nil {
				t.Fatal(err)
			}
			res, err := r.Handle(ctx, update(b, "1", "hello"))
			if err != nil || !cmp.Equal(keys(res), []string{bot.KeyUnavailable}) {
				t.Errorf("Handle while locked = %v, %v; want %s", keys(res), err, bot.KeyUnavailable)
			}
			if err := coord.Abort(ctx, dialog.SessionKey(b), "other-replica"); err != nil {
				t.Fatal(err)
			}
			res, err = r.Handle(ctx, update(b, "1", "hello"))
			if err != nil || !cmp.Equal(texts(res), []string{"1"}) {
				t.Errorf("Handle after unlock = %v, %v; want it served", texts(res), err)
			}
		})
	}
}

// TestRouterReplicas: two routers on one Redis (two replicas) share a
// booker's updates; their steps never overlap (the fake engine checks) and
// none is lost (the session counts every step).
func TestRouterReplicas(t *testing.T) {
	t.Parallel()
	newCoord := coordinators()[1].new(t)
	engine := newFakeEngine(t)
	replicas := []*bot.Router{
		bot.NewRouter(engine, newCoord(), bot.Options{Apology: testApology}),
		bot.NewRouter(engine, newCoord(), bot.Options{Apology: testApology}),
	}
	b := booker("1")
	var seen sync.Map
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			res, err := replicas[i%2].Handle(context.Background(), update(b, strconv.Itoa(i), "hello"))
			if err != nil || len(res.Replies) != 1 {
				t.Errorf("update %d: %v, %v", i, keys(res), err)
				return
			}
			if _, dup := seen.LoadOrStore(res.Replies[0].Text, i); dup {
				t.Errorf("two updates saw the same session step %s: one was lost", res.Replies[0].Text)
			}
		})
	}
	wg.Wait()
	if n := engine.effects.Load(); n != 40 {
		t.Errorf("steps = %d, want 40", n)
	}
	res, _ := replicas[0].Handle(context.Background(), update(b, "last", "hello"))
	if diff := cmp.Diff([]string{"41"}, texts(res)); diff != "" {
		t.Errorf("final session step mismatch (-want +got):\n%s", diff)
	}
}

// TestRouterRoundTrips: lock, dedupe, session load, session store and
// unlock take at most 2 Redis round trips per update.
func TestRouterRoundTrips(t *testing.T) {
	t.Parallel()
	prefix := testenv.RedisPrefix(t)
	trips := &testenv.RoundTrips{}
	client := newClient(t, trips)
	store := redisstore.New(client, redisstore.Options{Prefix: prefix, Sealer: bookingtest.NewProtector(t)})
	r := bot.NewRouter(newFakeEngine(t), store, bot.Options{Apology: testApology})
	ctx := context.Background()
	b := booker("1")
	if _, err := r.Handle(ctx, update(b, "0", "warm up")); err != nil { // connection and script cache
		t.Fatal(err)
	}
	for i := 1; i <= 20; i++ {
		before := trips.N()
		if _, err := r.Handle(ctx, update(b, strconv.Itoa(i), "hello")); err != nil {
			t.Fatal(err)
		}
		if n := trips.N() - before; n > 2 {
			t.Errorf("update %d took %d round trips, want at most 2", i, n)
		}
	}
	before := trips.N()
	r.Handle(ctx, update(b, "5", "hello"))
	dup := trips.N() - before
	t.Logf("round trips per update: 2 (Begin script, Commit script); per duplicate: %d", dup)
}

func TestRouterForget(t *testing.T) {
	t.Parallel()
	for _, c := range coordinators() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			r := bot.NewRouter(newFakeEngine(t), c.new(t)(), bot.Options{Apology: testApology})
			b := booker("1")
			for i := range 3 {
				if _, err := r.Handle(ctx, update(b, strconv.Itoa(i), "hello")); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Forget(ctx, b); err != nil {
				t.Fatalf("Forget = %v", err)
			}
			res, err := r.Handle(ctx, update(b, "9", "hello"))
			if err != nil || !cmp.Equal(texts(res), []string{"1"}) {
				t.Errorf("Handle after Forget = %v, %v; want a new session's first step", texts(res), err)
			}
		})
	}
}

func TestRouterClose(t *testing.T) {
	t.Parallel()
	engine := newFakeEngine(t)
	coord := bot.NewMemoryCoordinator(dialog.NewMemoryStore(time.Now, 0), time.Now)
	r := bot.NewRouter(engine, coord, bot.Options{Apology: testApology})
	var got atomic.Value
	if err := r.Dispatch(context.Background(), update(booker("1"), "1", "block"), func(res dialog.Result, err error) {
		got.Store(texts(res))
	}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := r.Handle(context.Background(), update(booker("2"), "1", "hello")); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Handle after Close = %v, want %v", err, bot.ErrClosed)
	}
	if err := r.Dispatch(context.Background(), update(booker("2"), "1", "hello"), nil); !errors.Is(err, bot.ErrClosed) {
		t.Errorf("Dispatch after Close = %v, want %v", err, bot.ErrClosed)
	}
	close(engine.release)
	r.Wait()
	if diff := cmp.Diff([]string{"1"}, got.Load()); diff != "" {
		t.Errorf("in-flight update's answer mismatch (-want +got):\n%s", diff)
	}
}

func TestRouterTimeoutInEngine(t *testing.T) {
	t.Parallel()
	coord := bot.NewMemoryCoordinator(dialog.NewMemoryStore(time.Now, 0), time.Now)
	r := bot.NewRouter(newFakeEngine(t), coord, bot.Options{Apology: testApology, Timeout: 50 * time.Millisecond})
	res, err := r.Handle(context.Background(), update(booker("1"), "1", "block"))
	if err != nil || !cmp.Equal(keys(res), []string{bot.KeyUnavailable}) {
		t.Errorf("Handle(engine past its deadline) = %v, %v; want %s", keys(res), err, bot.KeyUnavailable)
	}
}

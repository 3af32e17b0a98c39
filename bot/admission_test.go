package bot

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
)

// Both coordinators let the router read where a booker stands.
var (
	_ sessionPeeker = (*redisstore.Store)(nil)
	_ sessionPeeker = (*MemoryCoordinator)(nil)
)

// fakeClock is a clock moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// gateEngine plays a conversation by the texts it is given:
//
//	"flow"      opens a flow (the booker is in a conversation)
//	"consent"   opens a flow with the consent given
//	"exit"      ends the flow
//	"hold"      blocks until gate is closed (or the deadline)
//	"holdfast"  blocks until gate is closed
//	"take:<d>"  moves the clock d on, as if the step took that long
//
// and records the order in which bookers' updates were worked on.
type gateEngine struct {
	clock *fakeClock
	gate  chan struct{}
	held  chan struct{} // closed when a "hold" step has begun

	mu    sync.Mutex
	order []string
}

func (e *gateEngine) Step(ctx context.Context, b booking.Booker, s *dialog.Session, in dialog.Input) (dialog.Result, error) {
	e.mu.Lock()
	e.order = append(e.order, b.ID+" "+in.Text)
	e.mu.Unlock()
	switch {
	case in.Text == "flow":
		s.Answers.Flow = "book"
	case in.Text == "consent":
		s.Answers.Flow, s.Answers.ConsentAt = "book", e.clock.now()
	case in.Text == "exit":
		s.Answers = dialog.Answers{}
	case in.Text == "hold":
		close(e.held)
		select {
		case <-e.gate:
		case <-ctx.Done():
			return dialog.Result{}, ctx.Err()
		}
	case in.Text == "holdfast": // as hold, past the deadline too
		close(e.held)
		<-e.gate
	case strings.HasPrefix(in.Text, "take:"):
		d, err := time.ParseDuration(strings.TrimPrefix(in.Text, "take:"))
		if err != nil {
			return dialog.Result{}, err
		}
		e.clock.advance(d)
	}
	s.Lang = "en"
	return dialog.Result{Replies: []dialog.Reply{{Key: "step", Text: in.Text}}, Lang: s.Lang}, nil
}

func (e *gateEngine) worked() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.order...)
}

// admissionRouter is a router with one worker and a queue of maxQueue over
// an in-process session store, on a fake clock.
func admissionRouter(t *testing.T, maxQueue int) (*Router, *gateEngine, *fakeClock) {
	t.Helper()
	return admissionRouterTimeout(t, maxQueue, 10*time.Second)
}

func admissionRouterTimeout(t *testing.T, maxQueue int, timeout time.Duration) (*Router, *gateEngine, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	e := &gateEngine{clock: clock, gate: make(chan struct{}), held: make(chan struct{})}
	coord := NewMemoryCoordinator(dialog.NewMemoryStore(clock.now, time.Hour), clock.now)
	r := NewRouter(e, coord, Options{Now: clock.now, Timeout: timeout, Workers: 1, MaxQueue: maxQueue,
		LockTTL: time.Hour, Apology: func(lang, key string) dialog.Result {
			return dialog.Result{Replies: []dialog.Reply{{Key: key}}, Lang: lang}
		}})
	t.Cleanup(func() { close(e.gate); r.Close(); r.Wait() })
	return r, e, clock
}

func tgBooker(id string) booking.Booker {
	return booking.Booker{Channel: booking.ChannelTelegram, ID: id}
}

// say hands the router one update of booker id and returns a channel that
// receives the key of the first reply.
func say(t *testing.T, r *Router, id, text string) <-chan string {
	t.Helper()
	got := make(chan string, 1)
	u := Update{Booker: tgBooker(id), ID: id + "-" + text, Input: dialog.Input{Kind: dialog.InputText, Text: text}}
	err := r.Dispatch(context.Background(), u, func(res dialog.Result, err error) {
		if err != nil || len(res.Replies) == 0 {
			got <- "error"
			return
		}
		got <- res.Replies[0].Key
	})
	if err != nil {
		t.Fatalf("Dispatch(%s) = %v", id, err)
	}
	return got
}

// waitAdmission waits until n updates wait for a worker: the order the test
// builds does not depend on the scheduler.
func waitAdmission(t *testing.T, r *Router, n int) {
	t.Helper()
	for range 10000 {
		r.adm.mu.Lock()
		q := r.adm.queued
		r.adm.mu.Unlock()
		if q == n {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatalf("never %d updates queued", n)
}

// TestAdmissionFullQueue: with the one worker busy and the queue full, a
// newcomer is asked to come back at once; a booker in a conversation is
// queued all the same, taking a waiting newcomer's place; and the bookers
// past consent are served first.
func TestAdmissionFullQueue(t *testing.T) {
	r, e, _ := admissionRouter(t, 2)
	for _, s := range []struct{ id, text string }{{"talking", "flow"}, {"consented", "consent"}, {"left", "flow"}} {
		if key := <-say(t, r, s.id, s.text); key != "step" {
			t.Fatalf("%s %s: reply %q, want step", s.id, s.text, key)
		}
	}
	if key := <-say(t, r, "left", "exit"); key != "step" {
		t.Fatalf("left exit: reply %q, want step", key)
	}

	holding := say(t, r, "holder", "hold")
	<-e.held
	early := say(t, r, "early", "hello") // a newcomer: queued, the queue has room
	waitAdmission(t, r, 1)
	talking := say(t, r, "talking", "answer")
	waitAdmission(t, r, 2)
	consented := say(t, r, "consented", "answer") // the queue is full: early makes room
	if key := <-early; key != KeyBusy {
		t.Errorf("newcomer waiting when the queue filled: reply %q, want %q", key, KeyBusy)
	}
	waitAdmission(t, r, 2)
	if key := <-say(t, r, "late", "hello"); key != KeyBusy {
		t.Errorf("newcomer to a full queue: reply %q, want %q", key, KeyBusy)
	}
	if key := <-say(t, r, "left", "hello"); key != KeyBusy {
		t.Errorf("booker whose flow ended, to a full queue: reply %q, want %q", key, KeyBusy)
	}

	e.gate <- struct{}{}
	for name, ch := range map[string]<-chan string{"holder": holding, "talking": talking, "consented": consented} {
		if key := <-ch; key != "step" {
			t.Errorf("%s: reply %q, want step", name, key)
		}
	}
	want := []string{"talking flow", "consented consent", "left flow", "left exit", "holder hold",
		"consented answer", "talking answer"}
	if diff := cmp.Diff(want, e.worked()); diff != "" {
		t.Errorf("work done (-want +got):\n%s", diff)
	}
}

// TestAdmissionDeadline: by the recent service times, a newcomer whose
// update could not be finished within the timeout is refused on arrival,
// and one who has waited too long is refused rather than started; a booker
// in a conversation who waited as long is served.
func TestAdmissionDeadline(t *testing.T) {
	r, e, clock := admissionRouter(t, 100)
	if key := <-say(t, r, "talking", "flow"); key != "step" {
		t.Fatalf("talking flow: reply %q", key)
	}
	if key := <-say(t, r, "slow", "take:6s"); key != "step" { // the service time is now about 6s
		t.Fatalf("slow: reply %q", key)
	}

	holding := say(t, r, "holder", "hold")
	<-e.held
	first := say(t, r, "first", "hello") // 6s to go: in time
	waitAdmission(t, r, 1)
	if key := <-say(t, r, "second", "hello"); key != KeyBusy { // 12s to go: refused at once
		t.Errorf("newcomer who could not be served in time: reply %q, want %q", key, KeyBusy)
	}
	talking := say(t, r, "talking", "answer")
	waitAdmission(t, r, 2)
	clock.advance(5 * time.Second) // first has now waited 5s: 5s + 6s is past the timeout
	e.gate <- struct{}{}
	if key := <-holding; key != "step" {
		t.Errorf("holder: reply %q, want step", key)
	}
	if key := <-talking; key != "step" {
		t.Errorf("booker in a conversation who waited: reply %q, want step", key)
	}
	if key := <-first; key != KeyBusy {
		t.Errorf("newcomer who waited past what the timeout allows: reply %q, want %q", key, KeyBusy)
	}
	for _, w := range e.worked() {
		if strings.HasPrefix(w, "first") || strings.HasPrefix(w, "second") {
			t.Errorf("refused newcomer's update was worked on: %q", w)
		}
	}
}

// TestStanding: the router remembers where each booker stands after their
// update, and forgets a booker it is told to forget.
func TestStanding(t *testing.T) {
	r, _, _ := admissionRouter(t, 10)
	for _, c := range []struct {
		text string
		want Standing
	}{{"hello", Newcomer}, {"flow", InConversation}, {"consent", PastConsent}, {"exit", Newcomer}} {
		<-say(t, r, "b", c.text)
		if got := r.Standing(tgBooker("b")); got != c.want {
			t.Errorf("after %q: Standing = %v, want %v", c.text, got, c.want)
		}
	}
	<-say(t, r, "b", "consent")
	if err := r.Forget(context.Background(), tgBooker("b")); err != nil {
		t.Fatal(err)
	}
	if got := r.Standing(tgBooker("b")); got != Newcomer {
		t.Errorf("after Forget: Standing = %v, want Newcomer", got)
	}
}

// TestAdmissionNewcomerWait: a newcomer kept waiting (here by a worker
// that does not finish) is asked to come back after NewcomerWait, or the
// timeout when shorter, not left waiting in silence.
func TestAdmissionNewcomerWait(t *testing.T) {
	r, e, _ := admissionRouterTimeout(t, 10, 50*time.Millisecond)
	say(t, r, "holder", "holdfast")
	<-e.held
	if key := <-say(t, r, "newcomer", "hello"); key != KeyBusy {
		t.Errorf("newcomer kept waiting: reply %q, want %q", key, KeyBusy)
	}
}

// TestAdmissionNoticeNotRefused: the outbox's notice for a booker with no
// flow open is not a newcomer's update: to a full queue it is queued (a
// waiting newcomer makes room), never answered with the waiting message,
// which would speak to a booker who said nothing.
func TestAdmissionNoticeNotRefused(t *testing.T) {
	r, e, _ := admissionRouter(t, 1)
	holding := say(t, r, "holder", "hold")
	<-e.held
	early := say(t, r, "early", "hello")
	waitAdmission(t, r, 1)
	got := make(chan string, 1)
	u := Update{Booker: tgBooker("reminded"), ID: "notice-1-1", Input: dialog.Input{Kind: dialog.InputNotice, Text: "notice"}}
	if err := r.Dispatch(context.Background(), u, func(res dialog.Result, err error) {
		if err != nil || len(res.Replies) == 0 {
			got <- "error"
			return
		}
		got <- res.Replies[0].Key
	}); err != nil {
		t.Fatalf("Dispatch(notice) = %v", err)
	}
	if key := <-early; key != KeyBusy {
		t.Errorf("newcomer waiting when the notice came to a full queue: reply %q, want %q", key, KeyBusy)
	}
	e.gate <- struct{}{}
	if key := <-holding; key != "step" {
		t.Errorf("holder: reply %q, want step", key)
	}
	if key := <-got; key != "step" {
		t.Errorf("notice to a full queue: reply %q, want step (worked, not refused)", key)
	}
}

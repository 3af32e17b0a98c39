package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/bot/telegram"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
	"github.com/clinicbot/clinicbot/dialog"
)

// handlerFunc adapts a function to bot.Handler.
type handlerFunc func(ctx context.Context, u bot.Update) (dialog.Result, error)

// handlerLines orders the fakes' updates per chat, as the router does.
var handlerLines bot.Lines

func (f handlerFunc) Go(ctx context.Context, b booking.Booker, job func(context.Context)) error {
	return handlerLines.Go(ctx, b, job)
}

func (f handlerFunc) Handle(ctx context.Context, u bot.Update) (dialog.Result, error) {
	return f(ctx, u)
}

// logs is a concurrency-safe log sink.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// errorLines returns the ERROR records logged.
func (l *logs) errorLines() []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return out
}

// sleeps records the waits a Bot asked for and returns at once.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ds)
}

// forgetter records the bookers forgotten.
type forgetter struct {
	mu      sync.Mutex
	bookers []booking.Booker
}

func (f *forgetter) Forget(_ context.Context, b booking.Booker) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bookers = append(f.bookers, b)
	return nil
}

func (f *forgetter) all() []booking.Booker {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bookers)
}

type fixture struct {
	srv    *telegramtest.Server
	bot    *telegram.Bot
	logs   *logs
	sleeps *sleeps
	forgot *forgetter
}

// newFixture builds a Bot on a fake server; expectErrors says the test
// expects ERROR logs (otherwise any fails it).
func newFixture(t *testing.T, h bot.Handler, expectErrors bool) *fixture {
	t.Helper()
	f := &fixture{srv: telegramtest.NewServer(t), logs: &logs{}, sleeps: &sleeps{}, forgot: &forgetter{}}
	b, err := telegram.New(telegram.Options{
		Token:       telegram.Token(f.srv.Token),
		Endpoint:    f.srv.Endpoint(),
		Handler:     h,
		Forgetter:   f.forgot,
		Logger:      slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep:       f.sleeps.sleep,
		PollTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.bot = b
	t.Cleanup(func() {
		if errs := f.logs.errorLines(); len(errs) > 0 && !expectErrors {
			t.Errorf("unexpected error logs:\n%s", strings.Join(errs, "\n"))
		}
	})
	return f
}

// poll runs Poll until the test ends.
func (f *fixture) poll(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.bot.Poll(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Poll = %v, want nil", err)
		}
	})
}

// texts returns the texts of msgs.
func texts(msgs []telegramtest.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

func reply(text string, options ...string) dialog.Reply {
	r := dialog.Reply{Key: "k", Text: text, Nonce: "n1"}
	for _, o := range options {
		r.Options = append(r.Options, dialog.Option{ID: strings.ToLower(o), Label: o})
	}
	return r
}

func TestPollHandsUpdatesToHandler(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []bot.Update
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("update context has no deadline")
		}
		mu.Lock()
		got = append(got, u)
		mu.Unlock()
		return dialog.Result{Replies: []dialog.Reply{reply("echo " + u.Input.Text)}, Lang: "en"}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SetLanguage(42, "en-GB")
	id := f.srv.SendText(42, "/start")
	f.poll(t)

	f.srv.WaitFor(t, "the reply", func() bool { return len(f.srv.LastMessages(42)) == 1 })
	if diff := cmp.Diff([]string{"echo /start"}, texts(f.srv.LastMessages(42))); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}
	want := []bot.Update{{
		Booker: booking.Booker{Channel: booking.ChannelTelegram, ID: "42"},
		ID:     strconv.Itoa(id),
		Input:  dialog.Input{Kind: dialog.InputText, Text: "/start", LanguageHint: "en-GB"},
	}}
	mu.Lock()
	diff := cmp.Diff(want, got)
	mu.Unlock()
	if diff != "" {
		t.Errorf("updates handled (-want +got):\n%s", diff)
	}
	f.srv.WaitFor(t, "the update confirmed", func() bool { return len(f.srv.Pending()) == 0 })
}

// TestPollOffsetIsLowWaterMark: a later update finished first does not
// confirm an earlier one still in hand.
func TestPollOffsetIsLowWaterMark(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		if u.Booker.ID == "1" {
			close(started)
			<-release
		}
		return dialog.Result{Replies: []dialog.Reply{reply("ok")}}, nil
	})
	f := newFixture(t, h, false)
	slow := f.srv.SendText(1, "slow")
	f.poll(t)
	<-started
	fast := f.srv.SendText(2, "fast")
	f.srv.WaitFor(t, "the fast reply", func() bool { return len(f.srv.LastMessages(2)) == 1 })
	// The poller polls again once the fast update is done; that poll must
	// confirm neither.
	polls := countCalls(f.srv, "getUpdates")
	f.srv.WaitFor(t, "a poll after the fast update", func() bool { return countCalls(f.srv, "getUpdates") > polls })
	if diff := cmp.Diff([]int{slow, fast}, f.srv.Pending()); diff != "" {
		t.Fatalf("pending while the slow update is in hand (-want +got):\n%s", diff)
	}
	close(release)
	f.srv.WaitFor(t, "both confirmed", func() bool { return len(f.srv.Pending()) == 0 })
}

// TestPollFloodingChatDoesNotBlockOthers: a chat that sends more than the
// bot can answer keeps MaxPerChat updates in hand, handled in order, and
// has the rest dropped (and confirmed) with one notice; another chat is
// answered meanwhile.
func TestPollFloodingChatDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	const flood, other = 1, 2
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	var mu sync.Mutex
	var handled []string
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		if u.Booker.ID == strconv.Itoa(flood) {
			mu.Lock()
			handled = append(handled, u.Input.Text)
			mu.Unlock()
			<-release
		}
		return dialog.Result{Replies: []dialog.Reply{reply("ok " + u.Input.Text)}, Lang: "en"}, nil
	})
	f := newFixture(t, h, false)
	// Fewer slots than the flood: without a bound per chat, its updates
	// waiting their turn would take them all.
	b, err := telegram.New(telegram.Options{
		Token: telegram.Token(f.srv.Token), Endpoint: f.srv.Endpoint(), Handler: h,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)), Sleep: f.sleeps.sleep, PollTimeout: 5 * time.Second,
		MaxInFlight: 8,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.bot = b
	f.srv.SetLanguage(flood, "en")
	var ids []int
	for i := range 30 {
		ids = append(ids, f.srv.SendText(flood, strconv.Itoa(i)))
	}
	f.srv.SendText(other, "hello")
	f.poll(t)
	t.Cleanup(unblock) // before Poll's cleanup: a failed wait must not leave Poll stuck

	f.srv.WaitFor(t, "the other chat's answer", func() bool {
		return slices.Equal(texts(f.srv.LastMessages(other)), []string{"ok hello"})
	})
	// In hand, the flooding chat's first update holds the offset: neither
	// it nor anything after it is confirmed.
	if pending := f.srv.Pending(); len(pending) == 0 || pending[0] != ids[0] {
		t.Errorf("pending while the flooding chat's first update is in hand = %v, want from %d on", pending, ids[0])
	}

	unblock()
	f.srv.WaitFor(t, "every update confirmed", func() bool { return len(f.srv.Pending()) == 0 })
	// The notice comes after the answers to the updates kept.
	const slowDown = "You are sending messages faster than I can answer."
	f.srv.WaitFor(t, "the slow-down notice", func() bool { return hasText(f.srv.Messages(flood), slowDown) })
	if got := texts(f.srv.Messages(flood)); !strings.Contains(got[len(got)-1], slowDown) {
		t.Errorf("the flooding chat's last message = %q, want the slow-down notice after the answers", got[len(got)-1])
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"0", "1", "2", "3"}, handled); diff != "" {
		t.Errorf("flooding chat's updates handled (-want +got):\n%s", diff)
	}
	notices := 0
	for _, m := range f.srv.Messages(flood) {
		if strings.Contains(m.Text, slowDown) {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("slow-down notices = %d, want 1:\n%q", notices, texts(f.srv.Messages(flood)))
	}
}

// TestPollFloodingChatQuietPeriod: once a chat has had updates dropped,
// its next ones are dropped too until it has been quiet a while; then it
// is answered again.
func TestPollFloodingChatQuietPeriod(t *testing.T) {
	t.Parallel()
	const chat = 5
	release := make(chan struct{})
	var mu sync.Mutex
	var handled []string
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		mu.Lock()
		handled = append(handled, u.Input.Text)
		mu.Unlock()
		<-release
		return dialog.Result{Replies: []dialog.Reply{reply("ok")}, Lang: "en"}, nil
	})
	f := newFixture(t, h, false)
	b, err := telegram.New(telegram.Options{
		Token: telegram.Token(f.srv.Token), Endpoint: f.srv.Endpoint(), Handler: h,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)), Sleep: f.sleeps.sleep, PollTimeout: 5 * time.Second,
		Now: clock,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.bot = b
	for i := range 6 {
		f.srv.SendText(chat, strconv.Itoa(i))
	}
	f.poll(t)
	// A second poll: the first batch is dispatched, the excess dropped.
	f.srv.WaitFor(t, "a second poll", func() bool { return countCalls(f.srv, "getUpdates") >= 2 })
	close(release)
	f.srv.WaitFor(t, "the flood confirmed", func() bool { return len(f.srv.Pending()) == 0 })

	f.srv.SendText(chat, "too soon") // nothing in hand, but not quiet yet
	f.srv.WaitFor(t, "too soon confirmed", func() bool { return len(f.srv.Pending()) == 0 })
	mu.Lock()
	now = now.Add(3 * time.Second)
	mu.Unlock()
	f.srv.SendText(chat, "after a pause")
	f.srv.WaitFor(t, "after a pause confirmed", func() bool { return len(f.srv.Pending()) == 0 })

	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"0", "1", "2", "3", "after a pause"}, handled); diff != "" {
		t.Errorf("updates handled (-want +got):\n%s", diff)
	}
}

func countCalls(srv *telegramtest.Server, method string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

// TestPollKeepsChatOrder: one chat's updates are handled one at a time, in
// order, while other chats go on.
func TestPollKeepsChatOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	inChat := map[string]int{}
	var order []string
	first := make(chan struct{})
	release := make(chan struct{})
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		mu.Lock()
		inChat[u.Booker.ID]++
		if inChat[u.Booker.ID] > 1 {
			t.Errorf("chat %s: two updates handled at once", u.Booker.ID)
		}
		order = append(order, u.Booker.ID+":"+u.Input.Text)
		mu.Unlock()
		if u.Input.Text == "a1" {
			close(first)
			<-release
		}
		mu.Lock()
		inChat[u.Booker.ID]--
		mu.Unlock()
		return dialog.Result{Replies: []dialog.Reply{reply("re " + u.Input.Text)}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SendText(1, "a1")
	f.srv.SendText(1, "a2")
	f.srv.SendText(2, "b1")
	f.poll(t)
	<-first
	f.srv.WaitFor(t, "chat 2 answered", func() bool { return len(f.srv.LastMessages(2)) == 1 })
	close(release)
	f.srv.WaitFor(t, "chat 1 answered twice", func() bool {
		return slices.Equal(texts(f.srv.LastMessages(1)), []string{"re a1", "re a2"}) && len(f.srv.Pending()) == 0
	})
	mu.Lock()
	defer mu.Unlock()
	var chat1 []string
	for _, o := range order {
		if strings.HasPrefix(o, "1:") {
			chat1 = append(chat1, o)
		}
	}
	if diff := cmp.Diff([]string{"1:a1", "1:a2"}, chat1); diff != "" {
		t.Errorf("chat 1 order (-want +got):\n%s", diff)
	}
}

// TestPollStopsAfterUpdatesInHand: Poll returns when its context ends,
// only after the update in hand is done, and confirms it.
func TestPollStopsAfterUpdatesInHand(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		close(started)
		<-release
		return dialog.Result{Replies: []dialog.Reply{reply("done")}}, ctx.Err()
	})
	f := newFixture(t, h, false)
	f.srv.SendText(7, "hello")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.bot.Poll(ctx) }()
	<-started
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Poll returned %v with an update in hand", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Poll = %v, want nil", err)
	}
	if diff := cmp.Diff([]string{"done"}, texts(f.srv.LastMessages(7))); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}
	if p := f.srv.Pending(); len(p) != 0 {
		t.Errorf("pending after Poll returned = %v, want none", p)
	}
}

func TestButtons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		result      dialog.Result
		wantAnswer  telegramtest.Answer
		wantMsgs    []string // bot messages in the chat, in order
		wantEdits   int      // successful edits of the pressed prompt
		wantOldKeys bool     // the pressed prompt keeps a keyboard
	}{
		{
			name:      "replace_edits_in_place",
			result:    dialog.Result{Replies: []dialog.Reply{{Key: "k", Text: "step 2", Nonce: "n2", Replace: true, Options: []dialog.Option{{ID: "ok", Label: "OK"}}}}},
			wantMsgs:  []string{"step 2"},
			wantEdits: 1, wantOldKeys: true,
		},
		{
			// One call a press: the pressed prompt keeps its keyboard (a
			// press on it is answered as stale) rather than cost a second.
			name:        "new_message_leaves_the_prompt",
			result:      dialog.Result{Replies: []dialog.Reply{reply("step 2", "OK")}},
			wantMsgs:    []string{"step 1", "step 2"},
			wantOldKeys: true,
		},
		{
			name:        "not_modified_is_ignored",
			result:      dialog.Result{Replies: []dialog.Reply{{Key: "k", Text: "step 1", Nonce: "n1", Replace: true, Options: []dialog.Option{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}}}}},
			wantMsgs:    []string{"step 1"},
			wantOldKeys: true,
		},
		{
			name:        "duplicate_changes_nothing",
			result:      dialog.Result{},
			wantMsgs:    []string{"step 1"},
			wantOldKeys: true,
		},
		{
			name: "stale_button_alerts_and_resends",
			result: dialog.Result{Lang: "en", Replies: []dialog.Reply{
				{Key: "stale", Text: "That button is old."},
				{Key: "k", Text: "current step", Nonce: "n9", Replace: true, Options: []dialog.Option{{ID: "a", Label: "A"}}},
			}},
			wantAnswer:  telegramtest.Answer{Text: "That button is old.", ShowAlert: true},
			wantMsgs:    []string{"step 1", "current step"},
			wantOldKeys: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var inputs []dialog.Input
			h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
				mu.Lock()
				defer mu.Unlock()
				inputs = append(inputs, u.Input)
				if u.Input.Kind == dialog.InputText {
					return dialog.Result{Replies: []dialog.Reply{reply("step 1", "Yes", "No")}}, nil
				}
				return tt.result, nil
			})
			f := newFixture(t, h, false)
			f.srv.SendText(5, "/start")
			f.poll(t)
			f.srv.WaitFor(t, "step 1", func() bool { return len(f.srv.LastMessages(5)) == 1 })
			prompt := f.srv.LastMessages(5)[0]
			f.srv.PressButton(t, 5, "Yes")
			f.srv.WaitFor(t, "the answer", func() bool { return len(f.srv.Answers()) == 1 && len(f.srv.Pending()) == 0 })

			mu.Lock()
			gotInput := inputs[len(inputs)-1]
			mu.Unlock()
			if diff := cmp.Diff(dialog.Input{Kind: dialog.InputOption, Option: "yes", Nonce: "n1"}, gotInput); diff != "" {
				t.Errorf("input of the press (-want +got):\n%s", diff)
			}
			ans := f.srv.Answers()[0]
			ans.QueryID, ans.ChatID = "", 0
			if diff := cmp.Diff(tt.wantAnswer, ans); diff != "" {
				t.Errorf("callback answer (-want +got):\n%s", diff)
			}
			var bots []telegramtest.Message
			for _, m := range f.srv.Messages(5) {
				if m.FromBot {
					bots = append(bots, m)
				}
			}
			if diff := cmp.Diff(tt.wantMsgs, texts(bots)); diff != "" {
				t.Errorf("bot messages (-want +got):\n%s", diff)
			}
			if bots[0].Edits != tt.wantEdits {
				t.Errorf("prompt edits = %d, want %d", bots[0].Edits, tt.wantEdits)
			}
			if bots[0].ID != prompt.ID {
				t.Errorf("first bot message ID = %d, want the prompt's %d", bots[0].ID, prompt.ID)
			}
			if keys := len(bots[0].Buttons) > 0; keys != tt.wantOldKeys {
				t.Errorf("pressed prompt has buttons = %v, want %v", keys, tt.wantOldKeys)
			}
		})
	}
}

func TestCallbackDataTooLongFailsLoudly(t *testing.T) {
	t.Parallel()
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		r := reply("pick")
		r.Options = []dialog.Option{{ID: strings.Repeat("x", 70), Label: "X"}}
		return dialog.Result{Replies: []dialog.Reply{r, reply("after")}}, nil
	})
	f := newFixture(t, h, true)
	f.srv.SendText(3, "hi")
	f.poll(t)
	f.srv.WaitFor(t, "the next reply", func() bool { return len(f.srv.LastMessages(3)) == 1 })
	if diff := cmp.Diff([]string{"after"}, texts(f.srv.LastMessages(3))); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if errs := f.logs.errorLines(); len(errs) != 1 || !strings.Contains(errs[0], "over 64") {
		t.Errorf("error logs = %q, want one about callback data over 64 bytes", errs)
	}
}

func TestContact(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got dialog.Input
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		got = u.Input
		if u.Input.Kind == dialog.InputContact {
			return dialog.Result{Replies: []dialog.Reply{reply("thanks")}}, nil
		}
		return dialog.Result{Lang: "en", Replies: []dialog.Reply{{Key: "mobile", Text: "Mobile number?"}}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SendText(8, "go")
	f.poll(t)
	f.srv.WaitFor(t, "the phone prompt", func() bool { return len(f.srv.LastMessages(8)) == 1 })
	prompt := f.srv.LastMessages(8)[0]
	// The number asked is the patient's: no button that sends the
	// booker's own. A contact card shared anyway is read as the answer.
	if prompt.ContactButton != "" {
		t.Errorf("prompt offers contact button %q, want none", prompt.ContactButton)
	}
	f.srv.SendContact(8, "+852 9123 4567")
	f.srv.WaitFor(t, "the thanks", func() bool { return slices.Equal(texts(f.srv.LastMessages(8)), []string{"thanks"}) })
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(dialog.Input{Kind: dialog.InputContact, Phone: "+852 9123 4567"}, got); diff != "" {
		t.Errorf("contact input (-want +got):\n%s", diff)
	}
	if m := f.srv.LastMessages(8)[0]; !m.RemoveKeyboard {
		t.Error("the reply after the contact does not remove the contact keyboard")
	}
}

// TestSensitiveMessageDeleted: every message with personal data is
// deleted; the booker is told so at the first one of the conversation only.
func TestSensitiveMessageDeleted(t *testing.T) {
	t.Parallel()
	const id, dob = "A1234563", "1970"
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		if u.Input.Text == id {
			return dialog.Result{Sensitive: true, FirstSensitive: true, Lang: "zh-HK", Replies: []dialog.Reply{reply("證件號碼：A123***(*)")}}, nil
		}
		return dialog.Result{Sensitive: true, Lang: "zh-HK", Replies: []dialog.Reply{reply("出生日期？")}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SendText(9, id)
	f.poll(t)
	f.srv.WaitFor(t, "the reply", func() bool { return len(f.srv.LastMessages(9)) == 1 })
	// The notice heads the next question: no message of its own.
	want := []string{"為保障私隱，我已刪除你剛才載有病人個人資料的訊息，以免共用這部電話的人看到。\n\n證件號碼：A123***(*)"}
	if diff := cmp.Diff(want, texts(f.srv.LastMessages(9))); diff != "" {
		t.Errorf("replies to the first (-want +got):\n%s", diff)
	}
	f.srv.SendText(9, dob)
	f.srv.WaitFor(t, "the second reply", func() bool { return slices.Equal(texts(f.srv.LastMessages(9)), []string{"出生日期？"}) })
	for _, m := range f.srv.Messages(9) {
		if !m.FromBot && !m.Deleted {
			t.Errorf("message %q with personal data was not deleted", m.Text)
		}
	}
	if strings.Contains(f.logs.String(), id) {
		t.Error("the ID number reached the log")
	}
}

func TestAttachments(t *testing.T) {
	t.Parallel()
	ics := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		r := reply("Booked.")
		r.Calendar = &dialog.File{Name: "clinicbot-K7QM4X2P.ics", MIME: "text/calendar", Data: ics}
		r.Location = &dialog.Location{Name: "Wan Tsui GOPC", Address: "2 Wan Tsui Road", Lat: 22.2655, Lng: 114.2376}
		noMap := reply("No map.")
		noMap.Location = &dialog.Location{Name: "Clinic", Address: "1 Road"}
		nothing := reply("Nothing known.")
		nothing.Location = &dialog.Location{Name: "Clinic"}
		return dialog.Result{Replies: []dialog.Reply{r, noMap, nothing}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SendText(11, "ok")
	f.poll(t)
	f.srv.WaitFor(t, "five messages", func() bool { return len(f.srv.LastMessages(11)) == 5 })
	msgs := f.srv.LastMessages(11)
	// The booking's text is the calendar file's caption: one message.
	if d := msgs[0].Document; d == nil || d.Name != "clinicbot-K7QM4X2P.ics" || !bytes.Equal(d.Data, ics) || msgs[0].Caption != "Booked." {
		t.Errorf("document = %+v caption %q, want the .ics with caption Booked.", d, msgs[0].Caption)
	}
	wantVenue := &telegramtest.Venue{Lat: 22.2655, Lng: 114.2376, Title: "Wan Tsui GOPC", Address: "2 Wan Tsui Road"}
	if diff := cmp.Diff(wantVenue, msgs[1].Venue); diff != "" {
		t.Errorf("venue (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"", "", "No map.", "Clinic\n1 Road", "Nothing known."}, texts(msgs)); diff != "" {
		t.Errorf("texts (-want +got):\n%s", diff)
	}
}

// TestAttachmentLongText: a text too long for a caption goes before the
// calendar file, as a message of its own.
func TestAttachmentLongText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("診", 1100)
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		r := reply(long, "OK")
		r.Calendar = &dialog.File{Name: "b.ics", MIME: "text/calendar", Data: []byte("BEGIN:VCALENDAR")}
		return dialog.Result{Replies: []dialog.Reply{r}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SendText(13, "ok")
	f.poll(t)
	f.srv.WaitFor(t, "two messages", func() bool { return len(f.srv.LastMessages(13)) == 2 })
	msgs := f.srv.LastMessages(13)
	if msgs[0].Text != long || len(msgs[0].Buttons) != 1 || msgs[1].Document == nil || msgs[1].Caption != "" {
		t.Errorf("messages = %d runes with %d button rows, then document %+v caption %q; want the text with its button, then the file",
			len([]rune(msgs[0].Text)), len(msgs[0].Buttons), msgs[1].Document, msgs[1].Caption)
	}
}

func TestLongTextSplit(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("診", 99) + "\n" // 100 units
	long := strings.Repeat(line, 50)       // 5000 units
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		return dialog.Result{Replies: []dialog.Reply{reply(long, "OK")}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SendText(12, "x")
	f.poll(t)
	f.srv.WaitFor(t, "two messages", func() bool { return len(f.srv.LastMessages(12)) == 2 })
	msgs := f.srv.LastMessages(12)
	if msgs[0].Text != strings.Repeat(line, 40) || msgs[1].Text != strings.Repeat(line, 10) {
		t.Errorf("split into %d and %d runes, want 40 and 10 lines", len([]rune(msgs[0].Text)), len([]rune(msgs[1].Text)))
	}
	if len(msgs[0].Buttons) != 0 || len(msgs[1].Buttons) != 1 {
		t.Errorf("buttons on parts = %d, %d; want 0, 1", len(msgs[0].Buttons), len(msgs[1].Buttons))
	}
}

func TestGroupChatAskedToGoPrivate(t *testing.T) {
	t.Parallel()
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		t.Errorf("handler called for %+v", u.Booker)
		return dialog.Result{}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SetLanguage(77, "en")
	f.srv.SendGroupText(-100, 77, "/start")
	f.srv.SendSticker(78)
	f.poll(t)
	f.srv.WaitFor(t, "both answered", func() bool {
		return len(f.srv.LastMessages(-100)) == 1 && len(f.srv.LastMessages(78)) == 1 && len(f.srv.Pending()) == 0
	})
	if got := f.srv.LastMessages(-100)[0].Text; !strings.Contains(got, "private chat") {
		t.Errorf("group reply = %q, want the private-chat request", got)
	}
	if got := f.srv.LastMessages(78)[0].Text; got != "我只能讀取文字、按鈕和分享的聯絡人。" {
		t.Errorf("sticker reply = %q", got)
	}
}

func TestRateLimitedRetried(t *testing.T) {
	t.Parallel()
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		// "one" has a button: the two are not joined into one message.
		return dialog.Result{Replies: []dialog.Reply{reply("one", "A"), reply("two")}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.FailNext("sendMessage", http.StatusTooManyRequests, 1)
	f.srv.SendText(13, "x")
	f.poll(t)
	f.srv.WaitFor(t, "both replies", func() bool { return len(f.srv.LastMessages(13)) == 2 })
	if diff := cmp.Diff([]string{"one", "two"}, texts(f.srv.LastMessages(13))); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}
	var statuses []int
	for _, c := range f.srv.Calls() {
		if c.Method == "sendMessage" {
			statuses = append(statuses, c.Status)
		}
	}
	if diff := cmp.Diff([]int{429, 200, 200}, statuses); diff != "" {
		t.Errorf("sendMessage statuses (-want +got):\n%s", diff)
	}
	if !slices.Contains(f.sleeps.all(), time.Second) {
		t.Errorf("sleeps = %v, want retry_after 1s among them", f.sleeps.all())
	}
}

// TestRateLimitedPausesEveryChat: after a 429, a message to another chat
// waits out the same retry_after instead of running into the limit again.
func TestRateLimitedPausesEveryChat(t *testing.T) {
	t.Parallel()
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		return dialog.Result{Replies: []dialog.Reply{reply("ok")}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.FailNext("sendMessage", http.StatusTooManyRequests, 60)
	f.srv.SendText(13, "x")
	f.poll(t)
	f.srv.WaitFor(t, "chat 13's reply", func() bool { return len(f.srv.LastMessages(13)) == 1 })
	before := len(f.sleeps.all())
	f.srv.SendText(14, "y")
	f.srv.WaitFor(t, "chat 14's reply", func() bool { return len(f.srv.LastMessages(14)) == 1 })
	// The sleeps are recorded, not slept, so the pause of 60 s is still on
	// when chat 14's reply reserves its turn.
	after := f.sleeps.all()[before:]
	if len(after) != 1 || after[0] < 50*time.Second || after[0] > time.Minute {
		t.Errorf("sleeps before chat 14's reply = %v, want one wait of almost 60s", after)
	}
}

func TestBlockedBookerForgotten(t *testing.T) {
	t.Parallel()
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		return dialog.Result{Replies: []dialog.Reply{reply("one"), reply("two")}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.Block(14)
	f.srv.SendText(14, "x")
	f.poll(t)
	f.srv.WaitFor(t, "the booker forgotten", func() bool { return len(f.forgot.all()) == 1 })
	if diff := cmp.Diff([]booking.Booker{{Channel: booking.ChannelTelegram, ID: "14"}}, f.forgot.all()); diff != "" {
		t.Errorf("forgotten (-want +got):\n%s", diff)
	}
	f.srv.WaitFor(t, "the update confirmed", func() bool { return len(f.srv.Pending()) == 0 })
	if n := countCalls(f.srv, "sendMessage"); n != 1 {
		t.Errorf("sendMessage calls = %d, want 1 (nothing after the 403)", n)
	}
}

func TestWebhookHandler(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	handled := 0
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		mu.Lock()
		handled++
		mu.Unlock()
		return dialog.Result{Replies: []dialog.Reply{reply("hi")}}, nil
	})
	f := newFixture(t, h, false)
	f.srv.SendText(15, "seed the chat") // so that the chat exists
	handler := f.bot.WebhookHandler("s3cret-Token_1")
	body := `{"update_id":9001,"message":{"message_id":50,"date":1,"chat":{"id":15,"type":"private"},"from":{"id":15,"is_bot":false,"first_name":"A"},"text":"hello"}}`
	tests := []struct {
		name   string
		method string
		secret string
		want   int
	}{
		{"wrong_secret", http.MethodPost, "s3cret-Token_2", http.StatusUnauthorized},
		{"no_secret", http.MethodPost, "", http.StatusUnauthorized},
		{"not_post", http.MethodGet, "s3cret-Token_1", http.StatusMethodNotAllowed},
		{"right_secret", http.MethodPost, "s3cret-Token_1", http.StatusOK},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, "/telegram", strings.NewReader(body))
		if tt.secret != "" {
			req.Header.Set(telegram.SecretHeader, tt.secret)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s: status = %d, want %d", tt.name, rec.Code, tt.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if handled != 1 {
		t.Errorf("updates handled = %d, want 1 (only with the right secret)", handled)
	}
	if got := texts(f.srv.LastMessages(15)); !slices.Equal(got, []string{"hi"}) {
		t.Errorf("replies = %q, want [hi]", got)
	}
}

func TestSetWebhookDelivers(t *testing.T) {
	t.Parallel()
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		return dialog.Result{Replies: []dialog.Reply{reply("via webhook")}}, nil
	})
	f := newFixture(t, h, false)
	ts := httptest.NewServer(f.bot.WebhookHandler("abc_DEF-123"))
	t.Cleanup(ts.Close)
	ctx := context.Background()
	if err := f.bot.SetWebhook(ctx, ts.URL, "bad secret!"); err == nil {
		t.Error("SetWebhook with a bad secret succeeded")
	}
	if err := f.bot.SetWebhook(ctx, ts.URL, "abc_DEF-123"); err != nil {
		t.Fatalf("SetWebhook: %v", err)
	}
	want := telegramtest.Webhook{URL: ts.URL, Secret: "abc_DEF-123", AllowedUpdates: []string{"message", "callback_query"}}
	if diff := cmp.Diff(want, f.srv.CurrentWebhook()); diff != "" {
		t.Errorf("webhook (-want +got):\n%s", diff)
	}
	f.srv.SendText(16, "hello")
	f.srv.WaitFor(t, "the reply", func() bool { return len(f.srv.LastMessages(16)) == 1 })
	f.srv.WaitFor(t, "the delivery", func() bool { return len(f.srv.Deliveries()) == 1 })
	if got := f.srv.Deliveries()[0].Status; got != http.StatusOK {
		t.Errorf("delivery status = %d, want 200", got)
	}
}

func TestSetCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t, handlerFunc(func(context.Context, bot.Update) (dialog.Result, error) {
		return dialog.Result{}, nil
	}), false)
	if err := f.bot.SetCommands(context.Background()); err != nil {
		t.Fatalf("SetCommands: %v", err)
	}
	got := f.srv.Commands()
	if len(got) != 3 {
		t.Fatalf("command lists = %d, want 3 (\"\", en, zh)", len(got))
	}
	want := map[string]string{"": "主選單", "en": "Main menu", "zh": "主選單"}
	for code, desc := range want {
		if len(got[code]) == 0 || got[code][0].Command != "start" || got[code][0].Description != desc {
			t.Errorf("commands[%q] = %+v, want start first with %q", code, got[code], desc)
		}
	}
}

func TestTokenNeverShown(t *testing.T) {
	t.Parallel()
	const secret = "987654:SECRET-token-value"
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", telegram.Token(secret))
	shown := []string{
		telegram.Token(secret).String(),
		buf.String(),
	}
	// A transport error names the URL, which holds the token.
	b, err := telegram.New(telegram.Options{
		Token:    secret,
		Endpoint: "http://127.0.0.1:1/bot%s/%s",
		Handler:  handlerFunc(func(context.Context, bot.Update) (dialog.Result, error) { return dialog.Result{}, nil }),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = b.Check(context.Background())
	if err == nil {
		t.Fatal("Check against a closed port succeeded")
	}
	shown = append(shown, err.Error())
	for _, s := range shown {
		if strings.Contains(s, "SECRET") {
			t.Errorf("token shown in %q", s)
		}
	}
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	_, err := telegram.New(telegram.Options{Endpoint: "http://x/%s"})
	if err == nil {
		t.Fatal("New with no token, no handler and a bad endpoint succeeded")
	}
	for _, want := range []string{"token", "handler", "endpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New error %q does not mention %s", err, want)
		}
	}
}

func TestAPIErrorIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    *telegram.APIError
		target error
	}{
		{"forbidden", &telegram.APIError{Code: 403, Description: "Forbidden: bot was blocked by the user"}, telegram.ErrForbidden},
		{"not_modified", &telegram.APIError{Code: 400, Description: "Bad Request: message is not modified: specified new message content"}, telegram.ErrNotModified},
		{"edit_not_found", &telegram.APIError{Code: 400, Description: "Bad Request: message to edit not found"}, telegram.ErrMessageGone},
		{"too_many", &telegram.APIError{Code: 429, Description: "Too Many Requests: retry after 1"}, telegram.ErrTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.target) {
				t.Errorf("errors.Is(%v, %v) = false, want true", tt.err, tt.target)
			}
			for _, other := range []error{telegram.ErrForbidden, telegram.ErrNotModified, telegram.ErrMessageGone, telegram.ErrTooManyRequests} {
				if other != tt.target && errors.Is(tt.err, other) {
					t.Errorf("errors.Is(%v, %v) = true, want false", tt.err, other)
				}
			}
		})
	}
}

// TestPanicDoesNotStall: an update whose handling panics is logged and
// confirmed, and the next is handled (a restart would otherwise meet the
// same update again).
func TestPanicDoesNotStall(t *testing.T) {
	t.Parallel()
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		if u.Input.Text == "boom" {
			panic("engine bug with A123456(3)")
		}
		return dialog.Result{Replies: []dialog.Reply{reply("fine")}}, nil
	})
	f := newFixture(t, h, true)
	f.srv.SendText(21, "boom")
	f.srv.SendText(21, "next")
	f.poll(t)
	f.srv.WaitFor(t, "the next update answered", func() bool {
		return len(f.srv.LastMessages(21)) == 1 && len(f.srv.Pending()) == 0
	})
	errs := f.logs.errorLines()
	if len(errs) != 1 || !strings.Contains(errs[0], "panicked") {
		t.Errorf("error logs = %q, want one about the panic", errs)
	}
	if strings.Contains(f.logs.String(), "A123456") {
		t.Error("the panic value reached the log")
	}
}

// standingHandler is a handlerFunc that tells where bookers stand.
type standingHandler struct {
	handlerFunc
	standings map[string]bot.Standing
}

func (h standingHandler) Standing(b booking.Booker) bot.Standing {
	if st, ok := h.standings[b.ID]; ok {
		return st
	}
	return bot.Newcomer
}

// TestNewcomerAskedToComeBack: while Telegram's send budget is short (here
// a 429's pause of 60 s), a newcomer is told once to come back, not left
// in silence, and starts no conversation; a booker in a conversation is
// answered as usual.
func TestNewcomerAskedToComeBack(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	handled := map[string]int{}
	h := standingHandler{
		handlerFunc: func(ctx context.Context, u bot.Update) (dialog.Result, error) {
			mu.Lock()
			handled[u.Booker.ID]++
			mu.Unlock()
			return dialog.Result{Replies: []dialog.Reply{reply("next question")}}, nil
		},
		standings: map[string]bot.Standing{"20": bot.InConversation, "22": bot.PastConsent},
	}
	f := newFixture(t, h, false)
	f.srv.FailNext("sendMessage", http.StatusTooManyRequests, 60)
	f.srv.SendText(20, "x")
	f.poll(t)
	f.srv.WaitFor(t, "chat 20's reply", func() bool { return len(f.srv.LastMessages(20)) == 1 })

	f.srv.SendText(21, "/start")
	f.srv.SendText(21, "hello?")
	f.srv.SendText(22, "answer")
	f.srv.WaitFor(t, "the updates handled", func() bool { return len(f.srv.Pending()) == 0 })
	f.srv.WaitFor(t, "chat 22's reply", func() bool { return len(f.srv.LastMessages(22)) == 1 })
	// Turned away updates count as handled at once, and are answered in
	// the chat's line: the second is decided after the first was said.
	f.srv.WaitFor(t, "both newcomer's updates turned away", func() bool {
		return strings.Count(f.logs.String(), "newcomer asked to come back") == 2
	})
	if diff := cmp.Diff([]string{"現在很多人同時預約。請一分鐘後再試。"}, texts(f.srv.LastMessages(21))); diff != "" {
		t.Errorf("newcomer's chat (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"next question"}, texts(f.srv.LastMessages(22))); diff != "" {
		t.Errorf("chat of a booker past consent (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if handled["21"] != 0 {
		t.Errorf("newcomer's updates handled = %d, want 0 (no conversation started)", handled["21"])
	}
}

package telegram_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/bot/telegram"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

// world is the whole bot over a fake Telegram: the real router, engine and
// SQLite store, and Bots that may be restarted over the same stores.
type world struct {
	// expectErrors says ERROR logs are expected (otherwise any fails the
	// test).
	expectErrors bool

	t     *testing.T
	srv   *telegramtest.Server
	env   *dialogtest.Env
	store booking.Store
	logs  *logs
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, srv: telegramtest.NewServer(t), logs: &logs{}}
	cfg := dialogtest.Config{
		NewBookingStore: func(tb testing.TB) booking.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "clinicbot.db"))
			if err != nil {
				tb.Fatalf("sqlite.Open: %v", err)
			}
			tb.Cleanup(func() { st.Close() })
			w.store = st
			return st
		},
		NewSessionStore: func(tb testing.TB, now func() time.Time) dialog.SessionStore {
			return dialog.NewMemoryStore(now, 15*time.Minute)
		},
	}
	w.env = dialogtest.NewEnv(t, cfg, dialogtest.DefaultSchedule())
	t.Cleanup(func() {
		if errs := w.logs.errorLines(); len(errs) > 0 && !w.expectErrors {
			t.Errorf("error logs:\n%s", strings.Join(errs, "\n"))
		}
	})
	return w
}

// start runs a new Bot (a new process: new router and engine over the same
// stores) polling with client until the returned stop is called or the
// test ends. wrap, if not nil, wraps the router.
func (w *world) start(client *http.Client, wrap func(bot.Handler) bot.Handler) (stop func()) {
	w.t.Helper()
	logger := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, f := newRouter(w.t, w.env, logger)
	if wrap != nil {
		h = wrap(h)
	}
	b, err := telegram.New(telegram.Options{
		Token:      telegram.Token(w.srv.Token),
		Endpoint:   w.srv.Endpoint(),
		HTTPClient: client,
		Handler:    h,
		Forgetter:  f,
		Logger:     logger,
		Now:        w.env.Clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			return ctx.Err() // the fake clock does not wait
		},
		PollTimeout: 5 * time.Second,
	})
	if err != nil {
		w.t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Poll(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("Poll = %v, want nil", err)
		}
	}
	w.t.Cleanup(stop)
	return stop
}

// handled waits until update id has been handled and confirmed.
func (w *world) handled(id int) {
	w.t.Helper()
	w.srv.WaitFor(w.t, fmt.Sprintf("update %d handled", id), func() bool {
		return !slices.Contains(w.srv.Pending(), id)
	})
}

// say types text in chat and returns the bot's answer.
func (w *world) say(chat int64, text string) []telegramtest.Message {
	w.t.Helper()
	w.handled(w.srv.SendText(chat, text))
	return w.srv.LastMessages(chat)
}

// press presses the option with ID option on the bot's newest message that
// has it, and returns the bot's messages after the user's last message.
func (w *world) press(chat int64, option string) []telegramtest.Message {
	w.t.Helper()
	w.handled(w.pressOnly(chat, option))
	return w.srv.LastMessages(chat)
}

// pressOnly presses without waiting and returns the update ID.
func (w *world) pressOnly(chat int64, option string) int {
	w.t.Helper()
	m, data := w.button(chat, option)
	id, err := w.srv.Press(chat, m.ID, data)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// button finds the bot's newest message with a button for option.
func (w *world) button(chat int64, option string) (telegramtest.Message, string) {
	w.t.Helper()
	msgs := w.srv.Messages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if !m.FromBot || m.Deleted {
			continue
		}
		for _, row := range m.Buttons {
			for _, b := range row {
				if strings.HasSuffix(b.Data, ":"+option) {
					return m, b.Data
				}
			}
		}
	}
	w.t.Fatalf("chat %d: no button for option %q in:\n%s", chat, option, dump(msgs))
	return telegramtest.Message{}, ""
}

func dump(msgs []telegramtest.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		who := "user"
		if m.FromBot {
			who = "bot"
		}
		fmt.Fprintf(&b, "%d %s deleted=%v: %q %v\n", m.ID, who, m.Deleted, m.Text, m.Buttons)
	}
	return b.String()
}

func (w *world) bookings() []booking.Booking {
	w.t.Helper()
	bs, err := w.store.Bookings(context.Background(), booking.BookingQuery{})
	if err != nil {
		w.t.Fatalf("Bookings: %v", err)
	}
	return bs
}

// bookUpToOffer takes chat through flow A up to the offer of a slot.
func (w *world) bookUpToOffer(chat int64, id string) {
	w.t.Helper()
	w.say(chat, "/start")
	w.press(chat, "book")
	w.press(chat, "hkid")
	w.say(chat, id)
	w.say(chat, "1970")
	w.press(chat, "yes")
	w.handled(w.srv.SendContact(chat, "+852 9123 4567"))
	w.press(chat, "ok")
	w.press(chat, "clinic")
	w.press(chat, "r:hk")
	w.press(chat, "c:wan-tsui")
}

// hasText reports whether a message's text, or a document's caption,
// holds sub.
func hasText(msgs []telegramtest.Message, sub string) bool {
	for _, m := range msgs {
		if strings.Contains(m.Text, sub) || strings.Contains(m.Caption, sub) {
			return true
		}
	}
	return false
}

func TestEndToEndBooking(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, lang, id string
		wantSuccess    string // in the success message
	}{
		{"zh_hk", "zh-hk", "B234567(1)", "預約成功"},
		{"en", "en", "B234567(1)", "Booking successful"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.start(nil, nil)
			const chat = 2001
			w.srv.SetLanguage(chat, tt.lang)
			w.bookUpToOffer(chat, tt.id)
			got := w.press(chat, "accept")

			if !hasText(got, tt.wantSuccess) {
				t.Errorf("success answer lacks %q:\n%s", tt.wantSuccess, dump(got))
			}
			var doc *telegramtest.Document
			var venue *telegramtest.Venue
			for _, m := range got {
				if m.Document != nil {
					doc = m.Document
				}
				if m.Venue != nil {
					venue = m.Venue
				}
			}
			if doc == nil || !strings.HasSuffix(doc.Name, ".ics") || !strings.Contains(string(doc.Data), "BEGIN:VCALENDAR") {
				t.Errorf("no .ics document in the answer:\n%s", dump(got))
			}
			if venue == nil || venue.Lat != 22.262901 || venue.Lng != 114.23949 || venue.Address == "" {
				t.Errorf("no venue of Wan Tsui (22.262901, 114.23949) with its address in the answer:\n%s", dump(got))
			}
			if n := len(w.bookings()); n != 1 {
				t.Errorf("bookings = %d, want 1", n)
			}
			for _, m := range w.srv.Messages(chat) {
				if (strings.Contains(m.Text, "B234567") || m.Text == "1970") && !m.Deleted {
					t.Errorf("the ID number is still in the chat: message %d %q", m.ID, m.Text)
				}
			}
			if strings.Contains(w.logs.String(), "B234567") || strings.Contains(w.logs.String(), "9123") || strings.Contains(w.logs.String(), "1970") {
				t.Error("personal data reached the log")
			}
		})
	}
}

func TestEndToEndEnquireAndCancel(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(nil, nil)
	const chat = 2002
	w.srv.SetLanguage(chat, "en")
	w.bookUpToOffer(chat, "B234567(1)")
	w.press(chat, "accept")
	if n := len(w.bookings()); n != 1 {
		t.Fatalf("bookings = %d, want 1", n)
	}

	// Enquire.
	w.say(chat, "/start")
	w.press(chat, "enq")
	w.press(chat, "hkid")
	w.say(chat, "B234567(1)")
	w.say(chat, "1970")
	w.press(chat, "yes")
	w.press(chat, "c:wan-tsui")
	got := w.press(chat, "ok")
	ref := string(w.bookings()[0].Reference)
	if !hasText(got, ref) {
		t.Errorf("enquiry answer lacks the reference %s:\n%s", ref, dump(got))
	}

	// Cancel.
	w.say(chat, "/start")
	w.press(chat, "cxl")
	w.press(chat, "hkid")
	w.say(chat, "B234567(1)")
	w.say(chat, "1970")
	w.press(chat, "yes")
	w.press(chat, "c:wan-tsui")
	w.press(chat, "ok")
	w.press(chat, "cxlb")
	w.press(chat, "yes")
	if st := w.bookings()[0].Status; st != booking.StatusCancelled {
		t.Errorf("booking status = %s, want cancelled", st)
	}
}

// TestEndToEndSameUpdateTwice: Telegram delivering an update twice (a
// webhook retry) books once.
func TestEndToEndSameUpdateTwice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	stop := w.start(nil, nil)
	const chat = 2003
	w.bookUpToOffer(chat, "B234567(1)")
	stop()

	logger := slog.New(slog.NewTextHandler(w.logs, nil))
	h, f := newRouter(t, w.env, logger)
	b, err := telegram.New(telegram.Options{Token: telegram.Token(w.srv.Token), Endpoint: w.srv.Endpoint(), Handler: h, Forgetter: f, Logger: logger})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	handler := b.WebhookHandler("secret")
	offer, data := w.button(chat, "accept")
	body := fmt.Sprintf(`{"update_id":777001,"callback_query":{"id":"dup1","from":{"id":%d,"is_bot":false,"first_name":"A"},"chat_instance":"x","data":%q,"message":{"message_id":%d,"date":1,"chat":{"id":%d,"type":"private"},"text":"offer"}}}`,
		chat, data, offer.ID, chat)
	var sent []int
	for range 2 {
		rec := postUpdate(handler, body)
		if rec != http.StatusOK {
			t.Fatalf("webhook status = %d, want 200", rec)
		}
		sent = append(sent, len(w.srv.Messages(chat)))
	}
	if sent[1] != sent[0] {
		t.Errorf("the second delivery sent %d more messages, want none", sent[1]-sent[0])
	}
	if n := len(w.bookings()); n != 1 {
		t.Errorf("bookings after the same update twice = %d, want 1", n)
	}
}

// TestEndToEndDoublePress: the accept button pressed twice quickly (two
// updates) books once, and the second press is told it is stale.
func TestEndToEndDoublePress(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(nil, nil)
	const chat = 2004
	w.bookUpToOffer(chat, "B234567(1)")
	offer, data := w.button(chat, "accept")
	first, err := w.srv.Press(chat, offer.ID, data)
	if err != nil {
		t.Fatal(err)
	}
	second, err := w.srv.Press(chat, offer.ID, data) // before the first is handled
	if err != nil {
		t.Fatal(err)
	}
	w.handled(first)
	w.handled(second)
	if n := len(w.bookings()); n != 1 {
		t.Errorf("bookings after a double press = %d, want 1", n)
	}
	answers := w.srv.Answers()
	if !answers[len(answers)-1].ShowAlert {
		t.Errorf("second press answer = %+v, want a stale alert", answers[len(answers)-1])
	}
}

// TestEndToEndInterleaved: two bookers booking at once each see only their
// own conversation.
func TestEndToEndInterleaved(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(nil, nil)
	const alice, bob = 3001, 3002
	ids := map[int64]string{alice: "B234567(1)", bob: "C345678(A)"}
	w.srv.SetLanguage(bob, "en")
	text := func(s string) func(int64) int {
		return func(c int64) int { return w.srv.SendText(c, s) }
	}
	press := func(o string) func(int64) int {
		return func(c int64) int { return w.pressOnly(c, o) }
	}
	steps := []func(chat int64) int{
		text("/start"), press("book"), press("hkid"),
		func(c int64) int { return w.srv.SendText(c, ids[c]) },
		text("1970"), press("yes"), text("91234567"), press("ok"),
		press("clinic"), press("r:hk"), press("c:wan-tsui"), press("accept"),
	}
	for _, step := range steps {
		// Both bookers' updates are in flight at once.
		a, b := step(alice), step(bob)
		w.handled(a)
		w.handled(b)
	}
	bs := w.bookings()
	if len(bs) != 2 {
		t.Fatalf("bookings = %d, want 2", len(bs))
	}
	for _, b := range bs {
		chat, other := int64(alice), int64(bob)
		if b.Booker.ID == fmt.Sprint(bob) {
			chat, other = bob, alice
		}
		for _, s := range []string{string(b.Reference), b.PatientMasked} {
			if !hasText(w.srv.Messages(chat), s) {
				t.Errorf("chat %d does not see its own %q", chat, s)
			}
			if hasText(w.srv.Messages(other), s) {
				t.Errorf("chat %d sees the other booker's %q", other, s)
			}
		}
	}
	if !hasText(w.srv.Messages(alice), "預約成功") || hasText(w.srv.Messages(alice), "booked") {
		t.Errorf("alice's chat is not all zh-HK:\n%s", dump(w.srv.Messages(alice)))
	}
}

// failingTransport fails every request once dead is set: a process that
// died can neither send nor confirm.
type failingTransport struct{ dead atomic.Bool }

func (f *failingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.dead.Load() {
		return nil, fmt.Errorf("process stopped")
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestEndToEndRestartBeforeConfirm: the process stops after handling the
// accept press but before confirming it; Telegram delivers it again to the
// next process, which must not book a second time.
func TestEndToEndRestartBeforeConfirm(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.expectErrors = true // the dead process fails to send
	tr := &failingTransport{}
	died := make(chan struct{})
	// The process dies right after the router handled the accept press:
	// neither its replies nor the confirming poll get out.
	dieAfterAccept := func(h bot.Handler) bot.Handler {
		return handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
			res, err := h.Handle(ctx, u)
			if u.Input.Kind == dialog.InputOption && u.Input.Option == "accept" && !tr.dead.Swap(true) {
				close(died)
			}
			return res, err
		})
	}
	stop := w.start(&http.Client{Transport: tr}, dieAfterAccept)
	const chat = 2005
	w.bookUpToOffer(chat, "B234567(1)")
	id := w.pressOnly(chat, "accept")
	select {
	case <-died:
	case <-time.After(15 * time.Second):
		t.Fatal("the accept press was never handled")
	}
	stop()
	if n := len(w.bookings()); n != 1 {
		t.Fatalf("bookings before restart = %d, want 1", n)
	}
	if !slices.Contains(w.srv.Pending(), id) {
		t.Fatalf("update %d was confirmed by a dead process", id)
	}

	w.start(nil, nil)
	w.handled(id)
	if n := len(w.bookings()); n != 1 {
		t.Errorf("bookings after restart = %d, want 1", n)
	}
}

func postUpdate(h http.Handler, body string) int {
	req := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(body))
	req.Header.Set(telegram.SecretHeader, "secret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// newRouter is a new process's router and engine over env's stores.
func newRouter(t *testing.T, env *dialogtest.Env, logger *slog.Logger) (bot.Handler, telegram.Forgetter) {
	t.Helper()
	coord := bot.NewMemoryCoordinator(env.Sessions, env.Clock.Now)
	r := bot.NewRouter(env.NewEngine(t), coord, bot.Options{Logger: logger, Now: env.Clock.Now})
	return r, r
}

// TestEndToEndNoEchoOfPersonalData: after a booking, no message in the
// chat, the bot's own included, shows the patient's date of birth, and the
// notice that such messages are deleted was said once.
func TestEndToEndNoEchoOfPersonalData(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(nil, nil)
	const chat = 2006
	w.bookUpToOffer(chat, "B234567(1)")
	w.press(chat, "accept")
	if n := len(w.bookings()); n != 1 {
		t.Fatalf("bookings = %d, want 1", n)
	}
	notices := 0
	for _, m := range w.srv.Messages(chat) {
		if m.Deleted {
			continue
		}
		if strings.Contains(m.Text, "1970年1月1日") || strings.Contains(m.Text, "B234567") || strings.Contains(m.Text, "9123") {
			t.Errorf("message %d still shows personal data: %q", m.ID, m.Text)
		}
		if strings.Contains(m.Text, "我已刪除你剛才載有病人個人資料的訊息") {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("the deletion notice was said %d times, want once:\n%s", notices, dump(w.srv.Messages(chat)))
	}
	calls := map[string]int{}
	for _, c := range w.srv.Calls() {
		if c.ChatID == chat {
			calls[c.Method]++
		}
	}
	t.Logf("calls in one clinic booking: %v", calls)
}

// TestEndToEndCallsPerAction: in a clinic booking each of the booker's 13
// actions costs one message sent or edited (what Telegram's send limits
// count), and the booking one more, its place on a map: 14 in all. A press
// is answered by the next prompt or by an edit of the pressed one, never
// both; the privacy notice and the greeting ride on the next prompt.
func TestEndToEndCallsPerAction(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.start(nil, nil)
	const chat = 2101
	w.srv.SetLanguage(chat, "en")
	limited := map[string]bool{"sendMessage": true, "sendDocument": true, "sendVenue": true,
		"editMessageText": true, "editMessageReplyMarkup": true}
	seen := 0
	callsSince := func() (n int, methods []string) {
		calls := w.srv.Calls()
		for _, c := range calls[seen:] {
			if c.ChatID == chat && limited[c.Method] {
				n++
				methods = append(methods, c.Method)
			}
		}
		seen = len(calls)
		return n, methods
	}
	type action struct {
		name string
		do   func()
		want int
	}
	say := func(text string) func() { return func() { w.say(chat, text) } }
	press := func(option string) func() { return func() { w.press(chat, option) } }
	actions := []action{
		{"start", say("/start"), 1}, {"book", press("book"), 1}, {"hkid", press("hkid"), 1},
		{"id", say("B234567(1)"), 1}, {"dob", say("1970"), 1}, {"yes", press("yes"), 1},
		{"mobile", say("91234567"), 1}, {"ok", press("ok"), 1}, {"clinic", press("clinic"), 1},
		{"region", press("r:hk"), 1}, {"clinic_pick", press("c:wan-tsui"), 1},
		{"accept", press("accept"), 2}, // the booking with its calendar file, and the venue
		{"exit", press("exit"), 1},
	}
	total := 0
	for _, a := range actions {
		a.do()
		n, methods := callsSince()
		if n != a.want {
			t.Errorf("%s: %d messages sent or edited %v, want %d", a.name, n, methods, a.want)
		}
		total += n
	}
	if total > 14 {
		t.Errorf("messages sent or edited for a clinic booking = %d, want at most 14", total)
	}
	if n := len(w.bookings()); n != 1 {
		t.Errorf("bookings = %d, want 1", n)
	}
}

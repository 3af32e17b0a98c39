package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/bot/telegram"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
	"github.com/clinicbot/clinicbot/locales"
)

// serverTB is the testing.TB that telegramtest.NewServer asks for, outside
// a test: the server only calls Helper, Cleanup and, when it cannot listen
// on loopback, Fatalf. Any other method would panic on the nil TB; none is
// called.
type serverTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	failed   error
}

func (t *serverTB) Helper() {}

func (t *serverTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *serverTB) Fatalf(format string, args ...any) {
	t.mu.Lock()
	t.failed = fmt.Errorf(format, args...)
	t.mu.Unlock()
	panic(t)
}

func (t *serverTB) close() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// newFakeTelegram starts the fake Bot API server on 127.0.0.1.
func newFakeTelegram() (srv *telegramtest.Server, stop func(), err error) {
	tb := &serverTB{}
	defer func() {
		if p := recover(); p != nil {
			if p != tb {
				panic(p)
			}
			err = tb.failed
		}
	}()
	srv = telegramtest.NewServer(tb)
	return srv, tb.close, nil
}

// confirmWatch learns from the adapter's getUpdates calls which updates it
// has finished: Poll asks with an offset only once every update below it is
// handled, replies sent.
type confirmWatch struct {
	next http.RoundTripper

	mu      sync.Mutex
	offset  int
	waiters map[int]chan struct{}
}

func (c *confirmWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/getUpdates") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if v, err := url.ParseQuery(string(body)); err == nil {
			if off, err := strconv.Atoi(v.Get("offset")); err == nil {
				c.confirmed(off)
			}
		}
	}
	return c.next.RoundTrip(req)
}

func (c *confirmWatch) confirmed(offset int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if offset <= c.offset {
		return
	}
	c.offset = offset
	for id, ch := range c.waiters {
		if id < offset {
			close(ch)
			delete(c.waiters, id)
		}
	}
}

// wait returns a channel closed once update id is finished.
func (c *confirmWatch) wait(id int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	if id < c.offset {
		close(ch)
		return ch
	}
	c.waiters[id] = ch
	return ch
}

// telegramPath is the Telegram adapter, polling the fake Bot API server,
// over a router, all in this process.
type telegramPath struct {
	srv   *telegramtest.Server
	watch *confirmWatch
	sigs  []signature
}

// startTelegram starts the adapter's Poll against srv; it runs until ctx
// ends. limit false lifts the adapter's own send rate limits (its Sleep
// returns at once), to find what the adapter and router could carry.
func startTelegram(ctx context.Context, srv *telegramtest.Server, h *bot.Router, log *slog.Logger, limit bool) (*telegramPath, func() error, error) {
	watch := &confirmWatch{next: http.DefaultTransport.(*http.Transport).Clone(), waiters: make(map[int]chan struct{})}
	watch.next.(*http.Transport).MaxIdleConnsPerHost = 256
	opts := telegram.Options{
		Token:       telegram.Token(srv.Token),
		Endpoint:    srv.Endpoint(),
		HTTPClient:  &http.Client{Transport: watch},
		Handler:     h,
		Forgetter:   h,
		Logger:      log,
		PollTimeout: time.Second,
		MaxInFlight: 256,
	}
	if !limit {
		opts.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	}
	tg, err := telegram.New(opts)
	if err != nil {
		return nil, nil, err
	}
	if err := tg.Check(ctx); err != nil {
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- tg.Poll(ctx) }()
	wait := func() error { return <-done }
	return &telegramPath{srv: srv, watch: watch, sigs: signatures()}, wait, nil
}

func (p *telegramPath) Send(ctx context.Context, i int, a action) (screen, error) {
	chat := int64(chatBase + i)
	before := botOutput(p.srv.Messages(chat))
	var id int
	if a.option != "" {
		data := a.nonce + ":" + a.option
		msg := p.buttonMessage(chat, data)
		if msg == 0 {
			// The button is gone (its keyboard was removed): type the
			// option's name instead, as a booker would.
			id = p.srv.SendText(chat, a.option)
		} else {
			var err error
			if id, err = p.srv.Press(chat, msg, data); err != nil {
				return screen{}, err
			}
		}
	} else {
		id = p.srv.SendText(chat, a.text)
	}
	select {
	case <-p.watch.wait(id):
	case <-time.After(30 * time.Second):
		return screen{}, fmt.Errorf("telegram: update %d not handled within 30s", id)
	case <-ctx.Done():
		return screen{}, ctx.Err()
	}
	sc := p.screen(chat)
	if botOutput(p.srv.Messages(chat)) == before {
		// Nothing was said (an update dropped while the booker was told to
		// come back): the screen is as it was, and the places it says ran
		// out were counted when it was said.
		sc.keys = slices.DeleteFunc(sc.keys, func(k string) bool { return quotaKeys[k] })
	}
	return sc, nil
}

// botOutput counts the bot's messages and their edits: it moves whenever
// the bot says something.
func botOutput(msgs []telegramtest.Message) int {
	n := 0
	for _, m := range msgs {
		if m.FromBot {
			n += 1 + m.Edits
		}
	}
	return n
}

// buttonMessage returns the ID of the bot's newest message in chat with a
// button carrying data, or 0.
func (p *telegramPath) buttonMessage(chat int64, data string) int {
	msgs := p.srv.Messages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if !m.FromBot || m.Deleted {
			continue
		}
		for _, row := range m.Buttons {
			for _, b := range row {
				if b.Data == data {
					return m.ID
				}
			}
		}
	}
	return 0
}

// screen reads the chat as its user would: the bot's newest message with
// text that reads as a prompt is the prompt, its buttons the options. A
// prompt edited in place (after a press) is still the newest.
func (p *telegramPath) screen(chat int64) screen {
	msgs := p.srv.Messages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		text := m.Text
		if m.Document != nil {
			text = m.Caption // the booking comes as its calendar file's caption
		}
		if !m.FromBot || m.Deleted || text == "" || m.Venue != nil {
			continue
		}
		sc := screen{}
		for _, row := range m.Buttons {
			for _, b := range row {
				nonce, opt, _ := strings.Cut(b.Data, ":")
				sc.nonce = nonce
				sc.options = append(sc.options, opt)
			}
		}
		for _, s := range p.sigs {
			if strings.Contains(text, s.text) {
				sc.keys = append(sc.keys, s.key)
			}
		}
		if sc.step = classify(sc); sc.step != stUnknown {
			return sc
		}
		// Not a prompt: the clinic's address sent as text after the
		// booking, say; the prompt is above it.
	}
	return screen{step: stUnknown}
}

// signature is a piece of a message's zh-HK text that no other message
// has, found by its key.
type signature struct{ key, text string }

// signatures are the texts that tell prompts without distinctive buttons
// apart, and the replies that say places ran out.
func signatures() []signature {
	cat := locales.MustLoad()
	var out []signature
	for _, key := range []string{"service.none", "service.full", "clinic.full", "clinic.region_full", "err.quota_full",
		"slot.taken", "hold.expired", "slot.gone", "region.full", "err.internal", "err.unavailable", "busy.wait", "doc.hkid.prompt", "dob.prompt", "dob.confirm", "booked",
		"done.again", "enquiry.done", "cancel.done", "cancel.confirm", "verify.service.prompt", "already.booked.hidden",
		"already.booked", "menu.prompt", "service.prompt", "mobile.prompt", "consent.prompt", "region.prompt",
		"search.prompt", "days.prompt", "part.prompt", "times.prompt"} {
		raw, ok := cat.Raw(locales.Default, key)
		if !ok {
			continue
		}
		if s := longestPlain(raw); s != "" {
			out = append(out, signature{key, s})
		}
	}
	return out
}

// longestPlain returns the longest stretch of the first line of raw that
// holds no placeholder.
func longestPlain(raw string) string {
	line, _, _ := strings.Cut(raw, "\n")
	best := ""
	for _, part := range strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == '}' }) {
		if !strings.Contains(line, "{"+part+"}") && len(part) > len(best) {
			best = part
		}
	}
	return best
}

// classify names the step of a screen read from Telegram, from its options
// first and its text where options do not tell.
func classify(sc screen) step {
	hasKey := func(k string) bool {
		for _, x := range sc.keys {
			if x == k {
				return true
			}
		}
		return false
	}
	hasPrefix := func(p string) bool {
		for _, o := range sc.options {
			if strings.HasPrefix(o, p) {
				return true
			}
		}
		return false
	}
	switch {
	case hasKey("err.internal") || hasKey("err.unavailable"):
		return stTryAgain
	case hasKey("busy.wait"):
		return stBusy
	case hasKey("service.none"):
		// "No places in either service" heads the menu it leaves the
		// booker at.
		return stQuotaFull
	case sc.has("book") && sc.has("enq"):
		return stMenu
	case sc.has("hkid"):
		return stDocType
	case sc.has("yes") && hasKey("dob.confirm"):
		return stDOBCheck
	case sc.has("yes"):
		return stCancelConfirm
	case sc.has("accept"):
		return stOffer
	case hasPrefix("d:"):
		return stDays
	case hasPrefix("p:"):
		return stPart
	case hasPrefix("s:") || hasKey("times.prompt"):
		return stTimes
	case hasKey("days.prompt"):
		return stDays
	case hasKey("part.prompt"):
		return stPart
	case hasKey("search.prompt"):
		return stSearch
	case sc.has("cxlb"):
		return stCancelShow
	case sc.has("enq") && sc.has("cxl"):
		return stAlready
	case hasPrefix("r:"):
		return stRegion
	case hasKey("verify.service.prompt"):
		return stVerifyService
	case hasPrefix("c:") || hasKey("clinic.region_full"):
		return stClinic
	case (sc.has("clinic") || sc.has("video")) && !hasKey("service.none"):
		return stService
	case sc.has("ok"):
		return stConsent
	case hasKey("service.none"):
		return stQuotaFull
	case hasKey("booked"):
		return stBooked
	case hasKey("done.again"):
		return stDoneAgain
	case hasKey("enquiry.done"):
		return stEnquired
	case hasKey("cancel.done"):
		return stCancelled
	case hasKey("mobile.prompt"):
		return stMobile
	case hasKey("dob.prompt"):
		return stDOB
	case hasKey("doc.hkid.prompt"):
		return stDocNumber
	}
	return stUnknown
}

// chatCalls counts the Bot API calls that Telegram's send limits count and
// the adapter's limiter spaces out: messages sent or edited in bookers'
// chats. deleteMessage (removing the booker's own message that held personal
// data) and answerCallbackQuery (stopping a button's spinner) are not
// sends; they are listed by method all the same. It returns the total of
// limited calls and the count of every chat call by method, sorted by
// method.
func chatCalls(calls []telegramtest.Call) (int, string) {
	byMethod := make(map[string]int)
	total := 0
	for _, c := range calls {
		if c.ChatID == 0 {
			continue
		}
		byMethod[c.Method]++
		if limitedMethods[c.Method] {
			total++
		}
	}
	parts := make([]string, 0, len(byMethod))
	for _, m := range slices.Sorted(maps.Keys(byMethod)) {
		parts = append(parts, fmt.Sprintf("%s %d", m, byMethod[m]))
	}
	return total, strings.Join(parts, ", ")
}

// limitedMethods are the methods that send or edit a message.
var limitedMethods = map[string]bool{"sendMessage": true, "sendDocument": true, "sendVenue": true,
	"editMessageText": true, "editMessageReplyMarkup": true}

// telegramSendsPerSecond is what the fake Bot API allows a bot in a
// second, as Telegram does (about 30) before answering 429.
const telegramSendsPerSecond = 30

// count429 counts the calls answered 429 Too Many Requests.
func count429(calls []telegramtest.Call) int {
	n := 0
	for _, c := range calls {
		if c.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

package telegram

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/bot"
)

func TestSplitText(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"fits", "one\ntwo", 10, []string{"one\ntwo"}},
		{"at_line_boundary", "aaaa\nbbbb\ncccc", 10, []string{"aaaa\nbbbb\n", "cccc"}},
		{"long_line_cut", "abcdefghij\nxy", 4, []string{"abcd", "efgh", "ij\n", "xy"}},
		{"no_rune_cut", "一二三四五", 4, []string{"一二三四", "五"}},
		{"surrogate_pair_counts_two", "😀😀😀", 4, []string{"😀😀", "😀"}},
		{"blank_chunk_dropped", "aaaa\n    \n    \nbb", 5, []string{"aaaa\n", "bb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.text, tt.limit)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("splitText(%q, %d) mismatch (-want +got):\n%s", tt.text, tt.limit, diff)
			}
		})
	}
}

func FuzzSplitText(f *testing.F) {
	f.Add("line one\nline two\n\nline four", 8)
	f.Add(strings.Repeat("預約", 3000)+"\n"+strings.Repeat("x", 5000), 4096)
	f.Add("😀a😀\n", 1)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 1 || limit > 5000 || !utf8.ValidString(s) {
			t.Skip()
		}
		chunks := splitText(s, limit)
		var joined strings.Builder
		for _, c := range chunks {
			if n := utf16Len(c); n > limit && utf8.RuneCountInString(c) > 1 {
				t.Fatalf("chunk %q is %d units, over %d", c, n, limit)
			}
			if utf16Len(s) > limit && strings.TrimSpace(c) == "" {
				t.Fatalf("blank chunk %q", c)
			}
			joined.WriteString(c)
		}
		// Only blank chunks may be dropped.
		if strings.Join(strings.Fields(joined.String()), "") != strings.Join(strings.Fields(s), "") {
			t.Fatalf("chunks %q lose text of %q", chunks, s)
		}
	})
}

func TestCallbackData(t *testing.T) {
	tests := []struct {
		name, nonce, option string
		want                string
		wantErr             bool
	}{
		{"plain", "n7Kq2", "accept", "n7Kq2:accept", false},
		{"option_with_separator", "n1", "slot:42", "n1:slot:42", false},
		{"max_length", "n1", strings.Repeat("o", 61), "n1:" + strings.Repeat("o", 61), false},
		{"too_long", "n1", strings.Repeat("o", 62), "", true},
		{"nonce_with_separator", "a:b", "x", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callbackData(tt.nonce, tt.option)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("callbackData(%q, %q) = %q, %v; want %q, error %v", tt.nonce, tt.option, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseCallback(f *testing.F) {
	f.Add("n1", "accept")
	f.Add("", "slot:1")
	f.Fuzz(func(t *testing.T, nonce, option string) {
		data, err := callbackData(nonce, option)
		if err != nil {
			if len(nonce)+len(option)+1 <= maxCallbackData && !strings.Contains(nonce, callbackSep) {
				t.Fatalf("callbackData(%q, %q): %v", nonce, option, err)
			}
			// Whatever a client sends back must parse without panic.
			parseCallback(nonce + option)
			return
		}
		gotNonce, gotOption := parseCallback(data)
		if gotNonce != nonce || gotOption != option {
			t.Fatalf("parseCallback(%q) = %q, %q; want %q, %q", data, gotNonce, gotOption, nonce, option)
		}
	})
}

func TestLimiter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	l := newLimiter(func() time.Time { return now }, 1, 3, 25, 25)

	var got []time.Duration
	for range 5 {
		got = append(got, l.reserve(1))
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("one chat, no time passing (-want +got):\n%s", diff)
	}
	if d := l.reserve(2); d != 0 {
		t.Errorf("reserve(other chat) = %v, want 0", d)
	}
	now = start.Add(10 * time.Second)
	if d := l.reserve(1); d != 0 {
		t.Errorf("reserve after 10s = %v, want 0", d)
	}

	// 25 a second overall: the 26th message in the same instant waits,
	// whatever its chat.
	now = start.Add(time.Hour)
	g := newLimiter(func() time.Time { return now }, 1, 3, 25, 25)
	for i := range 25 {
		if d := g.reserve(int64(100 + i)); d != 0 {
			t.Fatalf("global reserve %d = %v, want 0", i, d)
		}
	}
	if d := g.reserve(999); d != 40*time.Millisecond {
		t.Errorf("26th reserve = %v, want 40ms", d)
	}
}

// TestLimiterPause: a 429's retry_after holds back every chat, not only the
// one whose call got it, and a shorter pause does not end a longer one.
func TestLimiterPause(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	l := newLimiter(func() time.Time { return now }, 1, 3, 25, 25)
	l.pause(5 * time.Second)
	l.pause(time.Second)
	if d := l.reserve(7); d != 5*time.Second {
		t.Errorf("reserve(another chat) during the pause = %v, want 5s", d)
	}
	now = start.Add(2 * time.Second)
	if d := l.reserve(8); d != 3*time.Second {
		t.Errorf("reserve 2s into the pause = %v, want 3s", d)
	}
	now = start.Add(5 * time.Second)
	if d := l.reserve(9); d != 0 {
		t.Errorf("reserve when the pause is over = %v, want 0", d)
	}
}

func TestLimiterForgetsIdleChats(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now }, 1, 3, 1e6, 1e6)
	for i := range sweepAbove + 10 {
		l.reserve(int64(i))
	}
	now = now.Add(time.Minute)
	l.reserve(-1)
	if n := len(l.chats); n != 1 {
		t.Errorf("chat buckets after a minute idle = %d, want 1", n)
	}
}

func TestAlertText(t *testing.T) {
	tests := []struct {
		name, text, lang, want string
	}{
		{"engine_text", "That button is old.", langEn, "That button is old."},
		{"empty_falls_back", "", langEn, "This button is out of date. Please use the latest message."},
		{"too_long_cut", strings.Repeat("按", 250), langZhHK, strings.Repeat("按", 199) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alertText(tt.text, tt.lang)
			if got != tt.want {
				t.Errorf("alertText(%q, %q) = %q, want %q", tt.text, tt.lang, got, tt.want)
			}
			if n := len([]rune(got)); n > maxAlert {
				t.Errorf("alertText(...) is %d characters, over %d", n, maxAlert)
			}
		})
	}
}

// TestLimiterStanding: when messages queue for the overall budget, each
// token goes to the waiting message of the highest standing, whatever the
// order they came in.
func TestLimiterStanding(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now }, 10, 10, 1, 1)
	// The pump's waits for a token: each is held until the test wakes it.
	slept := make(chan chan struct{})
	sleep := func(ctx context.Context, d time.Duration) error {
		woken := make(chan struct{})
		slept <- woken
		<-woken
		return nil
	}
	if err := l.wait(context.Background(), 1, bot.Newcomer, sleep); err != nil { // takes the one token
		t.Fatal(err)
	}
	queued := func(n int) {
		t.Helper()
		for range 10000 {
			l.mu.Lock()
			q := l.queued
			l.mu.Unlock()
			if q == n {
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
		t.Fatalf("never %d queued", n)
	}
	got := make(chan bot.Standing, 3)
	var woken chan struct{}
	for i, st := range []bot.Standing{bot.Newcomer, bot.InConversation, bot.PastConsent} {
		go func() {
			if err := l.wait(context.Background(), int64(10+i), st, sleep); err != nil {
				t.Error(err)
			}
			got <- st
		}()
		queued(i + 1)
		if i == 0 {
			woken = <-slept // the pump waits for the next token
		}
	}
	var order []bot.Standing
	for range 3 {
		close(woken)
		order = append(order, <-got)
		if len(order) < 3 {
			woken = <-slept
		}
	}
	want := []bot.Standing{bot.PastConsent, bot.InConversation, bot.Newcomer}
	if !slices.Equal(order, want) {
		t.Errorf("tokens went to %v, want %v", order, want)
	}
}

// reserve takes a token from both buckets for one message to chatID and
// returns the wait, as wait does when no message queues: the buckets' and
// the pause's arithmetic, without sleeping.
func (l *limiter) reserve(chatID int64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	cl := l.chat(chatID, now)
	return max(cl.ReserveN(now, 1).DelayFrom(now), l.all.ReserveN(now, 1).DelayFrom(now), l.paused.Sub(now))
}

package dialog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
	"github.com/clinicbot/clinicbot/locales"
)

var booker = booking.Booker{Channel: booking.ChannelTelegram, ID: "42"}

// say sends typed text, or "[id]" as a pressed option of the latest prompt.
func say(t testing.TB, e *dialog.Engine, s *dialog.Session, inputs ...string) dialog.Result {
	t.Helper()
	var res dialog.Result
	for _, text := range inputs {
		in := dialog.Input{Kind: dialog.InputText, Text: text}
		if id, ok := strings.CutPrefix(text, "["); ok {
			in = dialog.Input{Kind: dialog.InputOption, Option: strings.TrimSuffix(id, "]"), Nonce: s.Nonce}
		}
		var err error
		if res, err = e.Step(context.Background(), booker, s, in); err != nil {
			t.Fatalf("Step(%q) = %v", text, err)
		}
	}
	return res
}

// toOffer is flow A up to the offer of the earliest slot at Wan Tsui.
var toOffer = []string{"/start", "[book]", "[hkid]", "A123456(3)", "1970", "[yes]", "91234567", "[ok]", "[clinic]", "[r:hk]", "[c:wan-tsui]"}

// TestReplayedAccept: an accept delivered again after a crash that lost the
// saved session (or pressed twice from the same session) returns the same
// booking, not a second one nor an "already booked".
func TestReplayedAccept(t *testing.T) {
	env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
	e := env.NewEngine(t)
	s := &dialog.Session{}
	say(t, e, s, toOffer...)
	if s.State != "a_offer" {
		t.Fatalf("state after the offer = %q, want a_offer", s.State)
	}
	replay := *s
	first := say(t, e, s, "[accept]")
	second := say(t, e, &replay, "[accept]")
	if got, want := second.Replies[0].Text, first.Replies[0].Text; got != want {
		t.Errorf("replayed accept said:\n%s\nwant the same booking:\n%s", got, want)
	}
	if !strings.Contains(first.Replies[0].Text, "預約成功") {
		t.Errorf("accept said %q, want a booking", first.Replies[0].Text)
	}
	list, err := env.Service.Store.Bookings(context.Background(), booking.BookingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("bookings after a replayed accept = %d, want 1", len(list))
	}
	if s.InFlow() || s.Answers.DocNumber != "" || len(s.History) != 0 {
		t.Errorf("after booking the session keeps personal data: %+v", s.Answers)
	}
	if got := list[0].ConsentAt; !got.Equal(dialogtest.Start) {
		t.Errorf("booking ConsentAt = %v, want %v (when consent was confirmed)", got, dialogtest.Start)
	}
}

// TestBackRestoresAnswers checks the answers /back restores, which the
// transcripts show only through the prompts.
func TestBackRestoresAnswers(t *testing.T) {
	env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
	e := env.NewEngine(t)
	s := &dialog.Session{}
	say(t, e, s, toOffer[:8]...) // up to the service choice, consent given
	atService := s.Answers
	say(t, e, s, "[clinic]", "[r:hk]")
	if s.Answers.Region != "hk" || s.Answers.Service != "clinic" {
		t.Fatalf("answers at the clinic step = %+v", s.Answers)
	}
	say(t, e, s, "/back", "/back")
	if s.State != "a_service" {
		t.Fatalf("state after two /back = %q, want a_service", s.State)
	}
	if diff := cmp.Diff(atService, s.Answers); diff != "" {
		t.Errorf("answers after going back to the service step (-want +got):\n%s", diff)
	}
	say(t, e, s, "/back") // consent
	if !s.Answers.ConsentAt.IsZero() {
		t.Errorf("back at the consent step, ConsentAt = %v, want it cleared", s.Answers.ConsentAt)
	}
}

// failingStore fails QuotaCounts with err while fail is set: an
// unexpected error of the store.
type failingStore struct {
	booking.Store
	err  error
	fail atomic.Bool
}

var errBroken = errors.New("disk on fire")

func (f *failingStore) QuotaCounts(ctx context.Context, from, to, at time.Time) ([]booking.QuotaCount, error) {
	if f.fail.Load() {
		return nil, f.err
	}
	return f.Store.QuotaCounts(ctx, from, to, at)
}

// TestUnexpectedError: an unmapped error is answered "something went
// wrong, nothing was changed", an unreachable store "temporarily
// unavailable, please try again"; either leaves the session as it was and
// is logged once, without personal data, and the same answer succeeds once
// the store is back.
func TestUnexpectedError(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		key     string
		level   string
		logHold string
	}{
		{"Broken", errBroken, "err.internal", "ERROR", errBroken.Error()},
		{"Unavailable", fmt.Errorf("postgres: quota counts: %w (%w)", booking.ErrUnavailable, errBroken), "err.unavailable", "WARN", booking.ErrUnavailable.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var failing *failingStore
			cfg := sqliteConfig
			cfg.NewBookingStore = func(t testing.TB) booking.Store {
				failing = &failingStore{Store: sqliteConfig.NewBookingStore(t), err: tt.err}
				return failing
			}
			env := dialogtest.NewEnv(t, cfg, dialogtest.DefaultSchedule())
			var logs bytes.Buffer
			e, err := dialog.New(env.Service, dialog.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Now: env.Clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			s := &dialog.Session{}
			say(t, e, s, toOffer[:7]...) // at consent
			before := *s
			failing.fail.Store(true)
			res := say(t, e, s, "[ok]")
			if got, want := res.Replies[0].Text, locales.MustLoad().Text(locales.Default, tt.key, nil); res.Replies[0].Key != tt.key || got != want {
				t.Errorf("reply to a failing store = %s %q, want %s %q", res.Replies[0].Key, got, tt.key, want)
			}
			if diff := cmp.Diff(before, *s, cmpIgnoreUpdated); diff != "" {
				t.Errorf("session changed by a failed step (-before +after):\n%s", diff)
			}
			if n := strings.Count(logs.String(), "\n"); n != 1 {
				t.Errorf("failed step logged %d records, want 1:\n%s", n, logs.String())
			}
			if want := `"level":"` + tt.level + `"`; !strings.Contains(logs.String(), want) {
				t.Errorf("log record is not at %s: %s", tt.level, logs.String())
			}
			for _, secret := range []string{"A123456", "1970", "91234567"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("log holds personal data %q: %s", secret, logs.String())
				}
			}
			if !strings.Contains(logs.String(), tt.logHold) {
				t.Errorf("log lacks the error: %s", logs.String())
			}
			failing.fail.Store(false)
			say(t, e, s, "[ok]")
			if s.State != "a_service" {
				t.Errorf("state after the store recovered = %q, want a_service", s.State)
			}
		})
	}
}

var cmpIgnoreUpdated = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".UpdatedAt" }, cmp.Ignore())

// TestOptionIDsFit: every option's callback data (nonce, separator and ID)
// fits Telegram's 64 bytes, in every state the transcripts reach.
func TestOptionIDsFit(t *testing.T) {
	env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
	e := env.NewEngine(t)
	s := &dialog.Session{}
	for _, in := range append(append([]string{}, toOffer...), "[decline]", "[ok]", "[next]") {
		res := say(t, e, s, in)
		for _, r := range res.Replies {
			for _, o := range r.Options {
				if n := len(r.Nonce) + 1 + len(o.ID); n > 64 {
					t.Errorf("option %q with nonce takes %d bytes, more than 64", o.ID, n)
				}
			}
		}
	}
}

func FuzzStep(f *testing.F) {
	for _, seed := range []string{
		"/start\n1\n1\nA123456(3)\n1970\n是\n91234567\n確定\n1\n1\n1\n1",
		"為他人預約\n2\nE1234567\n1970/13/40\n\x00\n/back\n/back\n/exit",
		"[book]\n[other]\n[no]\n/language\n[l:en]\n[yes]",
		"取消\n1\nA123456(3)\n01/01/1970\n1\n2\n1\n1\n是",
		"９１２３４５６７\n１\n/help\n/menu\n[exit]\n離開",
	} {
		f.Add(seed)
	}
	env := dialogtest.NewEnv(f, sqliteConfig, dialogtest.DefaultSchedule())
	e := env.NewEngine(f)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, script string) {
		b := booking.Booker{Channel: booking.ChannelConsole, ID: fmt.Sprint(n.Add(1))}
		s := &dialog.Session{}
		for _, line := range strings.Split(script, "\n") {
			in := dialog.Input{Kind: dialog.InputText, Text: line}
			if id, ok := strings.CutPrefix(line, "["); ok {
				in = dialog.Input{Kind: dialog.InputOption, Option: strings.TrimSuffix(id, "]"), Nonce: s.Nonce}
			}
			res, err := e.Step(context.Background(), b, s, in)
			if err != nil {
				t.Fatalf("Step(%q) = %v", line, err)
			}
			if len(res.Replies) == 0 {
				t.Fatalf("Step(%q) in state %s gave no reply", line, s.State)
			}
			for _, r := range res.Replies {
				if r.Text == "" || r.Text == r.Key {
					t.Fatalf("Step(%q) gave reply %q with text %q", line, r.Key, r.Text)
				}
			}
			if _, ok := slicesIndex(dialog.States(), s.State); !ok {
				t.Fatalf("Step(%q) left the session in unknown state %q", line, s.State)
			}
		}
	})
}

func slicesIndex(list []string, v string) (int, bool) {
	for i, x := range list {
		if x == v {
			return i, true
		}
	}
	return -1, false
}

// TestTimeoutSaysTheSessionIdle: the time-out notice names the idle time
// the session store was configured with, not a fixed 15 minutes.
func TestTimeoutSaysTheSessionIdle(t *testing.T) {
	env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
	e, err := dialog.New(env.Service, dialog.Options{Now: env.Clock.Now, SessionIdle: 90 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := &dialog.Session{Lang: "en", State: "a_birth", TimedOut: true}
	res, err := e.Step(context.Background(), booker, s, dialog.Input{Kind: dialog.InputText, Text: "1970"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Replies[0].Text; !strings.Contains(got, "after 1 hour 30 minutes without activity") {
		t.Errorf("time-out notice = %q, want it to say 1 hour 30 minutes", got)
	}
}

// TestNoBirthDateOracle: for a patient who holds a booking, the booking
// flow answers a wrong date of birth exactly as it answers the right one,
// step by step, and shows nothing of the booking; only the wrong one is a
// failed verification.
func TestNoBirthDateOracle(t *testing.T) {
	env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
	e := env.NewEngine(t)
	say(t, e, &dialog.Session{}, append(toOffer, "[accept]")...)
	list, err := env.Service.Store.Bookings(context.Background(), booking.BookingQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("Bookings = %v, %v, want 1", list, err)
	}
	ref := string(list[0].Reference)
	walk := func(dob string) []string {
		s := &dialog.Session{}
		var texts []string
		for _, in := range []string{"/start", "[book]", "[hkid]", "A123456(3)", dob, "[yes]", "91234567", "[ok]"} {
			res := say(t, e, s, in)
			var b strings.Builder
			for _, r := range res.Replies {
				b.WriteString(r.Text + "\n")
			}
			if strings.Contains(b.String(), ref) {
				t.Errorf("booking flow with date of birth %s shows the booking's reference after %q:\n%s", dob, in, b.String())
			}
			texts = append(texts, b.String())
		}
		return texts
	}
	right := walk("1970/1/1")
	wrong := walk("1970/1/2")
	// The date said back differs by the date alone.
	for i := range wrong {
		wrong[i] = strings.ReplaceAll(wrong[i], "1970年1月2日", "1970年1月1日")
	}
	if diff := cmp.Diff(right, wrong); diff != "" {
		t.Errorf("the booking flow tells a right date of birth from a wrong one (-right +wrong):\n%s", diff)
	}
	failures, _, err := env.Service.Store.FailedVerifications(context.Background(), booker, "", dialogtest.Start.Add(-time.Hour))
	if err != nil || len(failures) != 1 {
		t.Errorf("failed verifications = %v, %v, want 1 (the wrong date of birth)", failures, err)
	}
}

// TestPatientScreenedOnce: coming back to the service choice (/back, or a
// full offer) does not look the patient up again: one look-up per patient
// and flow, as the limits per chat count them.
func TestPatientScreenedOnce(t *testing.T) {
	env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
	e := env.NewEngine(t)
	s := &dialog.Session{}
	say(t, e, s, "/start", "[book]", "[hkid]", "A123456(3)", "1970", "[yes]", "91234567", "[ok]", "[clinic]", "/back", "[clinic]", "[r:hk]", "/back", "/back")
	if s.State != "a_service" {
		t.Fatalf("state = %q, want a_service", s.State)
	}
	records, err := env.Service.Store.Audit(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	lookups := 0
	for _, r := range records {
		if r.Action == booking.AuditLookup {
			lookups++
		}
	}
	if lookups != 1 {
		t.Errorf("%d look-ups recorded for one patient in one flow, want 1", lookups)
	}
}

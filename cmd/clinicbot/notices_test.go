package main

import (
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
)

// TestOperatorCommands: bookings cancel, slots close and reopen, and
// outbox, over a booking made in the terminal chat.
func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	be := sqliteBackend(t)
	ctx := t.Context()
	book := func() booking.Booking {
		t.Helper()
		if r := runBin(t, be.env, strings.Join(scriptBook, "\n")+"\n", "chat"); r.code != 0 {
			t.Fatalf("chat exited %d: %s", r.code, r.stderr)
		}
		s, err := be.open(ctx)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		defer s.Close()
		bs, err := s.Bookings(ctx, booking.BookingQuery{Status: booking.StatusActive})
		if err != nil || len(bs) != 1 {
			t.Fatalf("active bookings = %d, %v; want 1", len(bs), err)
		}
		return bs[0]
	}
	notices := func(id booking.BookingID) []booking.NoticeRow {
		t.Helper()
		s, err := be.open(ctx)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		defer s.Close()
		ns, err := s.(booking.Outbox).Notices(ctx, id)
		if err != nil {
			t.Fatalf("Notices: %v", err)
		}
		return ns
	}
	run := func(want int, args ...string) string {
		t.Helper()
		r := runBin(t, be.env, "", args...)
		if r.code != want {
			t.Fatalf("%v exited %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, want, r.stdout, r.stderr)
		}
		return r.stdout + r.stderr
	}

	first := book()
	run(exitUsage, "bookings", "cancel", string(first.Reference))
	out := run(exitOK, "bookings", "cancel", string(first.Reference), "--reason", "doctor ill")
	if !strings.Contains(out, "cancelled "+string(first.Reference)) || strings.Contains(out, "A123456") {
		t.Errorf("bookings cancel said:\n%s", out)
	}
	ns := notices(first.ID)
	if last := ns[len(ns)-1]; last.Kind != booking.NoticeCancelled || last.By != booking.ByOperator || last.Reason != "doctor ill" {
		t.Errorf("notices after bookings cancel = %+v, want the operator's cancel with its reason last", ns)
	}

	second := book()
	date := second.Slot.Start.In(booking.HongKong()).Format(time.DateOnly)
	at := second.Slot.Start.In(booking.HongKong()).Format("15:04")
	run(exitUsage, "slots", "close", "--clinic", "wan-tsui", "--date", date)
	run(exitUsage, "slots", "close", "--clinic", "nowhere", "--date", date, "--reason", "r")
	out = run(exitOK, "slots", "close", "--clinic", "wan-tsui", "--date", date, "--from", at, "--to", "23:59", "--reason", "typhoon signal no. 8")
	if !strings.Contains(out, "cancelled 1 booking(s)") {
		t.Errorf("slots close said:\n%s", out)
	}
	ns = notices(second.ID)
	if last := ns[len(ns)-1]; last.Kind != booking.NoticeClosed || last.Reason != "typhoon signal no. 8" {
		t.Errorf("notices after slots close = %+v, want the close with its reason last", ns)
	}
	out = run(exitOK, "outbox")
	for _, want := range []string{"pending 2", "sent    0", "failed  0", "oldest pending: due"} {
		if !strings.Contains(out, want) {
			t.Errorf("outbox lacks %q:\n%s", want, out)
		}
	}
	run(exitOK, "slots", "reopen", "--clinic", "wan-tsui", "--date", date, "--from", at, "--to", "23:59")
	s, err := be.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sl, err := s.Slot(ctx, second.Slot.ID)
	if err != nil || sl.Remaining() == 0 {
		t.Errorf("slot after reopen = %+v, %v; want places back", sl, err)
	}
}

// TestServeReminder: `clinicbot serve` with CLINICBOT_REMINDER_BEFORE
// longer than the time to the appointment sends the reminder of a booking
// made on Telegram (the fake Bot API) within seconds, and its cancel
// button, after "sure?", frees the place.
func TestServeReminder(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t)
	be := sqliteBackend(t)
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append(be.env, "TELEGRAM_BOT_TOKEN="+tg.Token, "TELEGRAM_API_ENDPOINT="+tg.Endpoint(),
		"HTTP_ADDR=127.0.0.1:0", "LOG_FORMAT=json", "CLINICBOT_REMINDER_BEFORE=168h", "CLINICBOT_QUIET_HOURS=off")
	var logs strings.Builder
	cmd.Stderr = &syncWriter{w: &logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	const chat = 4343
	say := func(text string) {
		t.Helper()
		id := tg.SendText(chat, text)
		tg.WaitFor(t, "update "+text+" handled", func() bool { return !slices.Contains(tg.Pending(), id) })
	}
	for _, s := range append([]string{"/start"}, scriptBook[:len(scriptBook)-1]...) {
		say(s)
	}
	has := func(sub string) bool {
		for _, m := range tg.Messages(chat) {
			// A booking's confirmation is its calendar file's caption.
			if m.FromBot && (strings.Contains(m.Text, sub) || strings.Contains(m.Caption, sub)) {
				return true
			}
		}
		return false
	}
	tg.WaitFor(t, "the booking", func() bool { return has("預約成功") })
	tg.WaitFor(t, "the reminder with its buttons", func() bool { return has("提提你") && has("還是取消") })
	press := func(label string) {
		t.Helper()
		id := tg.PressButton(t, chat, label)
		tg.WaitFor(t, "press "+label+" handled", func() bool { return !slices.Contains(tg.Pending(), id) })
	}
	press("取消預約")
	tg.WaitFor(t, "sure?", func() bool { return has("確定取消預約") })
	press("是")
	tg.WaitFor(t, "cancelled", func() bool { return has("已取消，名額已釋出") })

	s, err := be.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bs, err := s.Bookings(t.Context(), booking.BookingQuery{})
	if err != nil || len(bs) != 1 || bs[0].Status != booking.StatusCancelled {
		t.Fatalf("bookings = %+v, %v; want the one booking cancelled", bs, err)
	}
	if sl, err := s.Slot(t.Context(), bs[0].Slot.ID); err != nil || sl.Taken != 0 {
		t.Errorf("slot after the cancel = %+v, %v; want its place free", sl, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for _, pd := range []string{"A123456", "91234567"} {
		if strings.Contains(logs.String(), pd) {
			t.Errorf("the log shows personal data %q", pd)
		}
	}
	if !strings.Contains(logs.String(), "outbox dispatcher running") {
		t.Errorf("no record of the dispatcher starting in the log")
	}
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

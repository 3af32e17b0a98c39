package main

import (
	"strings"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
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

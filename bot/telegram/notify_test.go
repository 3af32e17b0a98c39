package telegram_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/bot/telegram"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
)

// startBot is start that also returns the Bot, whose Notify a dispatcher
// uses.
func (w *world) startBot() *telegram.Bot {
	w.t.Helper()
	logger := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, f := newRouter(w.t, w.env, logger)
	b, err := telegram.New(telegram.Options{
		Token: telegram.Token(w.srv.Token), Endpoint: w.srv.Endpoint(), Handler: h, Forgetter: f, Logger: logger,
		Now:         w.env.Clock.Now,
		Sleep:       func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		PollTimeout: 5 * time.Second,
	})
	if err != nil {
		w.t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Poll(ctx) }()
	w.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("Poll = %v, want nil", err)
		}
	})
	return b
}

// dispatch runs a dispatcher over the world's outbox sending through b
// until the test ends.
func (w *world) dispatch(b bot.Notifier, outbox booking.Outbox) {
	w.t.Helper()
	d := bot.NewDispatcher(outbox, map[booking.Channel]bot.Notifier{booking.ChannelTelegram: b},
		bot.DispatcherOptions{Interval: 10 * time.Millisecond, Now: w.env.Clock.Now,
			Logger: slog.New(slog.NewTextHandler(w.logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	w.t.Cleanup(func() { cancel(); <-done })
}

// count returns how many of the bot's messages in chat contain sub.
func count(msgs []telegramtest.Message, sub string) int {
	n := 0
	for _, m := range msgs {
		if m.FromBot && strings.Contains(m.Text, sub) {
			n++
		}
	}
	return n
}

// TestReminderCancel: a booking made closer to its appointment than
// CLINICBOT_REMINDER_BEFORE is reminded at once, with the clinic's place
// and keep/cancel buttons; cancel asks "sure?", then frees the place, and
// the updated calendar file (STATUS:CANCELLED) follows.
func TestReminderCancel(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env.Service.Reminders = booking.Reminders{Before: 24 * time.Hour, Location: booking.HongKong()}
	b := w.startBot()
	w.dispatch(b, w.store.(booking.Outbox))
	const chat = 2101
	w.srv.SetLanguage(chat, "en")
	w.bookUpToOffer(chat, "B234567(1)")
	w.press(chat, "accept")
	made := w.bookings()[0]

	w.srv.WaitFor(t, "the reminder", func() bool { return count(w.srv.Messages(chat), "Keep booking") == 1 })
	msgs := w.srv.Messages(chat)
	if count(msgs, "Reminder: an appointment is coming up.") != 1 || count(msgs, string(made.Reference)) < 2 {
		t.Errorf("no reminder naming %s:\n%s", made.Reference, dump(msgs))
	}
	venues := 0
	for _, m := range msgs {
		if m.Venue != nil {
			venues++
		}
	}
	if venues != 2 { // the booking's answer, and the reminder
		t.Errorf("venues = %d, want the booking's and the reminder's:\n%s", venues, dump(msgs))
	}
	w.handled(w.srv.PressButton(t, chat, "Cancel booking"))
	if got := w.srv.LastMessages(chat); !hasText(got, "Are you sure") {
		t.Fatalf("cancel did not ask sure?:\n%s", dump(got))
	}
	if w.bookings()[0].Status != booking.StatusActive {
		t.Fatalf("booking cancelled before sure? was answered")
	}
	w.press(chat, "yes")
	if st := w.bookings()[0].Status; st != booking.StatusCancelled {
		t.Fatalf("booking status = %s, want cancelled", st)
	}
	sl, err := w.store.Slot(context.Background(), made.Slot.ID)
	if err != nil || sl.Taken != 0 {
		t.Errorf("slot after the cancel: taken %d, %v; want the place free", sl.Taken, err)
	}
	w.srv.WaitFor(t, "the cancelled calendar file", func() bool {
		for _, m := range w.srv.Messages(chat) {
			if m.Document != nil && strings.Contains(string(m.Document.Data), "STATUS:CANCELLED") {
				return true
			}
		}
		return false
	})
	if n := count(w.srv.Messages(chat), "Keep booking"); n != 1 {
		t.Errorf("reminders sent = %d, want 1", n)
	}
	if strings.Contains(w.logs.String(), "B234567") || strings.Contains(w.logs.String(), "9123") {
		t.Error("personal data reached the log")
	}
}

// TestCancelFromAnotherChatIsTold: a booking cancelled by another chat
// with the patient's details is told to the chat that made it.
func TestCancelFromAnotherChatIsTold(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.startBot()
	w.dispatch(b, w.store.(booking.Outbox))
	const maker, other = 2102, 2103
	w.srv.SetLanguage(maker, "en")
	w.srv.SetLanguage(other, "en")
	w.bookUpToOffer(maker, "B234567(1)")
	w.press(maker, "accept")
	ref := string(w.bookings()[0].Reference)

	w.say(other, "/start")
	w.press(other, "cxl")
	w.press(other, "hkid")
	w.say(other, "B234567(1)")
	w.say(other, "1970")
	w.press(other, "yes")
	w.press(other, "c:wan-tsui")
	w.press(other, "ok")
	w.press(other, "cxlb")
	w.press(other, "yes")

	w.srv.WaitFor(t, "the notice to the booking chat", func() bool {
		return count(w.srv.Messages(maker), "cancelled from another chat") == 1
	})
	for _, m := range w.srv.Messages(maker) {
		if m.FromBot && strings.Contains(m.Text, "another chat") && (!strings.Contains(m.Text, ref) || strings.Contains(m.Text, "B234567")) {
			t.Errorf("notice %q: want the reference %s and the masked ID only", m.Text, ref)
		}
	}
	if n := count(w.srv.Messages(other), "another chat"); n != 0 {
		t.Errorf("the cancelling chat got %d notices, want 0", n)
	}
}

// lostMark is an outbox whose dispatcher "dies" after sending: it records
// nothing of the first notice it sends, as a kill -9 between sending and
// marking would leave it.
type lostMark struct {
	booking.Outbox
	lost atomic.Bool
}

func (o *lostMark) NoticeSent(ctx context.Context, id booking.NoticeID, owner, msgID string, at time.Time) error {
	if o.lost.CompareAndSwap(false, true) {
		return nil
	}
	return o.Outbox.NoticeSent(ctx, id, owner, msgID, at)
}

// TestReminderNotRepeatedAfterLostMark: a reminder sent by a dispatcher
// that stopped before marking it comes back, when its claim lapses, as
// unknown; the next dispatcher checks it with the router and does not send
// it again.
func TestReminderNotRepeatedAfterLostMark(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.env.Service.Reminders = booking.Reminders{Before: 24 * time.Hour, Location: booking.HongKong()}
	b := w.startBot()
	const chat = 2104
	w.srv.SetLanguage(chat, "en")
	w.bookUpToOffer(chat, "B234567(1)")
	w.press(chat, "accept")

	ob := w.store.(booking.Outbox)
	first := bot.NewDispatcher(&lostMark{Outbox: ob}, map[booking.Channel]bot.Notifier{booking.ChannelTelegram: b},
		bot.DispatcherOptions{Now: w.env.Clock.Now, Lease: time.Minute})
	if n, err := first.Tick(context.Background()); n != 1 || err != nil {
		t.Fatalf("first Tick = %d, %v; want the reminder", n, err)
	}
	second := bot.NewDispatcher(ob, map[booking.Channel]bot.Notifier{booking.ChannelTelegram: b},
		bot.DispatcherOptions{Now: w.env.Clock.Now, Lease: time.Minute})
	if n, _ := second.Tick(context.Background()); n != 0 {
		t.Fatalf("second Tick within the lease claimed %d, want 0", n)
	}
	w.env.Clock.Advance(2 * time.Minute)
	if n, err := second.Tick(context.Background()); n != 1 || err != nil {
		t.Fatalf("second Tick after the lease = %d, %v; want the unknown reminder", n, err)
	}
	if n := count(w.srv.Messages(chat), "Keep booking"); n != 1 {
		t.Errorf("reminders in the chat = %d, want 1", n)
	}
	c, err := ob.NoticeCounts(context.Background(), w.env.Clock.Now())
	if err != nil || c.Sent != 1 || c.Pending+c.Sending+c.Failed != 0 {
		t.Errorf("NoticeCounts = %+v, %v; want the reminder sent", c, err)
	}
}

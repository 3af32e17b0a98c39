package whatsapp

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

// newNoticeWorld is newWorld with reminders a day ahead and a dispatcher
// sending the outbox's notices through the adapter.
func newNoticeWorld(t *testing.T, opts Options) *world {
	t.Helper()
	w := &world{}
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
	env := dialogtest.NewEnv(t, cfg, dialogtest.DefaultSchedule())
	env.Service.Reminders = booking.Reminders{Before: 24 * time.Hour, Location: booking.HongKong()}
	router := bot.NewRouter(env.NewEngine(t), bot.NewMemoryCoordinator(env.Sessions, env.Clock.Now), bot.Options{})
	w.harness = newHarness(t, router, opts)
	d := bot.NewDispatcher(w.store.(booking.Outbox), map[booking.Channel]bot.Notifier{booking.ChannelWhatsApp: w.adapter},
		bot.DispatcherOptions{Interval: 10 * time.Millisecond, Now: env.Clock.Now, Logger: w.adapter.log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	t.Cleanup(func() {
		if logs := w.logs.String(); strings.Contains(logs, caregiver) || strings.Contains(logs, "A123456") {
			t.Errorf("personal data reached the log:\n%s", logs)
		}
	})
	return w
}

// waitSent waits until a message containing sub has been sent, and
// returns how many have.
func (w *world) waitSent(sub string) int {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, s := range w.client.sentSince(0) {
			if strings.Contains(describe(s.Msg), sub) {
				n++
			}
		}
		if n > 0 {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatalf("no message with %q was sent", sub)
	return 0
}

// TestReminderByNumbers: through WhatsApp's seam, a booking made closer
// to its appointment than the reminder's lead gets its reminder, with the
// options numbered; "2" (cancel) asks sure?, "1" (yes) frees the place.
func TestReminderByNumbers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"NumberIsBooker", Options{}},
		{"Pseudonym", Options{Pseudonym: func(id string) string { return "p-" + id }, Addresses: NewMemoryAddressBook()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newNoticeWorld(t, tt.opts)
			me := pnJID(caregiver)
			w.script(me, upToOffer...)
			w.say(me, "1") // 接納預約
			bs := w.bookings()
			if len(bs) != 1 {
				t.Fatalf("bookings = %d, want 1", len(bs))
			}
			if n := w.waitSent("提提你"); n != 1 {
				t.Fatalf("reminders sent = %d, want 1", n)
			}
			reminder := w.waitSent("2. 取消預約")
			if reminder != 1 {
				t.Errorf("reminder prompts = %d, want 1", reminder)
			}
			for _, s := range w.client.sentSince(0) {
				if s.To.User != caregiver {
					t.Errorf("a message went to %v, want the caregiver's chat", s.To)
				}
			}
			if sure := w.say(me, "2"); !contains(sure, "確定取消預約") {
				t.Fatalf("2 did not ask sure?:\n%s", joined(sure))
			}
			if done := w.say(me, "1"); !contains(done, "已取消") {
				t.Fatalf("1 did not cancel:\n%s", joined(done))
			}
			b := w.bookings()[0]
			sl, err := w.store.Slot(context.Background(), b.Slot.ID)
			if b.Status != booking.StatusCancelled || err != nil || sl.Taken != 0 {
				t.Errorf("after the cancel: booking %s, slot taken %d (%v); want cancelled and the place free", b.Status, sl.Taken, err)
			}
			w.waitSent("附上的行事曆檔案會把它從行事曆中刪除")
		})
	}
}

// TestNotifyUnknownChat: with a Pseudonym and no address known, a notice
// is undeliverable, not retried for ever.
func TestNotifyUnknownChat(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, &recordingHandler{}, Options{Pseudonym: func(id string) string { return "p-" + id }, Addresses: NewMemoryAddressBook()})
	_, err := hs.adapter.Notify(context.Background(), bot.Update{Booker: booking.Booker{Channel: booking.ChannelWhatsApp, ID: "p-1"}, ID: "notice-1-1"})
	if !errors.Is(err, bot.ErrUndeliverable) {
		t.Errorf("Notify(unknown chat) = %v, want ErrUndeliverable", err)
	}
}

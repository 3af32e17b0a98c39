package whatsapp

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

// world is the whole bot over a fake WhatsApp: the real router, engine and
// SQLite store behind an Adapter.
type world struct {
	*harness
	store booking.Store
	next  int
}

func newWorld(t *testing.T) *world {
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
	router := bot.NewRouter(env.NewEngine(t), bot.NewMemoryCoordinator(env.Sessions, env.Clock.Now), bot.Options{})
	w.harness = newHarness(t, router, Options{})
	t.Cleanup(func() {
		logs := w.logs.String()
		for _, secret := range []string{"A123456", "91234567", caregiver, "9123"} {
			if strings.Contains(logs, secret) {
				t.Errorf("personal data %q reached the log:\n%s", secret, logs)
			}
		}
	})
	return w
}

// say sends text from sender as a new message and returns what was sent
// back.
func (w *world) say(sender types.JID, text string) []string {
	w.t.Helper()
	w.next++
	return w.harness.say("msg"+string(rune('A'+w.next/26))+string(rune('a'+w.next%26)), sender, text)
}

// script sends each text in turn and returns the answer to the last.
func (w *world) script(sender types.JID, texts ...string) []string {
	w.t.Helper()
	var got []string
	for _, s := range texts {
		got = w.say(sender, s)
		if len(got) == 0 {
			w.t.Fatalf("no answer to %q", s)
		}
	}
	return got
}

func (w *world) bookings() []booking.Booking {
	w.t.Helper()
	bs, err := w.store.Bookings(context.Background(), booking.BookingQuery{})
	if err != nil {
		w.t.Fatalf("Bookings: %v", err)
	}
	return bs
}

func contains(msgs []string, sub string) bool {
	for _, m := range msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

// upToOffer takes a caregiver through flow A, typing numbers and words, up
// to the offer of the earliest slot at 環翠.
var upToOffer = []string{
	"選單", // the main menu
	"1",  // 為他人預約
	"1",  // 身份證
	"A123456(3)",
	"1970",     // read as 1970-01-01
	"1",        // 是
	"91234567", // the patient's mobile
	"1",        // 確定 (consent)
	"1",        // 預約「指定診所」
	"香港",       // by words
	"2",        // 環翠普通科門診診所
}

// TestEndToEndBookEnquireCancel: a caregiver books, enquires and cancels
// in zh-HK by typing, and sees the clinic's location and calendar file.
func TestEndToEndBookEnquireCancel(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	me := pnJID(caregiver)
	// The shipped clinics have no coordinates (no public source): give the
	// booked one test coordinates so that a location is sent.
	var clinic booking.Clinic
	for _, c := range booking.DefaultClinics() {
		if c.ID == "wan-tsui" {
			clinic = c
		}
	}
	clinic.Location = booking.Coordinates{Lat: 22.2656, Lng: 114.2376}
	if err := w.store.SaveClinics(context.Background(), []booking.Clinic{clinic}); err != nil {
		t.Fatalf("SaveClinics: %v", err)
	}

	offer := w.script(me, upToOffer...)
	if !contains(offer, "系統安排最早的診症時段") || !contains(offer, "1. 接納預約") || !contains(offer, "請回覆選項的號碼或文字；回覆 0 返回上一步，回覆「選單」返回主選單。") {
		t.Fatalf("offer:\n%s", joined(offer))
	}
	booked := w.say(me, "1") // 接納預約
	if len(booked) != 3 || !strings.Contains(booked[0], "預約成功") ||
		!strings.HasPrefix(booked[1], "[location 環翠普通科門診診所") ||
		!strings.HasPrefix(booked[2], "[document clinicbot-") || !strings.Contains(booked[2], ".ics text/calendar") {
		t.Fatalf("booked answer = text, location, calendar file? got:\n%s", joined(booked))
	}
	bs := w.bookings()
	if len(bs) != 1 {
		t.Fatalf("bookings = %d, want 1", len(bs))
	}
	ref := string(bs[0].Reference)
	if bs[0].Booker != (booking.Booker{Channel: booking.ChannelWhatsApp, ID: caregiver}) {
		t.Errorf("booker = %+v, want the caregiver's number", bs[0].Booker)
	}
	w.client.mu.Lock()
	ics := string(w.client.uploads[0])
	w.client.mu.Unlock()
	if !strings.Contains(ics, "BEGIN:VCALENDAR") {
		t.Errorf("uploaded calendar file:\n%s", ics)
	}

	// Enquire, answering the verification by the clinic's name.
	enquiry := w.script(me, "選單", "2", "1", "A123456(3)", "1970", "1", "環翠", "1")
	if !contains(enquiry, ref) {
		t.Errorf("enquiry answer lacks the reference %s:\n%s", ref, joined(enquiry))
	}

	// Cancel, going back one step on the way ("0").
	back := w.script(me, "選單", "3", "1", "A123456(3)", "0")
	if !contains(back, "身份證號碼") {
		t.Errorf("0 did not go back to the document number:\n%s", joined(back))
	}
	w.script(me, "A123456(3)", "1970", "1", "環翠", "1")
	confirm := w.say(me, "1") // 取消預約
	if !contains(confirm, "1. 是") {
		t.Fatalf("cancel confirmation:\n%s", joined(confirm))
	}
	w.say(me, "是")
	if st := w.bookings()[0].Status; st != booking.StatusCancelled {
		t.Errorf("booking status = %s, want cancelled", st)
	}
}

// TestEndToEndRedelivered: WhatsApp delivering the accepting message twice
// (same id) books once and answers once, with the clinic's location.
func TestEndToEndRedelivered(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	me := pnJID(caregiver)
	w.script(me, upToOffer...)
	first := w.harness.say("accept-1", me, "1")
	again := w.harness.say("accept-1", me, "1")
	if !contains(first, "預約成功") || !contains(first, "[location 環翠普通科門診診所 | 柴灣環翠邨第12座地下 | 22.2629,114.2395]") {
		t.Fatalf("first delivery:\n%s", joined(first))
	}
	if len(again) != 0 {
		t.Errorf("redelivery answered:\n%s", joined(again))
	}
	if n := len(w.bookings()); n != 1 {
		t.Errorf("bookings = %d, want 1", n)
	}
}

// TestEndToEndLIDAndNumber: a caregiver who starts from their number and
// goes on from their @lid address continues the same conversation.
func TestEndToEndLIDAndNumber(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.client.mu.Lock()
	w.client.lidToPN["201234567890123"] = caregiver
	w.client.mu.Unlock()
	w.script(pnJID(caregiver), upToOffer[:5]...)
	got := w.say(lidJID("201234567890123"), "1") // 是: the date of birth is right
	if !contains(got, "手提電話號碼") {
		t.Fatalf("from the @lid address the conversation did not go on:\n%s", joined(got))
	}
	w.script(lidJID("201234567890123"), upToOffer[6:]...)
	if got := w.say(pnJID(caregiver), "1"); !contains(got, "預約成功") {
		t.Fatalf("booking from the number after the @lid address:\n%s", joined(got))
	}
	if n := len(w.bookings()); n != 1 {
		t.Errorf("bookings = %d, want 1", n)
	}
}

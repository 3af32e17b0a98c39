package booking_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

func TestRemindersAt(t *testing.T) {
	t.Parallel()
	hk := booking.HongKong()
	day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, hk) }
	quiet := booking.QuietHours{From: 22 * time.Hour, To: 8 * time.Hour}
	for _, tt := range []struct {
		name       string
		r          booking.Reminders
		start, now time.Time
		want       time.Time
	}{
		{"DayAhead", booking.Reminders{Before: 24 * time.Hour, Quiet: quiet, Location: hk}, day(10, 10, 0), day(7, 12, 0), day(9, 10, 0)},
		{"QuietMovesToMorning", booking.Reminders{Before: 24 * time.Hour, Quiet: quiet, Location: hk}, day(10, 23, 0), day(7, 12, 0), day(10, 8, 0)},
		{"QuietAfterMidnight", booking.Reminders{Before: 2 * time.Hour, Quiet: quiet, Location: hk}, day(10, 9, 0), day(7, 12, 0), day(10, 8, 0)},
		{"TooLateToShiftStays", booking.Reminders{Before: 2 * time.Hour, Quiet: quiet, Location: hk}, day(10, 7, 30), day(7, 12, 0), day(10, 5, 30)},
		{"QuietOff", booking.Reminders{Before: 24 * time.Hour, Location: hk}, day(10, 23, 0), day(7, 12, 0), day(9, 23, 0)},
		{"BookedLateRemindsNow", booking.Reminders{Before: 24 * time.Hour, Quiet: quiet, Location: hk}, day(10, 15, 0), day(10, 9, 0), day(10, 9, 0)},
		{"Off", booking.Reminders{Quiet: quiet, Location: hk}, day(10, 15, 0), day(7, 9, 0), time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.r.At(tt.start, tt.now); !got.Equal(tt.want) {
				t.Errorf("At(%v, %v) = %v, want %v", tt.start, tt.now, got.In(hk), tt.want)
			}
		})
	}
}

func ExampleParseQuietHours() {
	for _, s := range []string{"22:00-08:00", "off", "23:30-7:00", "22-8"} {
		q, err := booking.ParseQuietHours(s)
		fmt.Println(q, err != nil)
	}
	// Output:
	// 22:00-08:00 false
	// off false
	// 23:30-07:00 false
	// off true
}

func FuzzParseQuietHours(f *testing.F) {
	for _, s := range []string{"22:00-08:00", "off", "OFF", "00:00-00:00", "24:00-01:00", "9:5-1:00", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := booking.ParseQuietHours(s)
		if err != nil {
			return
		}
		if q.From < 0 || q.From >= 24*time.Hour || q.To < 0 || q.To >= 24*time.Hour {
			t.Fatalf("ParseQuietHours(%q) = %+v, out of a day", s, q)
		}
		again, err := booking.ParseQuietHours(q.String())
		if err != nil || again != q && !(again.Off() && q.Off()) {
			t.Fatalf("ParseQuietHours(%q) = %v; its String %q reads back as %v, %v", s, q, q.String(), again, err)
		}
	})
}

func TestNoticeToken(t *testing.T) {
	t.Parallel()
	p, err := booking.NewProtector(make([]byte, booking.MinKeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, err := booking.NewProtector(append(make([]byte, booking.MinKeySize-1), 1))
	if err != nil {
		t.Fatal(err)
	}
	b := booking.Booker{Channel: booking.ChannelTelegram, ID: "1001"}
	until := time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)
	tok := p.NoticeToken("K7QM-4X2P", b, until)
	if len(tok) != 16 || tok != p.NoticeToken("K7QM-4X2P", b, until) {
		t.Fatalf("NoticeToken = %q, want 16 hex digits, the same each time", tok)
	}
	for name, got := range map[string]string{
		"another booking": p.NoticeToken("K7QM-4X2Q", b, until),
		"another chat":    p.NoticeToken("K7QM-4X2P", booking.Booker{Channel: booking.ChannelTelegram, ID: "1002"}, until),
		"another expiry":  p.NoticeToken("K7QM-4X2P", b, until.Add(time.Second)),
		"another key":     other.NoticeToken("K7QM-4X2P", b, until),
	} {
		if got == tok {
			t.Errorf("NoticeToken for %s = the same token", name)
		}
	}
}

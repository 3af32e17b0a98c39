package dialog

import (
	"bytes"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/clinicbot/clinicbot/booking"
)

func TestCalendarFile(t *testing.T) {
	hk := booking.HongKong()
	b := booking.Booking{
		Reference: "K7QM-4X2P",
		Slot: booking.Slot{
			Service: booking.ServiceClinic, ClinicID: "robert-black",
			Start: time.Date(2026, 11, 28, 9, 15, 0, 0, hk).UTC(), End: time.Date(2026, 11, 28, 9, 30, 0, 0, hk).UTC(),
		},
		CreatedAt: time.Date(2026, 11, 28, 0, 5, 0, 0, time.UTC),
	}
	clinic := &booking.Clinic{Name: booking.Text{ZhHK: "柏立基普通科門診診所"}, Address: booking.Text{ZhHK: "新蒲崗太子道東600號"}}
	f := calendarFile(b, clinic, "zh-HK", "指定診所 – 柏立基普通科門診診所", "參考編號：K7QM-4X2P", hk)
	if f.Name != "clinicbot-K7QM4X2P.ics" || f.MIME != "text/calendar" {
		t.Errorf("file = %q %q, want clinicbot-K7QM4X2P.ics text/calendar", f.Name, f.MIME)
	}
	if !bytes.Contains(f.Data, []byte("\r\n")) {
		t.Errorf("lines do not end in CRLF as RFC 5545 requires")
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatalf("ParseCalendar() = %v", err)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("events = %d, want 1", len(events))
	}
	ev := events[0]
	if got := ev.Id(); got != "booking-k7qm4x2p@clinicbot" {
		t.Errorf("UID = %q, want booking-k7qm4x2p@clinicbot", got)
	}
	start := ev.GetProperty(ics.ComponentPropertyDtStart)
	if start.Value != "20261128T091500" || strings.Join(start.ICalParameters["TZID"], "") != tzid {
		t.Errorf("DTSTART = %q %v, want 20261128T091500 with TZID %s", start.Value, start.ICalParameters, tzid)
	}
	got, err := ev.GetStartAt()
	if err != nil || !got.Equal(b.Slot.Start) {
		t.Errorf("GetStartAt() = %v, %v, want %v", got, err, b.Slot.Start)
	}
	if loc := ev.GetProperty(ics.ComponentPropertyLocation); loc == nil || loc.Value != "柏立基普通科門診診所, 新蒲崗太子道東600號" {
		t.Errorf("LOCATION = %v", loc)
	}
	again := calendarFile(b, clinic, "zh-HK", "指定診所 – 柏立基普通科門診診所", "參考編號：K7QM-4X2P", hk)
	if !bytes.Equal(again.Data, f.Data) {
		t.Errorf("the same booking gave two different calendar files")
	}
	if seq := ev.GetProperty(ics.ComponentPropertySequence); seq == nil || seq.Value != "0" {
		t.Errorf("SEQUENCE = %v, want 0", seq)
	}
	// Moved: the same UID, a higher SEQUENCE, the new time.
	b.Sequence = 1
	b.Slot.Start, b.Slot.End = b.Slot.Start.Add(24*time.Hour), b.Slot.End.Add(24*time.Hour)
	moved, err := ics.ParseCalendar(bytes.NewReader(calendarFile(b, clinic, "zh-HK", "s", "d", hk).Data))
	if err != nil {
		t.Fatalf("ParseCalendar(moved) = %v", err)
	}
	mev := moved.Events()[0]
	if mev.Id() != ev.Id() {
		t.Errorf("moved UID = %q, want %q", mev.Id(), ev.Id())
	}
	if seq := mev.GetProperty(ics.ComponentPropertySequence); seq == nil || seq.Value != "1" {
		t.Errorf("moved SEQUENCE = %v, want 1", seq)
	}
}

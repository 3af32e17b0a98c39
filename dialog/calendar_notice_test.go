package dialog

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/clinicbot/clinicbot/booking"
)

// checkRFC5545 fails t unless data is well-formed as RFC 5545 asks: CRLF
// lines of at most 75 octets, BEGIN and END nested, a VCALENDAR with
// PRODID and VERSION, every VEVENT with UID, DTSTAMP and DTSTART, and
// every VALARM with ACTION, TRIGGER and (DISPLAY) DESCRIPTION.
func checkRFC5545(t *testing.T, data []byte) {
	t.Helper()
	if !bytes.HasSuffix(data, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatalf("lines do not all end in CRLF")
	}
	var stack []string
	props := map[string]map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if len(strings.TrimSuffix(line, "\r")) > 75 {
			t.Errorf("line over 75 octets: %q", line)
		}
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, " ") {
			continue // a folded continuation
		}
		name, value, _ := strings.Cut(line, ":")
		name, _, _ = strings.Cut(name, ";")
		switch name {
		case "BEGIN":
			stack = append(stack, value)
			props[strings.Join(stack, "/")] = map[string]bool{}
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != value {
				t.Fatalf("END:%s does not close %v", value, stack)
			}
			path := strings.Join(stack, "/")
			for _, need := range map[string][]string{
				"VCALENDAR":               {"PRODID", "VERSION"},
				"VCALENDAR/VEVENT":        {"UID", "DTSTAMP", "DTSTART", "SEQUENCE", "STATUS"},
				"VCALENDAR/VEVENT/VALARM": {"ACTION", "TRIGGER", "DESCRIPTION"},
			}[path] {
				if !props[path][need] {
					t.Errorf("%s has no %s", path, need)
				}
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				t.Fatalf("property %s outside any component", name)
			}
			props[strings.Join(stack, "/")][name] = true
		}
	}
	if len(stack) != 0 {
		t.Fatalf("components left open: %v", stack)
	}
}

func TestCalendarAlarmsAndUpdates(t *testing.T) {
	hk := booking.HongKong()
	b := booking.Booking{
		Reference: "K7QM-4X2P",
		Slot: booking.Slot{Service: booking.ServiceClinic, ClinicID: "robert-black",
			Start: time.Date(2026, 11, 28, 9, 15, 0, 0, hk).UTC(), End: time.Date(2026, 11, 28, 9, 30, 0, 0, hk).UTC()},
		CreatedAt: time.Date(2026, 11, 27, 0, 5, 0, 0, time.UTC),
		Sequence:  1,
	}
	clinic := &booking.Clinic{Name: booking.Text{ZhHK: "柏立基普通科門診診所"}, Address: booking.Text{ZhHK: "新蒲崗太子道東600號"}}
	for _, tt := range []struct {
		name     string
		file     *File
		seq      string
		status   string
		triggers []string
	}{
		{"Booked", calendarFile(b, clinic, "zh-HK", "指定診所", "參考編號：K7QM-4X2P", hk), "1", "CONFIRMED", []string{"-P1D", "-PT2H"}},
		{"Moved", calendarUpdate(b, clinic, "zh-HK", "指定診所", "d", hk, 2, false), "2", "CONFIRMED", []string{"-P1D", "-PT2H"}},
		{"Cancelled", calendarUpdate(b, clinic, "zh-HK", "指定診所", "d", hk, 2, true), "2", "CANCELLED", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkRFC5545(t, tt.file.Data)
			cal, err := ics.ParseCalendar(bytes.NewReader(tt.file.Data))
			if err != nil {
				t.Fatalf("ParseCalendar() = %v", err)
			}
			ev := cal.Events()[0]
			if ev.Id() != "booking-k7qm4x2p@clinicbot" {
				t.Errorf("UID = %q, want the booking's own", ev.Id())
			}
			if got := ev.GetProperty(ics.ComponentPropertySequence).Value; got != tt.seq {
				t.Errorf("SEQUENCE = %s, want %s", got, tt.seq)
			}
			if got := ev.GetProperty(ics.ComponentPropertyStatus).Value; got != tt.status {
				t.Errorf("STATUS = %s, want %s", got, tt.status)
			}
			var triggers []string
			for _, a := range ev.Alarms() {
				triggers = append(triggers, a.GetProperty(ics.ComponentPropertyTrigger).Value)
				if a.GetProperty(ics.ComponentPropertyAction).Value != "DISPLAY" {
					t.Errorf("alarm ACTION = %v, want DISPLAY", a.GetProperty(ics.ComponentPropertyAction))
				}
			}
			if strings.Join(triggers, ",") != strings.Join(tt.triggers, ",") {
				t.Errorf("alarm triggers = %v, want %v", triggers, tt.triggers)
			}
		})
	}
}

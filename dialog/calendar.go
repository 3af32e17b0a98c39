package dialog

import (
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/clinicbot/clinicbot/booking"
)

// tzid is the time zone the calendar file's times are written in.
const tzid = "Asia/Hong_Kong"

// calendarFile is the booking as an iCalendar event. Its UID derives from
// the reference alone, so the file sent again (a replayed accept) updates
// the same calendar entry rather than adding another; its SEQUENCE is the
// booking's moves, so a moved booking's file replaces the older one.
//
// The event carries two alarms, a day and two hours ahead (calendarAlarms).
func calendarFile(b booking.Booking, clinic *booking.Clinic, lang, summary, description string, loc *time.Location) *File {
	return calendarUpdate(b, clinic, lang, summary, description, loc, b.Sequence, false)
}

// calendarAlarms are the alarms of every booking's event, as RFC 5545
// triggers before its start.
var calendarAlarms = []string{"-P1D", "-PT2H"}

// calendarUpdate is calendarFile with SEQUENCE seq, for the file a notice
// sends when the booking changed: a calendar replaces the event of the same
// UID with a lower SEQUENCE. A cancelled booking's event says
// STATUS:CANCELLED, which removes it or marks it cancelled.
func calendarUpdate(b booking.Booking, clinic *booking.Clinic, lang, summary, description string, loc *time.Location, seq int, cancelled bool) *File {
	ref := strings.ReplaceAll(string(b.Reference), "-", "")
	cal := ics.NewCalendar()
	cal.SetProductId("-//clinicbot//booking//EN")
	cal.SetMethod(ics.MethodPublish)
	tz := cal.AddTimezone(tzid)
	std := tz.AddStandard()
	// Hong Kong has kept UTC+8 without daylight saving since 1979.
	std.AddProperty(ics.ComponentProperty(ics.PropertyDtstart), "19790101T000000")
	std.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), "+0800")
	std.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), "+0800")
	std.AddProperty(ics.ComponentProperty(ics.PropertyTzname), "HKT")

	ev := cal.AddEvent("booking-" + strings.ToLower(ref) + "@clinicbot")
	ev.SetDtStampTime(b.CreatedAt)
	ev.SetSequence(seq)
	if cancelled {
		ev.SetStatus(ics.ObjectStatusCancelled)
	} else {
		ev.SetStatus(ics.ObjectStatusConfirmed)
	}
	const local = "20060102T150405"
	ev.SetProperty(ics.ComponentPropertyDtStart, b.Slot.Start.In(loc).Format(local), ics.WithTZID(tzid))
	ev.SetProperty(ics.ComponentPropertyDtEnd, b.Slot.End.In(loc).Format(local), ics.WithTZID(tzid))
	ev.SetSummary(summary)
	ev.SetDescription(description)
	if clinic != nil {
		where := clinic.Name.In(lang)
		if addr := clinic.Address.In(lang); addr != "" {
			where += ", " + addr
		}
		ev.SetLocation(where)
		if clinic.Location.Known() {
			ev.SetGeo(clinic.Location.Lat, clinic.Location.Lng)
		}
	}
	if !cancelled {
		for _, trigger := range calendarAlarms {
			alarm := ev.AddAlarm()
			alarm.SetAction(ics.ActionDisplay)
			alarm.SetTrigger(trigger)
			alarm.SetProperty(ics.ComponentPropertyDescription, summary)
		}
	}
	return &File{
		Name: "clinicbot-" + ref + ".ics",
		MIME: "text/calendar",
		Data: []byte(cal.Serialize(ics.WithNewLine("\r\n"))),
	}
}

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
func calendarFile(b booking.Booking, clinic *booking.Clinic, lang, summary, description string, loc *time.Location) *File {
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
	ev.SetSequence(b.Sequence)
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
	return &File{
		Name: "clinicbot-" + ref + ".ics",
		MIME: "text/calendar",
		Data: []byte(cal.Serialize(ics.WithNewLine("\r\n"))),
	}
}

package booking

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// maxAgeYears is how far back a date of birth may lie.
const maxAgeYears = 130

// ParseDateOfBirth reads a date of birth as a booker types it:
// "1970/1/1", "1970-01-01", "1970.1.1", "1970年1月1日", year first; or
// "01/01/1970", "1/1/1970", day first (Hong Kong writes the day before the
// month); or a bare year "1970", read as 1 January as the seed instructs for
// a document that shows no month and day. Full-width digits are accepted;
// two-digit years are not, as they are ambiguous.
//
// A refused date yields a *ValidationError for field "date_of_birth" with
// reason ReasonEmpty, ReasonFormat, ReasonImpossible (no such day, e.g. 31
// February), ReasonFuture (after today) or ReasonTooOld (more than 130 years
// before today).
func ParseDateOfBirth(s string, today Date) (Date, error) {
	d, reason := parseDate(s)
	if reason == "" {
		switch {
		case today.Before(d):
			reason = ReasonFuture
		case d.Before(today.addYears(-maxAgeYears)):
			reason = ReasonTooOld
		}
	}
	if reason != "" {
		return Date{}, &ValidationError{Field: "date_of_birth", Reason: reason}
	}
	return d, nil
}

// parseDate reads a date in any accepted shape, or says why it cannot.
func parseDate(s string) (Date, Reason) {
	s = strings.TrimSpace(foldWidth(s))
	if s == "" {
		return Date{}, ReasonEmpty
	}
	var parts []string
	switch {
	case strings.ContainsRune(s, '年'):
		// 1970年1月1日; the closing 日 may be left off.
		s = strings.TrimSuffix(s, "日")
		y, md, ok := strings.Cut(s, "年")
		m, d, ok2 := strings.Cut(md, "月")
		if !ok || !ok2 {
			return Date{}, ReasonFormat
		}
		parts = []string{y, m, d}
	default:
		sep := strings.IndexAny(s, "/-.")
		if sep < 0 {
			parts = []string{s}
			break
		}
		parts = strings.Split(s, s[sep:sep+1])
	}
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if !allDigits(parts[i]) {
			return Date{}, ReasonFormat
		}
	}
	var ys, ms, ds string
	switch {
	case len(parts) == 1 && len(parts[0]) == 4:
		ys, ms, ds = parts[0], "1", "1"
	case len(parts) == 3 && len(parts[0]) == 4 && len(parts[1]) <= 2 && len(parts[2]) <= 2:
		ys, ms, ds = parts[0], parts[1], parts[2]
	case len(parts) == 3 && len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2:
		ds, ms, ys = parts[0], parts[1], parts[2]
	default:
		return Date{}, ReasonFormat
	}
	y, _ := strconv.Atoi(ys)
	m, _ := strconv.Atoi(ms)
	day, _ := strconv.Atoi(ds)
	d := Date{Year: y, Month: time.Month(m), Day: day}
	if !d.Valid() {
		return Date{}, ReasonImpossible
	}
	return d, ""
}

// DateOf returns the civil date of t in loc (UTC when loc is nil).
func DateOf(t time.Time, loc *time.Location) Date {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	return Date{Year: y, Month: m, Day: d}
}

// Valid reports whether d is a day of the Gregorian calendar in years 1 to
// 9999 (the years an ISO 8601 date can write with four digits).
func (d Date) Valid() bool {
	if d.Year < 1 || d.Year > 9999 || d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return d.Day <= daysIn(d.Year, d.Month)
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// addYears returns d moved by n years; 29 February becomes 28 February in a
// year without it, so that the result is never later than the true
// anniversary.
func (d Date) addYears(n int) Date {
	r := Date{Year: d.Year + n, Month: d.Month, Day: d.Day}
	if r.Month >= time.January && r.Month <= time.December && r.Day > daysIn(r.Year, r.Month) {
		r.Day = daysIn(r.Year, r.Month)
	}
	return r
}

// String returns the date in ISO 8601 form, "1970-01-01". It is the form
// the booker is shown back; ParseDateOfBirth reads it.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// LogValue hides the date from log/slog: a date of birth is personal data.
func (d Date) LogValue() slog.Value { return slog.StringValue("****-**-**") }

package booking

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Period is a span of opening hours within a day, as offsets from local
// midnight: 09:00–13:00 is Period{From: 9 * time.Hour, To: 13 * time.Hour}.
type Period struct {
	From time.Duration
	To   time.Duration
}

// ParsePeriod reads opening hours written "09:00-13:00" (or with an en dash
// or "~"), for an operator's configuration. It yields a *ValidationError for
// field "period".
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(foldWidth(s))
	from, to, ok := cutAny(s, "-–~")
	if !ok {
		return Period{}, &ValidationError{Field: "period", Reason: ReasonFormat}
	}
	f, ok1 := parseClock(from)
	t, ok2 := parseClock(to)
	if !ok1 || !ok2 {
		return Period{}, &ValidationError{Field: "period", Reason: ReasonFormat}
	}
	p := Period{From: f, To: t}
	if err := p.validate(); err != nil {
		return Period{}, err
	}
	return p, nil
}

// cutAny cuts s around the first of the runes in seps.
func cutAny(s, seps string) (before, after string, found bool) {
	i := strings.IndexAny(s, seps)
	if i < 0 {
		return s, "", false
	}
	_, size := utf8.DecodeRuneInString(s[i:])
	return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+size:]), true
}

// parseClock reads "9:00", "09:00" or "24:00" as an offset from midnight.
func parseClock(s string) (time.Duration, bool) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !allDigits(hs) || !allDigits(ms) {
		return 0, false
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

// String writes the period "09:00–13:00".
func (p Period) String() string {
	clock := func(d time.Duration) string {
		return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return clock(p.From) + "–" + clock(p.To)
}

func (p Period) validate() error {
	if p.From < 0 || p.To > 24*time.Hour || p.To <= p.From {
		return &ValidationError{Field: "period", Reason: ReasonFormat}
	}
	return nil
}

// maxScheduleDays bounds a schedule: a typing slip in an operator's
// configuration should fail, not generate slots for centuries.
const maxScheduleDays = 366

// ScheduleSpec describes the slots to open: every day from From for Days
// days, each Period cut into slots of SlotLength, at each clinic with
// ClinicCapacity places and for video consultation with VideoCapacity places.
// A capacity of 0 opens no slots of that service.
type ScheduleSpec struct {
	From           Date
	Days           int
	Location       *time.Location // where the periods' hours are read
	Periods        []Period
	SlotLength     time.Duration
	ClinicCapacity int
	VideoCapacity  int
	Clinics        []ClinicID
}

// DefaultSchedule returns the seed's opening hours for the clinics from
// from: 09:00–13:00 and 14:00–17:00 Hong Kong time every day, public
// holidays included, in 15-minute slots of 4 places at each clinic and 6
// for video consultation, for 14 days.
func DefaultSchedule(from Date, clinics []ClinicID) ScheduleSpec {
	return ScheduleSpec{
		From:     from,
		Days:     14,
		Location: HongKong(),
		Periods: []Period{
			{From: 9 * time.Hour, To: 13 * time.Hour},
			{From: 14 * time.Hour, To: 17 * time.Hour},
		},
		SlotLength:     15 * time.Minute,
		ClinicCapacity: 4,
		VideoCapacity:  6,
		Clinics:        append([]ClinicID(nil), clinics...),
	}
}

// Validate reports every problem of the spec, joined; each is a
// *ValidationError. Days must be 1 to 366, slots at least a minute long,
// periods within a day and apart from each other, clinic IDs slugs without
// repeats.
func (spec ScheduleSpec) Validate() error {
	var errs []error
	bad := func(field string, reason Reason) {
		errs = append(errs, &ValidationError{Field: field, Reason: reason})
	}
	if !spec.From.Valid() {
		bad("from", ReasonImpossible)
	}
	if spec.Days < 1 || spec.Days > maxScheduleDays {
		bad("days", ReasonFormat)
	}
	if spec.Location == nil {
		bad("location", ReasonEmpty)
	}
	if len(spec.Periods) == 0 {
		bad("periods", ReasonEmpty)
	}
	for i, p := range spec.Periods {
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("period %d: %w", i, err))
			continue
		}
		for _, q := range spec.Periods[:i] {
			if p.From < q.To && q.From < p.To {
				errs = append(errs, fmt.Errorf("period %d overlaps another: %w", i, &ValidationError{Field: "period", Reason: ReasonFormat}))
				break
			}
		}
	}
	if spec.SlotLength < time.Minute {
		bad("slot_length", ReasonFormat)
	}
	if spec.ClinicCapacity < 0 {
		bad("clinic_capacity", ReasonFormat)
	}
	if spec.VideoCapacity < 0 {
		bad("video_capacity", ReasonFormat)
	}
	if spec.ClinicCapacity > 0 && len(spec.Clinics) == 0 {
		bad("clinics", ReasonEmpty)
	}
	seen := make(map[ClinicID]bool)
	for i, id := range spec.Clinics {
		switch {
		case !validSlug(string(id)):
			errs = append(errs, fmt.Errorf("clinic %d: %w", i, &ValidationError{Field: "clinic", Reason: ReasonFormat}))
		case seen[id]:
			errs = append(errs, fmt.Errorf("clinic %d: duplicate %s: %w", i, id, &ValidationError{Field: "clinic", Reason: ReasonFormat}))
		}
		seen[id] = true
	}
	return errors.Join(errs...)
}

// GenerateSlots returns the slots spec describes, in UTC, ordered by start,
// then video before clinics, then clinics in the spec's order. A slot that
// would run past the end of its period is not made. An invalid spec yields
// the errors of Validate.
func GenerateSlots(spec ScheduleSpec) ([]Slot, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("booking: schedule: %w", err)
	}
	var slots []Slot
	for day := range spec.Days {
		// Days are counted on the calendar, not in 24-hour steps, and each
		// slot's wall-clock time is read in Location, so a day with a clock
		// change still opens at its local hours.
		y, m, d := time.Date(spec.From.Year, spec.From.Month, spec.From.Day+day, 0, 0, 0, 0, time.UTC).Date()
		for _, p := range spec.Periods {
			for off := p.From; off+spec.SlotLength <= p.To; off += spec.SlotLength {
				start := time.Date(y, m, d, int(off/time.Hour), 0, 0, int(off%time.Hour), spec.Location)
				end := start.Add(spec.SlotLength)
				if spec.VideoCapacity > 0 {
					slots = append(slots, Slot{Service: ServiceVideo, Start: start.UTC(), End: end.UTC(), Capacity: spec.VideoCapacity})
				}
				if spec.ClinicCapacity > 0 {
					for _, id := range spec.Clinics {
						slots = append(slots, Slot{Service: ServiceClinic, ClinicID: id, Start: start.UTC(), End: end.UTC(), Capacity: spec.ClinicCapacity})
					}
				}
			}
		}
	}
	return slots, nil
}

// Validate reports every problem of a slot as an operator might import it,
// joined; each is a *ValidationError: a known service, a clinic given for
// an in-person slot and only for one, an end after the start, both in UTC,
// a capacity of at least 1 and places taken within it.
func (s Slot) Validate() error {
	var errs []error
	bad := func(field string, reason Reason) {
		errs = append(errs, &ValidationError{Field: field, Reason: reason})
	}
	switch {
	case !s.Service.Valid():
		bad("service", ReasonFormat)
	case s.Service == ServiceClinic && s.ClinicID == "":
		bad("clinic", ReasonEmpty)
	case s.Service == ServiceClinic && !validSlug(string(s.ClinicID)):
		bad("clinic", ReasonFormat)
	case s.Service == ServiceVideo && s.ClinicID != "":
		bad("clinic", ReasonFormat)
	}
	if s.Start.IsZero() {
		bad("start", ReasonEmpty)
	} else if s.Start.Location() != time.UTC {
		bad("start", ReasonFormat)
	}
	if s.End.IsZero() {
		bad("end", ReasonEmpty)
	} else if s.End.Location() != time.UTC {
		bad("end", ReasonFormat)
	}
	if !s.End.After(s.Start) {
		bad("end", ReasonImpossible)
	}
	if s.Capacity < 1 {
		bad("capacity", ReasonFormat)
	}
	if s.Taken < 0 || s.Taken > s.Capacity {
		bad("taken", ReasonFormat)
	}
	return errors.Join(errs...)
}

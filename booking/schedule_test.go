package booking

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the DST test needs America/New_York on any machine

	"github.com/google/go-cmp/cmp"
)

func TestDefaultSchedule(t *testing.T) {
	t.Parallel()
	from := Date{2024, time.June, 15}
	clinics := []ClinicID{"wan-tsui", "kowloon-bay"}
	spec := DefaultSchedule(from, clinics)
	clinics[0] = "changed" // the spec holds its own copy
	want := ScheduleSpec{
		From:           from,
		Days:           14,
		Location:       HongKong(),
		Periods:        []Period{{9 * time.Hour, 13 * time.Hour}, {14 * time.Hour, 17 * time.Hour}},
		SlotLength:     15 * time.Minute,
		ClinicCapacity: 4,
		VideoCapacity:  6,
		Clinics:        []ClinicID{"wan-tsui", "kowloon-bay"},
	}
	if diff := cmp.Diff(want, spec, cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("DefaultSchedule mismatch (-want +got):\n%s", diff)
	}

	slots, err := GenerateSlots(spec)
	if err != nil {
		t.Fatalf("GenerateSlots: %v", err)
	}
	// 14 days × (16 morning + 12 afternoon slots) × (2 clinics + video).
	if got, want := len(slots), 14*28*3; got != want {
		t.Fatalf("len(GenerateSlots) = %d, want %d", got, want)
	}
	hk := HongKong()
	count := make(map[ClinicID]int)
	for i, s := range slots {
		if err := s.Validate(); err != nil {
			t.Fatalf("slot %d %+v: %v", i, s, err)
		}
		if i > 0 && s.Start.Before(slots[i-1].Start) {
			t.Fatalf("slot %d starts before slot %d", i, i-1)
		}
		local := s.Start.In(hk)
		if h := local.Hour(); h < 9 || h == 13 || h >= 17 {
			t.Errorf("slot %d starts at %v Hong Kong time, outside opening hours", i, local)
		}
		if s.End.Sub(s.Start) != 15*time.Minute {
			t.Errorf("slot %d lasts %v", i, s.End.Sub(s.Start))
		}
		wantCap := 4
		if s.Service == ServiceVideo {
			wantCap = 6
		}
		if s.Capacity != wantCap || s.Taken != 0 {
			t.Errorf("slot %d %+v: capacity %d taken %d, want %d and 0", i, s, s.Capacity, s.Taken, wantCap)
		}
		count[s.ClinicID]++
	}
	if diff := cmp.Diff(map[ClinicID]int{"": 392, "wan-tsui": 392, "kowloon-bay": 392}, count); diff != "" {
		t.Errorf("slots per clinic mismatch (-want +got):\n%s", diff)
	}
	first, last := slots[0], slots[len(slots)-1]
	if want := time.Date(2024, time.June, 15, 1, 0, 0, 0, time.UTC); !first.Start.Equal(want) || first.Service != ServiceVideo {
		t.Errorf("first slot = %+v, want video at %v", first, want)
	}
	if want := time.Date(2024, time.June, 28, 9, 0, 0, 0, time.UTC); !last.End.Equal(want) || last.ClinicID != "kowloon-bay" {
		t.Errorf("last slot = %+v, want kowloon-bay ending %v", last, want)
	}
}

func TestGenerateSlots(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		name string
		spec ScheduleSpec
		want []Slot
	}{
		{
			name: "slot_past_period_end_dropped_and_month_rollover",
			spec: ScheduleSpec{
				From: Date{2024, time.December, 31}, Days: 2, Location: time.UTC,
				Periods:    []Period{{9 * time.Hour, 10 * time.Hour}},
				SlotLength: 25 * time.Minute, ClinicCapacity: 2, Clinics: []ClinicID{"a"},
			},
			want: []Slot{
				{Service: ServiceClinic, ClinicID: "a", Start: utc(2024, 12, 31, 9, 0), End: utc(2024, 12, 31, 9, 25), Capacity: 2},
				{Service: ServiceClinic, ClinicID: "a", Start: utc(2024, 12, 31, 9, 25), End: utc(2024, 12, 31, 9, 50), Capacity: 2},
				{Service: ServiceClinic, ClinicID: "a", Start: utc(2025, 1, 1, 9, 0), End: utc(2025, 1, 1, 9, 25), Capacity: 2},
				{Service: ServiceClinic, ClinicID: "a", Start: utc(2025, 1, 1, 9, 25), End: utc(2025, 1, 1, 9, 50), Capacity: 2},
			},
		},
		{
			name: "video_only",
			spec: ScheduleSpec{
				From: Date{2024, time.June, 15}, Days: 1, Location: HongKong(),
				Periods:    []Period{{14 * time.Hour, 15 * time.Hour}},
				SlotLength: 30 * time.Minute, VideoCapacity: 3,
			},
			want: []Slot{
				{Service: ServiceVideo, Start: utc(2024, 6, 15, 6, 0), End: utc(2024, 6, 15, 6, 30), Capacity: 3},
				{Service: ServiceVideo, Start: utc(2024, 6, 15, 6, 30), End: utc(2024, 6, 15, 7, 0), Capacity: 3},
			},
		},
		{
			// Clocks go forward on 10 March 2024 in New York: 09:00 local is
			// 14:00 UTC the day before and 13:00 UTC that day.
			name: "local_hours_kept_across_dst",
			spec: ScheduleSpec{
				From: Date{2024, time.March, 9}, Days: 2, Location: ny,
				Periods:    []Period{{9 * time.Hour, 10 * time.Hour}},
				SlotLength: time.Hour, ClinicCapacity: 1, Clinics: []ClinicID{"a"},
			},
			want: []Slot{
				{Service: ServiceClinic, ClinicID: "a", Start: utc(2024, 3, 9, 14, 0), End: utc(2024, 3, 9, 15, 0), Capacity: 1},
				{Service: ServiceClinic, ClinicID: "a", Start: utc(2024, 3, 10, 13, 0), End: utc(2024, 3, 10, 14, 0), Capacity: 1},
			},
		},
		{
			name: "video_first_then_clinics_in_order",
			spec: ScheduleSpec{
				From: Date{2024, time.June, 15}, Days: 1, Location: time.UTC,
				Periods:    []Period{{0, 90 * time.Second}},
				SlotLength: 90 * time.Second, ClinicCapacity: 1, VideoCapacity: 1, Clinics: []ClinicID{"z", "a"},
			},
			want: []Slot{
				{Service: ServiceVideo, Start: utc(2024, 6, 15, 0, 0), End: utc(2024, 6, 15, 0, 0).Add(90 * time.Second), Capacity: 1},
				{Service: ServiceClinic, ClinicID: "z", Start: utc(2024, 6, 15, 0, 0), End: utc(2024, 6, 15, 0, 0).Add(90 * time.Second), Capacity: 1},
				{Service: ServiceClinic, ClinicID: "a", Start: utc(2024, 6, 15, 0, 0), End: utc(2024, 6, 15, 0, 0).Add(90 * time.Second), Capacity: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := GenerateSlots(tt.spec)
			if err != nil {
				t.Fatalf("GenerateSlots: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GenerateSlots mismatch (-want +got):\n%s", diff)
			}
			for _, s := range got {
				if s.Start.Location() != time.UTC || s.End.Location() != time.UTC {
					t.Errorf("slot %+v not in UTC", s)
				}
			}
		})
	}
}

func TestScheduleSpecValidate(t *testing.T) {
	t.Parallel()
	base := DefaultSchedule(Date{2024, time.June, 15}, []ClinicID{"a", "b"})
	tests := []struct {
		name       string
		change     func(*ScheduleSpec)
		wantFields []string
	}{
		{name: "default", change: func(*ScheduleSpec) {}},
		{name: "no_clinics_no_clinic_capacity", change: func(s *ScheduleSpec) { s.Clinics, s.ClinicCapacity = nil, 0 }},
		{name: "bad_from", change: func(s *ScheduleSpec) { s.From = Date{2024, 2, 30} }, wantFields: []string{"from"}},
		{name: "zero_days", change: func(s *ScheduleSpec) { s.Days = 0 }, wantFields: []string{"days"}},
		{name: "no_location", change: func(s *ScheduleSpec) { s.Location = nil }, wantFields: []string{"location"}},
		{name: "no_periods", change: func(s *ScheduleSpec) { s.Periods = nil }, wantFields: []string{"periods"}},
		{name: "backwards_period", change: func(s *ScheduleSpec) { s.Periods = []Period{{13 * time.Hour, 9 * time.Hour}} }, wantFields: []string{"period"}},
		{name: "period_past_midnight", change: func(s *ScheduleSpec) { s.Periods = []Period{{23 * time.Hour, 25 * time.Hour}} }, wantFields: []string{"period"}},
		{name: "overlapping_periods", change: func(s *ScheduleSpec) {
			s.Periods = []Period{{9 * time.Hour, 13 * time.Hour}, {12 * time.Hour, 14 * time.Hour}}
		}, wantFields: []string{"period"}},
		{name: "zero_slot_length", change: func(s *ScheduleSpec) { s.SlotLength = 0 }, wantFields: []string{"slot_length"}},
		{name: "sub_minute_slot_length", change: func(s *ScheduleSpec) { s.SlotLength = 59 * time.Second }, wantFields: []string{"slot_length"}},
		{name: "a_year", change: func(s *ScheduleSpec) { s.Days = 366 }},
		{name: "over_a_year", change: func(s *ScheduleSpec) { s.Days = 367 }, wantFields: []string{"days"}},
		{name: "negative_capacities", change: func(s *ScheduleSpec) { s.ClinicCapacity, s.VideoCapacity = -1, -1 }, wantFields: []string{"clinic_capacity", "video_capacity"}},
		{name: "clinic_capacity_without_clinics", change: func(s *ScheduleSpec) { s.Clinics = nil }, wantFields: []string{"clinics"}},
		{name: "bad_and_duplicate_clinics", change: func(s *ScheduleSpec) { s.Clinics = []ClinicID{"a", "A b", "a"} }, wantFields: []string{"clinic"}},
		{name: "several", change: func(s *ScheduleSpec) { s.Days, s.SlotLength, s.Location = 0, 0, nil }, wantFields: []string{"days", "location", "slot_length"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := base
			spec.Periods = append([]Period(nil), base.Periods...)
			spec.Clinics = append([]ClinicID(nil), base.Clinics...)
			tt.change(&spec)
			err := spec.Validate()
			if got := fieldsOf(err); !cmp.Equal(got, tt.wantFields) {
				t.Errorf("Validate() = %v: fields %v, want %v", err, got, tt.wantFields)
			}
			slots, genErr := GenerateSlots(spec)
			if (genErr != nil) != (err != nil) || (genErr != nil && slots != nil) {
				t.Errorf("GenerateSlots = %d slots, %v; Validate = %v", len(slots), genErr, err)
			}
		})
	}
}

// fieldsOf lists the distinct fields of the *ValidationErrors in err's
// tree, in order of first appearance.
func fieldsOf(err error) []string {
	var out []string
	seen := make(map[string]bool)
	var walk func(error)
	walk = func(err error) {
		switch x := err.(type) {
		case nil:
			return
		case *ValidationError:
			if !seen[x.Field] {
				seen[x.Field] = true
				out = append(out, x.Field)
			}
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   Period
		reason Reason
	}{
		{in: "09:00-13:00", want: Period{9 * time.Hour, 13 * time.Hour}},
		{in: "9:00 – 13:00", want: Period{9 * time.Hour, 13 * time.Hour}},
		{in: "14:00~17:30", want: Period{14 * time.Hour, 17*time.Hour + 30*time.Minute}},
		{in: "０９：００－１３：００", want: Period{9 * time.Hour, 13 * time.Hour}},
		{in: "00:00-24:00", want: Period{0, 24 * time.Hour}},
		{in: "13:00-09:00", reason: ReasonFormat},
		{in: "09:00-09:00", reason: ReasonFormat},
		{in: "09:00", reason: ReasonFormat},
		{in: "9-13", reason: ReasonFormat},
		{in: "09:60-13:00", reason: ReasonFormat},
		{in: "24:30-25:00", reason: ReasonFormat},
		{in: "", reason: ReasonFormat},
	}
	for _, tt := range tests {
		got, err := ParsePeriod(tt.in)
		if tt.reason == "" && err != nil || tt.reason != "" && !isValidation(err, "period", tt.reason) {
			t.Errorf("ParsePeriod(%q) error = %v, want reason %q", tt.in, err, tt.reason)
		}
		if got != tt.want {
			t.Errorf("ParsePeriod(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := (Period{9 * time.Hour, 13*time.Hour + 30*time.Minute}).String(); got != "09:00–13:30" {
		t.Errorf("Period.String() = %q, want 09:00–13:30", got)
	}
}

func isValidation(err error, field string, reason Reason) bool {
	var ve *ValidationError
	return errors.As(err, &ve) && ve.Field == field && ve.Reason == reason
}

func TestSlotValidate(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, time.June, 15, 1, 0, 0, 0, time.UTC)
	good := Slot{Service: ServiceClinic, ClinicID: "wan-tsui", Start: start, End: start.Add(15 * time.Minute), Capacity: 4}
	tests := []struct {
		name       string
		change     func(*Slot)
		wantFields []string
	}{
		{name: "clinic", change: func(*Slot) {}},
		{name: "video", change: func(s *Slot) { s.Service, s.ClinicID = ServiceVideo, "" }},
		{name: "full", change: func(s *Slot) { s.Taken = s.Capacity }},
		{name: "unknown_service", change: func(s *Slot) { s.Service = "phone" }, wantFields: []string{"service"}},
		{name: "clinic_without_id", change: func(s *Slot) { s.ClinicID = "" }, wantFields: []string{"clinic"}},
		{name: "clinic_bad_id", change: func(s *Slot) { s.ClinicID = "Wan Tsui" }, wantFields: []string{"clinic"}},
		{name: "video_with_clinic", change: func(s *Slot) { s.Service = ServiceVideo }, wantFields: []string{"clinic"}},
		{name: "end_before_start", change: func(s *Slot) { s.End = s.Start.Add(-time.Minute) }, wantFields: []string{"end"}},
		{name: "end_equals_start", change: func(s *Slot) { s.End = s.Start }, wantFields: []string{"end"}},
		{name: "zero_times", change: func(s *Slot) { s.Start, s.End = time.Time{}, time.Time{} }, wantFields: []string{"start", "end"}},
		{name: "not_utc", change: func(s *Slot) { s.Start, s.End = s.Start.In(HongKong()), s.End.In(HongKong()) }, wantFields: []string{"start", "end"}},
		{name: "zero_capacity", change: func(s *Slot) { s.Capacity = 0 }, wantFields: []string{"capacity"}},
		{name: "over_taken", change: func(s *Slot) { s.Taken = 5 }, wantFields: []string{"taken"}},
		{name: "negative_taken", change: func(s *Slot) { s.Taken = -1 }, wantFields: []string{"taken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := good
			tt.change(&s)
			err := s.Validate()
			if got := fieldsOf(err); !cmp.Equal(got, tt.wantFields) {
				t.Errorf("%+v.Validate() = %v: fields %v, want %v", s, err, got, tt.wantFields)
			}
		})
	}
}

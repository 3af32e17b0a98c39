package importer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
)

var hk = booking.HongKong()

func clinics() []booking.Clinic {
	return []booking.Clinic{{ID: "wan-tsui", Region: booking.RegionHongKong}, {ID: "yuen-chau-kok", Region: booking.RegionNewTerritories}}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// lines returns the line numbers of a *Error's problems.
func lines(t *testing.T, err error) []int {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *importer.Error", err, err)
	}
	var out []int
	for _, le := range e.Errors {
		out = append(out, le.Line)
	}
	return out
}

func TestParseScheduleGood(t *testing.T) {
	t.Parallel()
	want := []booking.Slot{
		{Service: booking.ServiceClinic, ClinicID: "wan-tsui", Start: utc("2025-03-01T01:00:00Z"), End: utc("2025-03-01T01:15:00Z"), Capacity: 4},
		{Service: booking.ServiceVideo, Start: utc("2025-03-01T15:45:00Z"), End: utc("2025-03-01T16:00:00Z"), Capacity: 6},
	}
	tests := []struct {
		name   string
		format Format
		in     string
	}{
		{"csv", CSV, "\uFEFFservice,clinic,date,start,end,capacity\n# a comment\nclinic,wan-tsui,2025-03-01,09:00,09:15,4\n\nvideo,,2025-03-01,23:45,24:00,6\n"},
		{"csv_columns_reordered_no_clinic_column_for_video", CSV, "date,start,end,capacity,service,clinic\n2025-03-01,9:00,09:15,4,clinic,wan-tsui\n2025-03-01,23:45,24:00,6,video,\n"},
		{"yaml_list", YAML, "- {service: clinic, clinic: wan-tsui, date: 2025-03-01, start: \"09:00\", end: \"09:15\", capacity: 4}\n- service: video\n  date: 2025-03-01\n  start: \"23:45\"\n  end: \"24:00\"\n  capacity: 6\n"},
		{"yaml_slots_key", YAML, "slots:\n  - {service: clinic, clinic: wan-tsui, date: 2025-03-01, start: 09:00, end: 09:15, capacity: 4}\n  - {service: video, date: 2025-03-01, start: 23:45, end: 24:00, capacity: 6}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSchedule("s."+string(tt.format), tt.format, strings.NewReader(tt.in), clinics(), hk)
			if err != nil {
				t.Fatalf("ParseSchedule: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseSchedule (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseScheduleBadRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		format    Format
		in        string
		wantLines []int
		wantText  []string
	}{
		{
			name:   "csv",
			format: CSV,
			in: "service,clinic,date,start,end,capacity\n" + // 1
				"clinic,wan-tsui,2025-03-01,09:00,09:15,4\n" + // 2 good
				"clinic,nowhere,2025-03-01,09:00,09:15,4\n" + // 3 unknown clinic
				"video,,2025-02-30,09:00,09:15,4\n" + // 4 bad date
				"clinic,wan-tsui,2025-03-01,09:15,09:00,0\n" + // 5 end before start, capacity 0 (two problems)
				"clinic,wan-tsui,2025-03-01,09:00,09:15,4\n" + // 6 duplicate of 2
				"walk-in,,2025-03-01,09:00,09:15,4\n" + // 7 bad service
				"video,wan-tsui,2025-03-01,09:00,09:15,4\n" + // 8 clinic on video
				"clinic,wan-tsui,2025-03-01\n", // 9 short row
			wantLines: []int{3, 4, 5, 5, 6, 7, 8, 9},
			wantText:  []string{"nowhere", "2025-02-30", "not after start", "capacity", "the same slot as line 2", "walk-in", "empty for video", "fields"},
		},
		{
			name:      "csv_bad_header",
			format:    CSV,
			in:        "service,clinik,date,start,end\nclinic,wan-tsui,2025-03-01,09:00,09:15\n",
			wantLines: []int{1, 1},
			wantText:  []string{"unknown column \"clinik\"", "missing column \"capacity\""},
		},
		{
			name:   "yaml",
			format: YAML,
			in: "slots:\n" + // 1
				"  - {service: clinic, clinic: wan-tsui, date: 2025-03-01, start: \"09:00\", end: \"09:15\", capacity: 4}\n" + // 2 good
				"  - service: clinic\n" + // 3
				"    clinic: wan-tsui\n" +
				"    date: 2025-03-01\n" +
				"    start: \"9am\"\n" + // bad start
				"    end: \"09:15\"\n" +
				"    capacity: four\n" + // bad capacity
				"  - {service: video, date: 2025-03-01, start: \"10:00\", end: \"10:15\", capacity: 2, room: 3}\n" + // 9 unknown key
				"  - {service: clinic, clinic: wan-tsui, date: 2025-03-01, start: \"09:00\", end: \"09:15\", capacity: 9}\n", // 10 duplicate
			wantLines: []int{3, 3, 9, 10},
			wantText:  []string{"9am", "four", "room", "the same slot as line 2"},
		},
		{
			name:      "yaml_not_yaml",
			format:    YAML,
			in:        "slots:\n  - {service: clinic\n",
			wantLines: []int{1}, // yaml.v3 names the line its unclosed context began on

			wantText: []string{"not YAML"},
		},
		{
			name:      "empty",
			format:    CSV,
			in:        "service,clinic,date,start,end,capacity\n",
			wantLines: []int{1},
			wantText:  []string{"no slots"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			slots, err := ParseSchedule("bad."+string(tt.format), tt.format, strings.NewReader(tt.in), clinics(), hk)
			if slots != nil {
				t.Errorf("ParseSchedule returned %d slots with errors, want none", len(slots))
			}
			if diff := cmp.Diff(tt.wantLines, lines(t, err)); diff != "" {
				t.Errorf("lines (-want +got):\n%s\nerror: %v", diff, err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want Format
		ok   bool
	}{
		{"a.csv", CSV, true}, {"A.CSV", CSV, true}, {"x.yaml", YAML, true}, {"x.yml", YAML, true},
		{"c.json", JSON, true}, {"x.txt", "", false}, {"x", "", false},
	}
	for _, tt := range tests {
		got, err := FormatOf(tt.name)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrFormat)) {
			t.Errorf("FormatOf(%q) = %q, %v; want %q, ok %v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseClinics(t *testing.T) {
	t.Parallel()
	const good = `clinics:
  - id: wan-tsui
    region: hk
    name: {zh-HK: 環翠普通科門診診所, en: Wan Tsui General Out-patient Clinic}
    district: {zh-HK: 東區, en: Eastern}
  - id: tin-shui-wai
    region: nt
    name: {zh-HK: 天水圍（天業路）社區健康中心, en: Tin Shui Wai (Tin Yip Road) Community Health Centre}
    address: {en: "Tin Yip Road, Tin Shui Wai"}
`
	got, err := ParseClinics("c.yaml", YAML, strings.NewReader(good))
	if err != nil {
		t.Fatalf("ParseClinics: %v", err)
	}
	want := []booking.Clinic{
		{ID: "wan-tsui", Region: booking.RegionHongKong, Name: booking.Text{ZhHK: "環翠普通科門診診所", En: "Wan Tsui General Out-patient Clinic"}, District: booking.Text{ZhHK: "東區", En: "Eastern"}},
		{ID: "tin-shui-wai", Region: booking.RegionNewTerritories, Name: booking.Text{ZhHK: "天水圍（天業路）社區健康中心", En: "Tin Shui Wai (Tin Yip Road) Community Health Centre"}, Address: booking.Text{En: "Tin Yip Road, Tin Shui Wai"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseClinics (-want +got):\n%s", diff)
	}

	const bad = `[
  {"id": "wan-tsui", "region": "hk", "name": {"zh-HK": "環翠", "en": "Wan Tsui"}},
  {"id": "Bad ID", "region": "hk", "name": {"zh-HK": "x", "en": "x"}},
  {"id": "wan-tsui", "region": "hk", "name": {"zh-HK": "環翠", "en": "Wan Tsui"}},
  {"id": "x", "region": "mars", "name": {"zh-HK": "x", "en": "x"}},
  {"id": "y", "region": "hk", "name": {"zh-HK": "y", "en": "y"}, "phone": "1"}
]`
	clinics, err := ParseClinics("c.json", JSON, strings.NewReader(bad))
	if clinics != nil {
		t.Errorf("ParseClinics returned %d clinics with errors, want none", len(clinics))
	}
	if diff := cmp.Diff([]int{3, 4, 5, 6}, lines(t, err)); diff != "" {
		t.Errorf("lines (-want +got):\n%s\nerror: %v", diff, err)
	}
}

func FuzzParseSchedule(f *testing.F) {
	f.Add([]byte("service,clinic,date,start,end,capacity\nclinic,wan-tsui,2025-03-01,09:00,09:15,4\n"), true)
	f.Add([]byte("- {service: video, date: 2025-03-01, start: \"23:45\", end: \"24:00\", capacity: 6}\n"), false)
	f.Add([]byte("service,clinic\n\"a,b\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		format := YAML
		if csv {
			format = CSV
		}
		slots, err := ParseSchedule("f", format, strings.NewReader(string(data)), clinics(), hk)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v (%T) is neither *Error nor ErrFormat", err, err)
			}
			if slots != nil {
				t.Fatalf("slots and an error")
			}
			return
		}
		for _, s := range slots {
			if err := s.Validate(); err != nil {
				t.Fatalf("slot %+v: %v", s, err)
			}
		}
	})
}

func FuzzParseClinics(f *testing.F) {
	f.Add([]byte(`[{"id": "wan-tsui", "region": "hk", "name": {"zh-HK": "環翠", "en": "Wan Tsui"}}]`))
	f.Add([]byte("clinics:\n  - id: a\n    region: kln\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		clinics, err := ParseClinics("f", YAML, strings.NewReader(string(data)))
		if err != nil {
			if clinics != nil {
				t.Fatalf("clinics and an error")
			}
			return
		}
		for _, c := range clinics {
			if err := c.Validate(); err != nil {
				t.Fatalf("clinic %+v: %v", c, err)
			}
		}
	})
}

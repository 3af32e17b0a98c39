package booking

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultClinics(t *testing.T) {
	t.Parallel()
	clinics := DefaultClinics()
	wantIDs := []ClinicID{"wan-tsui", "kennedy-town", "robert-black", "kowloon-bay", "south-kwai-chung", "yuen-chau-kok", "tin-shui-wai"}
	var ids []ClinicID
	perRegion := make(map[Region]int)
	for _, c := range clinics {
		ids = append(ids, c.ID)
		perRegion[c.Region]++
		if err := c.Validate(); err != nil {
			t.Errorf("clinic %s: %v", c.ID, err)
		}
		if c.Name.ZhCN == "" || c.District.ZhHK == "" || c.District.En == "" || c.District.ZhCN == "" {
			t.Errorf("clinic %s lacks a translation: name %+v, district %+v", c.ID, c.Name, c.District)
		}
		if c.Source == "" {
			t.Errorf("clinic %s has no source", c.ID)
		}
		// An address in one language only would show differently per booker.
		if a := c.Address; (a.ZhHK == "") != (a.En == "") || (a.ZhHK == "") != (a.ZhCN == "") {
			t.Errorf("clinic %s has an address in some languages only: %+v", c.ID, a)
		}
	}
	if diff := cmp.Diff(wantIDs, ids); diff != "" {
		t.Errorf("DefaultClinics() IDs mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[Region]int{RegionHongKong: 2, RegionKowloon: 2, RegionNewTerritories: 3}, perRegion); diff != "" {
		t.Errorf("clinics per region mismatch (-want +got):\n%s", diff)
	}
	// A fresh copy each time: a caller's change does not leak.
	clinics[0].ID = "changed"
	if DefaultClinics()[0].ID != "wan-tsui" {
		t.Error("DefaultClinics returned shared storage")
	}
}

func TestParseClinics(t *testing.T) {
	t.Parallel()
	const good = `{"id":"wan-tsui","region":"hk","name":{"zh-HK":"環翠普通科門診診所","en":"Wan Tsui General Out-patient Clinic"}}`
	tests := []struct {
		name string
		in   string
		want []Clinic
		// wantProblems are fragments that must each appear in the error,
		// wantFields the fields of the *ValidationErrors it must hold.
		wantProblems []string
		wantFields   []string
	}{
		{
			name: "one",
			in:   "[" + good + "]",
			want: []Clinic{{ID: "wan-tsui", Region: RegionHongKong, Name: Text{ZhHK: "環翠普通科門診診所", En: "Wan Tsui General Out-patient Clinic"}}},
		},
		{
			name: "with_location",
			in:   `[{"id":"a1","region":"nt","name":{"zh-HK":"甲","en":"A"},"location":{"lat":22.3,"lng":114.1}}]`,
			want: []Clinic{{ID: "a1", Region: RegionNewTerritories, Name: Text{ZhHK: "甲", En: "A"}, Location: Coordinates{Lat: 22.3, Lng: 114.1}}},
		},
		{name: "empty_array", in: `[]`, wantProblems: []string{"invalid clinics: empty"}, wantFields: []string{"clinics"}},
		{name: "not_json", in: `{`, wantProblems: []string{"parse clinics"}},
		{name: "unknown_field", in: `[{"id":"a","region":"hk","name":{"zh-HK":"甲","en":"A"},"phone":"1"}]`, wantProblems: []string{"unknown field"}},
		{name: "trailing_data", in: "[" + good + "] []", wantProblems: []string{"data after the array"}, wantFields: []string{"clinics"}},
		{
			name:         "every_problem_with_index",
			in:           `[` + good + `,{"id":"Bad Slug","region":"mars","name":{"en":"B"}},{"id":"","region":"","name":{"zh-HK":"丙"}},` + good + `,{"id":"swapped","region":"kln","name":{"zh-HK":"丁","en":"D"},"location":{"lat":114.2,"lng":22.3}}]`,
			wantProblems: []string{"clinic 1: invalid id: format", "clinic 1: invalid region: format", "invalid name.zh-HK: empty", "clinic 2: invalid id: empty", "invalid region: empty", "invalid name.en: empty", `clinic 3: id "wan-tsui" already used by clinic 0`, "clinic 4: invalid location: format"},
			wantFields:   []string{"id", "region", "name.zh-HK", "name.en", "location"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseClinics(strings.NewReader(tt.in))
			if len(tt.wantProblems) == 0 {
				if err != nil {
					t.Fatalf("ParseClinics error = %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ParseClinics mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseClinics = %v, want an error", got)
			}
			for _, p := range tt.wantProblems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("ParseClinics error lacks %q:\n%v", p, err)
				}
			}
			for _, f := range tt.wantFields {
				if !hasValidationField(err, f) {
					t.Errorf("ParseClinics error holds no *ValidationError for %q:\n%v", f, err)
				}
			}
		})
	}
}

// hasValidationField reports whether err's tree holds a *ValidationError
// for field.
func hasValidationField(err error, field string) bool {
	var ve *ValidationError
	if errors.As(err, &ve) && ve.Field == field {
		return true
	}
	switch x := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			if hasValidationField(e, field) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return hasValidationField(x.Unwrap(), field)
	}
	return false
}

func TestValidSlug(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"wan-tsui", true},
		{"a", true},
		{"clinic-2", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"a--b", false},
		{"Wan-Tsui", false},
		{"wan_tsui", false},
		{"wan tsui", false},
		{"環翠", false},
	}
	for _, tt := range tests {
		if got := validSlug(tt.in); got != tt.want {
			t.Errorf("validSlug(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

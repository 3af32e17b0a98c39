package booking

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// clinicsJSON is the default clinic data: the Hospital Authority's seven
// designated clinics of 2022. Each entry's Source says where its address and
// coordinates come from; a field no public source gave is left empty.
//
//go:embed clinics.json
var clinicsJSON []byte

var defaultClinics = sync.OnceValue(func() []Clinic {
	clinics, err := ParseClinics(bytes.NewReader(clinicsJSON))
	if err != nil {
		// The file is part of the build and checked by the tests.
		panic("booking: embedded clinics.json: " + err.Error())
	}
	return clinics
})

// DefaultClinics returns the embedded default clinics, a fresh copy on each
// call.
func DefaultClinics() []Clinic {
	return append([]Clinic(nil), defaultClinics()...)
}

// ParseClinics reads clinics from JSON in the form of the embedded
// clinics.json, an array of Clinic, so that an operator can replace the
// default data. Unknown fields are refused. Every clinic is validated and IDs
// must be unique; every problem is reported, joined, each with the index of
// the clinic it concerns.
func ParseClinics(r io.Reader) ([]Clinic, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var clinics []Clinic
	if err := dec.Decode(&clinics); err != nil {
		return nil, fmt.Errorf("booking: parse clinics: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("booking: parse clinics: data after the array: %w", &ValidationError{Field: "clinics", Reason: ReasonFormat})
	}
	if len(clinics) == 0 {
		return nil, fmt.Errorf("booking: parse clinics: %w", &ValidationError{Field: "clinics", Reason: ReasonEmpty})
	}
	var errs []error
	first := make(map[ClinicID]int)
	for i, c := range clinics {
		for _, err := range splitJoined(c.Validate()) {
			errs = append(errs, fmt.Errorf("clinic %d: %w", i, err))
		}
		if j, ok := first[c.ID]; ok && c.ID != "" {
			errs = append(errs, fmt.Errorf("clinic %d: id %q already used by clinic %d: %w", i, c.ID, j, &ValidationError{Field: "id", Reason: ReasonFormat}))
		} else {
			first[c.ID] = i
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("booking: parse clinics: %w", err)
	}
	return clinics, nil
}

// Hong Kong's extent, with a margin: coordinates outside it are a mistake,
// most often latitude and longitude swapped.
const (
	minLat, maxLat = 22.1, 22.6
	minLng, maxLng = 113.8, 114.5
)

// Validate reports every problem of the clinic, joined; each is a
// *ValidationError: an ID that is a slug (lower-case letters and digits in
// groups joined by single dashes, at most 64 characters), a known region,
// names in zh-HK and English, and coordinates, when given, in Hong Kong.
func (c Clinic) Validate() error {
	var errs []error
	bad := func(field string, reason Reason) {
		errs = append(errs, &ValidationError{Field: field, Reason: reason})
	}
	switch {
	case c.ID == "":
		bad("id", ReasonEmpty)
	case !validSlug(string(c.ID)):
		bad("id", ReasonFormat)
	}
	switch {
	case c.Region == "":
		bad("region", ReasonEmpty)
	case !c.Region.Valid():
		bad("region", ReasonFormat)
	}
	if c.Name.ZhHK == "" {
		bad("name.zh-HK", ReasonEmpty)
	}
	if c.Name.En == "" {
		bad("name.en", ReasonEmpty)
	}
	if l := c.Location; l.Known() && (l.Lat < minLat || l.Lat > maxLat || l.Lng < minLng || l.Lng > maxLng) {
		bad("location", ReasonFormat)
	}
	return errors.Join(errs...)
}

// validSlug reports whether s is lower-case letters and digits in groups
// joined by single dashes, at most 64 characters: "wan-tsui".
func validSlug(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', isDigit(c):
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// splitJoined returns the errors joined in err (by errors.Join), err alone
// when it joins none, or nothing when err is nil.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

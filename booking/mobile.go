package booking

import (
	"log/slog"
	"strings"
)

// ParseMobile reads a Hong Kong mobile number: eight digits, the first 4–9,
// with or without the country code written "+852", "852" or "(852)", and
// with any spaces or dashes. Full-width digits are accepted.
//
// A refused number yields a *ValidationError for field "mobile" with reason
// ReasonEmpty, ReasonFormat, or ReasonNotMobile for eight digits that are not
// a mobile number (a first digit 0–3: fixed lines and special services).
func ParseMobile(s string) (Mobile, error) {
	s = removeRunes(foldWidth(s), spaces+"-")
	if s == "" {
		return "", &ValidationError{Field: "mobile", Reason: ReasonEmpty}
	}
	cut := false
	for _, cc := range []string{"+(852)", "(+852)", "(852)", "+852"} {
		if s, cut = strings.CutPrefix(s, cc); cut {
			break
		}
	}
	// A bare "852" is a country code only in front of eight more digits:
	// 8521 2345 is itself a mobile number.
	if !cut && len(s) == 11 && strings.HasPrefix(s, "852") {
		s = s[3:]
	}
	if len(s) != 8 || !allDigits(s) {
		return "", &ValidationError{Field: "mobile", Reason: ReasonFormat}
	}
	if s[0] < '4' {
		return "", &ValidationError{Field: "mobile", Reason: ReasonNotMobile}
	}
	return Mobile(s), nil
}

// Masked returns the number with all but its first and last two digits
// hidden, "9***-**78". A Mobile not made by ParseMobile keeps only its last
// two characters.
func (m Mobile) Masked() string {
	if len(m) != 8 || !allDigits(string(m)) {
		return maskTail(string(m), 2)
	}
	return string(m[:1]) + "***-**" + string(m[6:])
}

// String returns the masked number, so that a Mobile printed by mistake
// reveals no more than Masked.
func (m Mobile) String() string { return m.Masked() }

// LogValue returns the masked number for log/slog.
func (m Mobile) LogValue() slog.Value { return slog.StringValue(m.Masked()) }

// Display returns the whole number as Hong Kong writes it, "9123 4578", for
// the booker's own confirmation screens. Never log it.
func (m Mobile) Display() string {
	if len(m) != 8 {
		return string(m)
	}
	return string(m[:4]) + " " + string(m[4:])
}

// maskTail replaces every character of s but the last keep with '*'. A
// string of keep characters or fewer is masked whole: it would otherwise be
// shown in full.
func maskTail(s string, keep int) string {
	keep = max(keep, 0)
	r := []rune(s)
	if len(r) <= keep {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-keep) + string(r[len(r)-keep:])
}

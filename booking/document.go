package booking

import (
	"log/slog"
	"strings"
)

// ParseHKID reads a Hong Kong Identity Card number: one or two letters, six
// digits and a check character (0–9 or A), the check character bracketed or
// not. It accepts "A123456(3)", "a1234563", "A123456 3", "A123456（3）",
// full-width letters and digits, and surrounding spaces.
//
// A refused number yields a *ValidationError for field "hkid" with reason
// ReasonEmpty, ReasonFormat, or ReasonHKIDCheck when only the check
// character is wrong. The returned Document's Number is normalised to
// letters, digits and check character without brackets: "A1234563".
func ParseHKID(s string) (Document, error) {
	s = removeRunes(strings.ToUpper(foldWidth(s)), spaces)
	if s == "" {
		return Document{}, &ValidationError{Field: "hkid", Reason: ReasonEmpty}
	}
	// Letters first: one or two of them.
	n := 0
	for n < len(s) && n < 3 && isUpper(s[n]) {
		n++
	}
	if n == 0 || n > 2 {
		return Document{}, &ValidationError{Field: "hkid", Reason: ReasonFormat}
	}
	prefix, rest := s[:n], s[n:]
	if len(rest) < 7 || !allDigits(rest[:6]) {
		return Document{}, &ValidationError{Field: "hkid", Reason: ReasonFormat}
	}
	digits, check := rest[:6], rest[6:]
	if len(check) == 3 && check[0] == '(' && check[2] == ')' {
		check = check[1:2]
	}
	if len(check) != 1 || !(isDigit(check[0]) || check[0] == 'A') {
		return Document{}, &ValidationError{Field: "hkid", Reason: ReasonFormat}
	}
	if hkidCheck(prefix, digits) != check[0] {
		return Document{}, &ValidationError{Field: "hkid", Reason: ReasonHKIDCheck}
	}
	return Document{Type: DocumentHKID, Number: prefix + digits + check}, nil
}

// NewHKID completes an HKID number with its check character: prefix is one
// or two letters and digits six decimal digits. Test data and load tools use
// it to make numbers that ParseHKID accepts.
func NewHKID(prefix, digits string) (Document, error) {
	prefix = strings.ToUpper(prefix)
	if len(prefix) < 1 || len(prefix) > 2 || len(digits) != 6 {
		return Document{}, &ValidationError{Field: "hkid", Reason: ReasonFormat}
	}
	for i := 0; i < len(prefix); i++ {
		if !isUpper(prefix[i]) {
			return Document{}, &ValidationError{Field: "hkid", Reason: ReasonFormat}
		}
	}
	for i := 0; i < len(digits); i++ {
		if !isDigit(digits[i]) {
			return Document{}, &ValidationError{Field: "hkid", Reason: ReasonFormat}
		}
	}
	return Document{Type: DocumentHKID, Number: prefix + digits + string(hkidCheck(prefix, digits))}, nil
}

// hkidCheck returns the check character of an HKID whose prefix is one or
// two upper-case letters and digits six decimal digits. A one-letter prefix
// is padded on the left with a space, worth 36; A–Z are worth 10–35. The
// weights run 9 down to 2 over the eight positions.
func hkidCheck(prefix, digits string) byte {
	body := prefix + digits
	if len(prefix) == 1 {
		body = " " + body
	}
	sum := 0
	for i := 0; i < len(body); i++ {
		var v int
		switch c := body[i]; {
		case c == ' ':
			v = 36
		case isUpper(c):
			v = int(c-'A') + 10
		default:
			v = int(c - '0')
		}
		sum += v * (9 - i)
	}
	switch r := sum % 11; r {
	case 0:
		return '0'
	case 1:
		return 'A'
	default:
		return byte('0' + 11 - r)
	}
}

// ParseOtherDocument reads the number of a passport or other identity
// document: letters and digits only, 5–20 of them once spaces and dashes are
// removed, upper-cased. Full-width forms are folded to ASCII.
//
// A refused number yields a *ValidationError for field "document" with
// reason ReasonEmpty, ReasonFormat (a character other than a letter or digit)
// or ReasonLength.
func ParseOtherDocument(s string) (Document, error) {
	s = removeRunes(strings.ToUpper(foldWidth(s)), spaces+"-")
	if s == "" {
		return Document{}, &ValidationError{Field: "document", Reason: ReasonEmpty}
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !isUpper(s[i]) {
			return Document{}, &ValidationError{Field: "document", Reason: ReasonFormat}
		}
	}
	if len(s) < 5 || len(s) > 20 {
		return Document{}, &ValidationError{Field: "document", Reason: ReasonLength}
	}
	return Document{Type: DocumentOther, Number: s}, nil
}

// ParseDocument reads a document number of type t with ParseHKID or
// ParseOtherDocument. An unknown type yields a *ValidationError for field
// "document_type" with ReasonFormat.
func ParseDocument(t DocumentType, s string) (Document, error) {
	switch t {
	case DocumentHKID:
		return ParseHKID(s)
	case DocumentOther:
		return ParseOtherDocument(s)
	}
	return Document{}, &ValidationError{Field: "document_type", Reason: ReasonFormat}
}

// Masked returns the number with most of it hidden, for logs, staff lists
// and chat messages: an HKID keeps its first four characters and hides the
// rest and the check character, "A123***(*)" or "AB12***(*)"; another
// document keeps its first three characters and hides the rest with at least
// three stars, "E12*****". The zero Document masks to "".
func (d Document) Masked() string {
	if d.Number == "" {
		return ""
	}
	if d.Type == DocumentHKID {
		return firstRunes(d.Number, 4) + "***(*)"
	}
	keep := firstRunes(d.Number, 3)
	stars := max(len([]rune(d.Number))-len([]rune(keep)), 3)
	return keep + strings.Repeat("*", stars)
}

// firstRunes returns the first n runes of s, or fewer when s is shorter
// than n+1 runes so that at least one rune is always hidden.
func firstRunes(s string, n int) string {
	r := []rune(s)
	n = min(n, len(r)-1)
	if n <= 0 {
		return ""
	}
	return string(r[:n])
}

// String returns the masked number, so that a Document printed by mistake
// reveals no more than Masked.
func (d Document) String() string { return d.Masked() }

// LogValue returns the masked number for log/slog.
func (d Document) LogValue() slog.Value { return slog.StringValue(d.Masked()) }

// Display returns the full number formatted for the booker's own
// confirmation screens: an HKID as "A123456(3)", another document as its
// normalised number. It reveals the whole number: never log it.
func (d Document) Display() string {
	if d.Type == DocumentHKID && len(d.Number) >= 8 {
		n := len(d.Number)
		return d.Number[:n-1] + "(" + d.Number[n-1:] + ")"
	}
	return d.Number
}

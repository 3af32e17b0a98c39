package booking

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzReason fails t unless err is a *ValidationError for field with one of
// reasons.
func fuzzReason(t *testing.T, in string, err error, field string, reasons ...Reason) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != field || !slices.Contains(reasons, ve.Reason) {
		t.Fatalf("parse(%q) error = %v, want *ValidationError{%s, one of %v}", in, err, field, reasons)
	}
}

var hkidNumber = regexp.MustCompile(`^[A-Z]{1,2}[0-9]{6}[0-9A]$`)

func FuzzParseHKID(f *testing.F) {
	for _, s := range []string{"A123456(3)", "AB123456(9)", "CA182361(1)", "Z437626(A)", "a1234563", "A123456 3",
		"A123456（3）", "Ａ１２３４５６（３）", "", " ", "A123456(4)", "ABC123456(9)", "A123456(", "A\u3000123456 (3)", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		doc, err := ParseHKID(in)
		if err != nil {
			fuzzReason(t, in, err, "hkid", ReasonEmpty, ReasonFormat, ReasonHKIDCheck)
			if doc != (Document{}) {
				t.Fatalf("ParseHKID(%q) = %v with error %v, want zero", in, doc, err)
			}
			return
		}
		if doc.Type != DocumentHKID || !hkidNumber.MatchString(doc.Number) {
			t.Fatalf("ParseHKID(%q) = %#v, not a normalised HKID", in, doc)
		}
		n := len(doc.Number)
		if hkidCheck(doc.Number[:n-7], doc.Number[n-7:n-1]) != doc.Number[n-1] {
			t.Fatalf("ParseHKID(%q) = %#v with a wrong check character", in, doc)
		}
		for _, form := range []string{doc.Display(), doc.Number, strings.ToLower(doc.Display())} {
			again, err := ParseHKID(form)
			if err != nil || again != doc {
				t.Fatalf("ParseHKID(%q) = %#v, %v; want %#v (from %q)", form, again, err, doc, in)
			}
		}
		if m := doc.Masked(); strings.Contains(m, doc.Number[:5]) || !strings.HasSuffix(m, "***(*)") {
			t.Fatalf("Masked() = %q reveals too much of %q", m, doc.Number)
		}
	})
}

func FuzzParseOtherDocument(f *testing.F) {
	for _, s := range []string{"E1234567", "e12-345 67", "Ｅ１２３４５６７", "AB12", "ab123", strings.Repeat("9", 21), "", "護照12345", "É1234567", "A-B-C-D-E"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		doc, err := ParseOtherDocument(in)
		if err != nil {
			fuzzReason(t, in, err, "document", ReasonEmpty, ReasonFormat, ReasonLength)
			return
		}
		if doc.Type != DocumentOther || len(doc.Number) < 5 || len(doc.Number) > 20 || strings.Trim(doc.Number, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Fatalf("ParseOtherDocument(%q) = %#v, not a normalised number", in, doc)
		}
		if again, err := ParseOtherDocument(doc.Display()); err != nil || again != doc {
			t.Fatalf("ParseOtherDocument(%q) = %#v, %v; want %#v", doc.Display(), again, err, doc)
		}
		if m := doc.Masked(); m[:3] != doc.Number[:3] || strings.Trim(m[3:], "*") != "" || len(m) < 6 {
			t.Fatalf("Masked() = %q for %q", m, doc.Number)
		}
	})
}

func FuzzParseDateOfBirth(f *testing.F) {
	for _, s := range []string{"1970/1/1", "1970-01-01", "1970.1.1", "01/01/1970", "1/1/1970", "1970年1月1日", "１９７０／１／１",
		"1970", "31/2/1970", "2030-01-01", "1800-01-01", "1/1/70", "", "1970年", "0/0/0000", "29/2/2000", "9999-12-31"} {
		f.Add(s)
	}
	today := Date{2024, time.June, 15}
	oldest := Date{1894, time.June, 15}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDateOfBirth(in, today)
		if err != nil {
			fuzzReason(t, in, err, "date_of_birth", ReasonEmpty, ReasonFormat, ReasonImpossible, ReasonFuture, ReasonTooOld)
			return
		}
		if !d.Valid() || today.Before(d) || d.Before(oldest) {
			t.Fatalf("ParseDateOfBirth(%q) = %v, outside [%v, %v] or invalid", in, d, oldest, today)
		}
		if again, err := ParseDateOfBirth(d.String(), today); err != nil || again != d {
			t.Fatalf("ParseDateOfBirth(%q) = %v, %v; want %v (from %q)", d.String(), again, err, d, in)
		}
		dmy := strings.Join([]string{strconv.Itoa(d.Day), strconv.Itoa(int(d.Month)), strconv.Itoa(d.Year)}, "/")
		if again, err := ParseDateOfBirth(dmy, today); err != nil || again != d {
			t.Fatalf("ParseDateOfBirth(%q) = %v, %v; want %v", dmy, again, err, d)
		}
	})
}

func FuzzParseMobile(f *testing.F) {
	for _, s := range []string{"91234578", "9123 4578", "+852 9123 4578", "85291234578", "(852) 9123-4578", "＋８５２９１２３４５７８",
		"21234567", "9123457", "+86 13812345678", "", "85212345", "+852 852 91234578"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseMobile(in)
		if err != nil {
			fuzzReason(t, in, err, "mobile", ReasonEmpty, ReasonFormat, ReasonNotMobile)
			return
		}
		if len(m) != 8 || !allDigits(string(m)) || m[0] < '4' {
			t.Fatalf("ParseMobile(%q) = %q, not a mobile number", in, string(m))
		}
		for _, form := range []string{m.Display(), string(m), "+852 " + m.Display()} {
			if again, err := ParseMobile(form); err != nil || again != m {
				t.Fatalf("ParseMobile(%q) = %q, %v; want %q (from %q)", form, string(again), err, string(m), in)
			}
		}
		if masked := m.Masked(); strings.Contains(masked, string(m[1:6])) || len(masked) != 9 {
			t.Fatalf("Masked() = %q for %q", masked, string(m))
		}
	})
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"K7QM-4X2P", "k7qm4x2p", " K7QM 4X2P ", "KOQM-IX2L", "Ｋ７ＱＭ－４Ｘ２Ｐ", "K7QM-4X2U", "", "-", "K7QM-4X2PP"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ref, err := ParseReference(in)
		if err != nil {
			fuzzReason(t, in, err, "reference", ReasonEmpty, ReasonFormat)
			return
		}
		if !referencePattern.MatchString(string(ref)) {
			t.Fatalf("ParseReference(%q) = %q, not XXXX-XXXX over the alphabet", in, ref)
		}
		for _, form := range []string{string(ref), strings.ToLower(string(ref)), strings.ReplaceAll(string(ref), "-", "")} {
			if again, err := ParseReference(form); err != nil || again != ref {
				t.Fatalf("ParseReference(%q) = %q, %v; want %q (from %q)", form, again, err, ref, in)
			}
		}
	})
}

// FuzzOpen feeds Open arbitrary bytes: it must never panic, and nothing but
// a value Seal made under the same key and aad may open.
func FuzzOpen(f *testing.F) {
	p, err := NewProtector(bytes.Repeat([]byte{9}, MinKeySize))
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := p.Seal([]byte("91234578"), "mobile")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, "mobile")
	f.Add([]byte{}, "")
	f.Add(make([]byte, 28), "mobile")
	f.Fuzz(func(t *testing.T, data []byte, aad string) {
		got, err := p.Open(data, aad)
		switch {
		case err == nil:
			// Only "91234578" is ever sealed under this key, with aad
			// "mobile" (fuzz workers seal it again with their own nonces).
			if aad != "mobile" || string(got) != "91234578" {
				t.Fatalf("Open(%x, %q) = %q: opened a forged value", data, aad, got)
			}
		case !errors.Is(err, ErrSealBroken):
			t.Fatalf("Open(%x, %q) = %v; want ErrSealBroken", data, aad, err)
		case bytes.Equal(data, sealed) && aad == "mobile":
			t.Fatalf("Open(sealed) = %v", err)
		}
	})
}

// FuzzParseClinics checks that operator-supplied clinic files never panic
// the parser and that whatever it accepts passes validation.
func FuzzParseClinics(f *testing.F) {
	f.Add(string(clinicsJSON))
	f.Add(`[{"id":"a","region":"hk","name":{"zh-HK":"甲","en":"A"}}]`)
	f.Add(`[{"id":"a","region":"hk","name":{"zh-HK":"甲","en":"A"}},{"id":"a"}]`)
	f.Add(`[]`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, in string) {
		clinics, err := ParseClinics(strings.NewReader(in))
		if err != nil {
			return
		}
		ids := make(map[ClinicID]bool)
		for _, c := range clinics {
			if err := c.Validate(); err != nil {
				t.Fatalf("ParseClinics accepted %+v: %v", c, err)
			}
			if ids[c.ID] {
				t.Fatalf("ParseClinics accepted duplicate id %q", c.ID)
			}
			ids[c.ID] = true
		}
	})
}

package booking

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseHKID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   Document
		reason Reason // "" when valid
	}{
		{name: "bracketed", in: "A123456(3)", want: Document{DocumentHKID, "A1234563"}},
		{name: "two_letters", in: "AB123456(9)", want: Document{DocumentHKID, "AB1234569"}},
		{name: "two_letters_ca", in: "CA182361(1)", want: Document{DocumentHKID, "CA1823611"}},
		{name: "check_a", in: "Z437626(A)", want: Document{DocumentHKID, "Z437626A"}},
		{name: "check_a_lower", in: "z437626(a)", want: Document{DocumentHKID, "Z437626A"}},
		{name: "lower_no_brackets", in: "a1234563", want: Document{DocumentHKID, "A1234563"}},
		{name: "space_before_check", in: "A123456 3", want: Document{DocumentHKID, "A1234563"}},
		{name: "fullwidth_brackets", in: "A123456（3）", want: Document{DocumentHKID, "A1234563"}},
		{name: "fullwidth_all", in: "Ａ１２３４５６（３）", want: Document{DocumentHKID, "A1234563"}},
		{name: "surrounding_spaces", in: "  A123456(3)\t", want: Document{DocumentHKID, "A1234563"}},
		{name: "ideographic_space", in: "\u3000A123456 (3)\u3000", want: Document{DocumentHKID, "A1234563"}},
		{name: "spaces_in_groups", in: "A 123 456 (3)", want: Document{DocumentHKID, "A1234563"}},
		{name: "empty", in: "", reason: ReasonEmpty},
		{name: "blank", in: "   ", reason: ReasonEmpty},
		{name: "wrong_check", in: "A123456(4)", reason: ReasonHKIDCheck},
		{name: "wrong_check_two_letters", in: "AB123456(0)", reason: ReasonHKIDCheck},
		{name: "wrong_check_a", in: "A123456(A)", reason: ReasonHKIDCheck},
		{name: "five_digits", in: "A12345(3)", reason: ReasonFormat},
		{name: "seven_digits", in: "A1234567(3)", reason: ReasonFormat},
		{name: "three_letters", in: "ABC123456(9)", reason: ReasonFormat},
		{name: "no_letter", in: "1234563", reason: ReasonFormat},
		{name: "no_check", in: "A123456", reason: ReasonFormat},
		{name: "open_bracket", in: "A123456(3", reason: ReasonFormat},
		{name: "empty_brackets", in: "A123456()", reason: ReasonFormat},
		{name: "check_b", in: "A123456(B)", reason: ReasonFormat},
		{name: "dash", in: "A123456-3", reason: ReasonFormat},
		{name: "non_ascii_letter", in: "É123456(3)", reason: ReasonFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHKID(tt.in)
			checkValidation(t, "hkid", tt.reason, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseHKID(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// checkValidation fails t unless err is a *ValidationError for field with
// reason, or nil when reason is empty.
func checkValidation(t *testing.T, field string, reason Reason, err error) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("error = %v, want nil", err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want *ValidationError{%s, %s}", err, field, reason)
	}
	if ve.Field != field || ve.Reason != reason {
		t.Fatalf("error = %+v, want {Field:%s Reason:%s}", *ve, field, reason)
	}
}

func TestHKIDCheckEveryRemainder(t *testing.T) {
	t.Parallel()
	// Walk the last digit so that the weighted sum takes every remainder
	// mod 11 at least once across two prefixes; each result must satisfy
	// the defining property: sum + check (A = 10) ≡ 0 (mod 11).
	for _, prefix := range []string{"A", "K", "AB", "XZ"} {
		for d := range 10 {
			for e := range 10 {
				digits := "1234" + string(rune('0'+d)) + string(rune('0'+e))
				c := hkidCheck(prefix, digits)
				body := prefix + digits
				if len(prefix) == 1 {
					body = " " + body
				}
				sum := 0
				for i := 0; i < len(body); i++ {
					v := int(body[i] - '0')
					if body[i] == ' ' {
						v = 36
					} else if isUpper(body[i]) {
						v = int(body[i]-'A') + 10
					}
					sum += v * (9 - i)
				}
				cv := int(c - '0')
				if c == 'A' {
					cv = 10
				}
				if (sum+cv)%11 != 0 {
					t.Errorf("hkidCheck(%q, %q) = %c: sum %d + check %d not divisible by 11", prefix, digits, c, sum, cv)
				}
			}
		}
	}
}

func TestParseOtherDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   Document
		reason Reason
	}{
		{name: "passport", in: "E1234567", want: Document{DocumentOther, "E1234567"}},
		{name: "lower", in: "e1234567", want: Document{DocumentOther, "E1234567"}},
		{name: "spaces_and_dashes", in: " E12-345 67 ", want: Document{DocumentOther, "E1234567"}},
		{name: "fullwidth", in: "Ｅ１２３４５６７", want: Document{DocumentOther, "E1234567"}},
		{name: "five", in: "ab123", want: Document{DocumentOther, "AB123"}},
		{name: "twenty", in: strings.Repeat("9", 20), want: Document{DocumentOther, strings.Repeat("9", 20)}},
		{name: "hkid_shaped", in: "A123456(3)", reason: ReasonFormat},
		{name: "empty", in: "", reason: ReasonEmpty},
		{name: "only_dashes", in: " - -", reason: ReasonEmpty},
		{name: "four", in: "AB12", reason: ReasonLength},
		{name: "twenty_one", in: strings.Repeat("9", 21), reason: ReasonLength},
		{name: "slash", in: "E123/4567", reason: ReasonFormat},
		{name: "chinese", in: "護照12345", reason: ReasonFormat},
		{name: "accented", in: "É1234567", reason: ReasonFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseOtherDocument(tt.in)
			checkValidation(t, "document", tt.reason, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseOtherDocument(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		typ    DocumentType
		in     string
		want   Document
		field  string
		reason Reason
	}{
		{name: "hkid", typ: DocumentHKID, in: "a123456(3)", want: Document{DocumentHKID, "A1234563"}},
		{name: "hkid_refused", typ: DocumentHKID, in: "E12345", field: "hkid", reason: ReasonFormat},
		{name: "other", typ: DocumentOther, in: "e1234567", want: Document{DocumentOther, "E1234567"}},
		{name: "other_accepts_hkid_digits", typ: DocumentOther, in: "A1234563", want: Document{DocumentOther, "A1234563"}},
		{name: "unknown_type", typ: "passport", in: "E1234567", field: "document_type", reason: ReasonFormat},
		{name: "empty_type", typ: "", in: "E1234567", field: "document_type", reason: ReasonFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDocument(tt.typ, tt.in)
			checkValidation(t, tt.field, tt.reason, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDocument(%q, %q) mismatch (-want +got):\n%s", tt.typ, tt.in, diff)
			}
		})
	}
}

func TestDocumentFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		doc         Document
		wantMasked  string
		wantDisplay string
	}{
		{name: "hkid_one_letter", doc: Document{DocumentHKID, "A1234563"}, wantMasked: "A123***(*)", wantDisplay: "A123456(3)"},
		{name: "hkid_two_letters", doc: Document{DocumentHKID, "AB1234569"}, wantMasked: "AB12***(*)", wantDisplay: "AB123456(9)"},
		{name: "hkid_check_a", doc: Document{DocumentHKID, "Z437626A"}, wantMasked: "Z437***(*)", wantDisplay: "Z437626(A)"},
		{name: "other_eight", doc: Document{DocumentOther, "E1234567"}, wantMasked: "E12*****", wantDisplay: "E1234567"},
		{name: "other_five_keeps_three_stars", doc: Document{DocumentOther, "AB123"}, wantMasked: "AB1***", wantDisplay: "AB123"},
		{name: "other_twenty", doc: Document{DocumentOther, "K1234567890123456789"}, wantMasked: "K12" + strings.Repeat("*", 17), wantDisplay: "K1234567890123456789"},
		{name: "zero", doc: Document{}, wantMasked: "", wantDisplay: ""},
		// Not made by a parser: still never shown whole.
		{name: "short_other", doc: Document{DocumentOther, "AB"}, wantMasked: "A***", wantDisplay: "AB"},
		{name: "short_hkid", doc: Document{DocumentHKID, "A12"}, wantMasked: "A1***(*)", wantDisplay: "A12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.doc.Masked(); got != tt.wantMasked {
				t.Errorf("%#v.Masked() = %q, want %q", tt.doc, got, tt.wantMasked)
			}
			if got := tt.doc.String(); got != tt.wantMasked {
				t.Errorf("%#v.String() = %q, want %q", tt.doc, got, tt.wantMasked)
			}
			if got := tt.doc.Display(); got != tt.wantDisplay {
				t.Errorf("%#v.Display() = %q, want %q", tt.doc, got, tt.wantDisplay)
			}
		})
	}
}

// TestPersonalDataNotLogged logs every personal-data type through a real
// slog handler and checks that no clear value reaches the output.
func TestPersonalDataNotLogged(t *testing.T) {
	t.Parallel()
	doc := Document{DocumentHKID, "A1234563"}
	dob := Date{1970, 1, 31}
	mobile := Mobile("91234578")
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("test",
		slog.Any("document", doc),
		slog.Any("dob", dob),
		slog.Any("mobile", mobile),
		slog.Any("patient", Patient{Document: doc, DateOfBirth: dob, Mobile: mobile}),
		slog.Any("booker", Booker{Channel: ChannelWhatsApp, ID: "85291234578"}),
	)
	out := buf.String()
	for _, secret := range []string{"1234563", "123456", "1970", "01-31", "91234578", "9123", "85291234578", "912345"} {
		if strings.Contains(out, secret) {
			t.Errorf("log output contains %q:\n%s", secret, out)
		}
	}
	for _, masked := range []string{"A123***(*)", "****-**-**", "9***-**78", "*******4578"} {
		if !strings.Contains(out, masked) {
			t.Errorf("log output lacks %q:\n%s", masked, out)
		}
	}
}

func TestNewHKID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, digits string
		want           string // Display(), or "" when refused
	}{
		{"A", "123456", "A123456(3)"},
		{"ab", "123456", "AB123456(9)"},
		{"CA", "182361", "CA182361(1)"},
		{"Z", "437626", "Z437626(A)"},
		{"", "123456", ""},
		{"ABC", "123456", ""},
		{"1", "123456", ""},
		{"A", "12345", ""},
		{"A", "12345X", ""},
	}
	for _, tt := range tests {
		doc, err := NewHKID(tt.prefix, tt.digits)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NewHKID(%q, %q) = %v, want an error", tt.prefix, tt.digits, doc.Display())
			}
			continue
		}
		if err != nil || doc.Display() != tt.want {
			t.Errorf("NewHKID(%q, %q) = %q, %v; want %q", tt.prefix, tt.digits, doc.Display(), err, tt.want)
			continue
		}
		if back, err := ParseHKID(doc.Display()); err != nil || back != doc {
			t.Errorf("ParseHKID(%q) = %v, %v; want %v", doc.Display(), back, err, doc)
		}
	}
}

package booking

import (
	"regexp"
	"testing"
)

var referencePattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestNewReference(t *testing.T) {
	t.Parallel()
	seen := make(map[Reference]bool)
	symbols := make(map[rune]bool)
	const n = 2000
	for range n {
		ref := NewReference()
		if !referencePattern.MatchString(string(ref)) {
			t.Fatalf("NewReference() = %q, want XXXX-XXXX over %s", ref, referenceAlphabet)
		}
		if got, err := ParseReference(string(ref)); err != nil || got != ref {
			t.Fatalf("ParseReference(%q) = %q, %v, want it unchanged", ref, got, err)
		}
		seen[ref] = true
		for _, r := range string(ref) {
			symbols[r] = true
		}
	}
	// 40 random bits: 2000 draws collide with probability about 2e-6.
	if len(seen) != n {
		t.Errorf("NewReference() gave %d distinct references in %d draws", len(seen), n)
	}
	// 16000 symbols over 32: every symbol (and the dash) turns up.
	if len(symbols) != len(referenceAlphabet)+1 {
		t.Errorf("NewReference() used %d distinct symbols, want all %d and the dash", len(symbols)-1, len(referenceAlphabet))
	}
}

func TestParseReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   Reference
		reason Reason
	}{
		{name: "canonical", in: "K7QM-4X2P", want: "K7QM-4X2P"},
		{name: "lower", in: "k7qm-4x2p", want: "K7QM-4X2P"},
		{name: "no_dash", in: "K7QM4X2P", want: "K7QM-4X2P"},
		{name: "spaces", in: " k7qm 4x2p ", want: "K7QM-4X2P"},
		{name: "fullwidth", in: "Ｋ７ＱＭ－４Ｘ２Ｐ", want: "K7QM-4X2P"},
		{name: "o_is_zero", in: "KOQM-4X2P", want: "K0QM-4X2P"},
		{name: "i_and_l_are_one", in: "Ki7L-4X2P", want: "K171-4X2P"},
		{name: "empty", in: "", reason: ReasonEmpty},
		{name: "blank", in: " - ", reason: ReasonEmpty},
		{name: "short", in: "K7QM-4X2", reason: ReasonFormat},
		{name: "long", in: "K7QM-4X2PP", reason: ReasonFormat},
		{name: "u_not_in_alphabet", in: "K7QM-4X2U", reason: ReasonFormat},
		{name: "punctuation", in: "K7QM_4X2P", reason: ReasonFormat},
		{name: "chinese", in: "K7QM-4X2預", reason: ReasonFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseReference(tt.in)
			checkValidation(t, "reference", tt.reason, err)
			if got != tt.want {
				t.Errorf("ParseReference(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

package booking

import (
	"crypto/rand"
	"strings"
)

// referenceAlphabet is Crockford's base32: digits and upper-case letters
// without I, L, O and U. I, L and O look like 1 and 0, so they are left out
// and read as those digits (see ParseReference); U is left out so that no
// reference spells an unfortunate word. 32 symbols make every draw uniform.
const referenceAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// referenceLen is the number of symbols in a reference: 40 random bits.
const referenceLen = 8

// NewReference returns a new random booking reference, eight symbols of
// referenceAlphabet from crypto/rand written "XXXX-XXXX", e.g. "K7QM-4X2P".
// References are unguessable, not unique: a Store refuses a duplicate with
// ErrConflict and the caller draws again.
func NewReference() Reference {
	var b [referenceLen]byte
	rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	for i := range b {
		b[i] = referenceAlphabet[b[i]%32]
	}
	return Reference(string(b[:4]) + "-" + string(b[4:]))
}

// ParseReference reads a booking reference as a booker types it: any case,
// with or without the dash, with spaces, full-width forms folded. The
// look-alikes O, I and L are read as 0, 1 and 1. A refused reference yields a
// *ValidationError for field "reference" with ReasonEmpty or ReasonFormat.
func ParseReference(s string) (Reference, error) {
	s = removeRunes(strings.ToUpper(foldWidth(s)), spaces+"-")
	if s == "" {
		return "", &ValidationError{Field: "reference", Reason: ReasonEmpty}
	}
	s = strings.NewReplacer("O", "0", "I", "1", "L", "1").Replace(s)
	if len(s) != referenceLen {
		return "", &ValidationError{Field: "reference", Reason: ReasonFormat}
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(referenceAlphabet, s[i]) < 0 {
			return "", &ValidationError{Field: "reference", Reason: ReasonFormat}
		}
	}
	return Reference(s[:4] + "-" + s[4:]), nil
}

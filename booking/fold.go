package booking

import "strings"

// foldWidth maps full-width forms (U+FF01–U+FF5E) to their ASCII
// counterparts and the ideographic space (U+3000) to a space, so that input
// typed with a Chinese input method reads like ASCII. It imports nothing
// beyond the standard library on purpose: the domain stays dependency-free.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// removeRunes returns s without any rune in cut.
func removeRunes(s, cut string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(cut, r) {
			return -1
		}
		return r
	}, s)
}

// spaces are the separators a booker may type between groups of
// characters; full-width spaces are folded to ' ' before this is used.
const spaces = " \t\r\n"

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

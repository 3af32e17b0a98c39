package telegram

import (
	"strings"
	"unicode/utf16"
)

// utf16Len is the length of s as Telegram counts it: in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// splitText splits s into messages of at most limit UTF-16 code units,
// at line boundaries where it can and inside a line only when the line
// alone is too long. Chunks of nothing but white space (which Telegram
// refuses) are dropped; otherwise the chunks concatenate to s.
func splitText(s string, limit int) []string {
	if utf16Len(s) <= limit {
		return []string{s}
	}
	var out []string
	var cur strings.Builder
	n := 0
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			out = append(out, cur.String())
		}
		cur.Reset()
		n = 0
	}
	for _, line := range strings.SplitAfter(s, "\n") {
		l := utf16Len(line)
		if n > 0 && n+l > limit {
			flush()
		}
		for l > limit {
			head, tail := cutUTF16(line, limit)
			cur.WriteString(head)
			flush()
			line, l = tail, utf16Len(tail)
		}
		cur.WriteString(line)
		n += l
	}
	flush()
	return out
}

// cutUTF16 splits s after at most limit UTF-16 code units, on a rune
// boundary; the head holds at least one rune.
func cutUTF16(s string, limit int) (head, tail string) {
	n := 0
	for i, r := range s {
		if n+utf16.RuneLen(r) > limit && i > 0 {
			return s[:i], s[i:]
		}
		n += utf16.RuneLen(r)
	}
	return s, ""
}

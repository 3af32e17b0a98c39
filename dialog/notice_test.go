package dialog

import (
	"strconv"
	"testing"
)

func FuzzParseNoticeButton(f *testing.F) {
	for _, s := range []string{"rk.K7QM-4X2P.1795827600.0123456789abcdef", "rc.K7QM-4X2P.1795827600.x", "rc...", "rk.a.-1.t", "keep", "rc.a.b.c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, ref, until, tok, ok := parseNoticeButton(s)
		if !ok {
			return
		}
		if kind != optKeep && kind != optCancelRem || ref == "" || tok == "" || until <= 0 {
			t.Fatalf("parseNoticeButton(%q) = %q %q %d %q, true: a part is missing", s, kind, ref, until, tok)
		}
		if again := kind + "." + string(ref) + "." + strconv.FormatInt(until, 10) + "." + tok; again != s && isNoticeButton(again) {
			// Written back, it reads the same (leading zeros and a "+" aside).
			if k2, r2, u2, t2, ok2 := parseNoticeButton(again); !ok2 || k2 != kind || r2 != ref || u2 != until || t2 != tok {
				t.Fatalf("parseNoticeButton(%q) does not read back", again)
			}
		}
	})
}

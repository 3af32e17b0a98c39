package dialog

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clinicbot/clinicbot/locales"
)

// TestLocaleKeysExist checks that every locale key the engine names
// literally is in the catalog (the catalog test checks every language has
// the same keys). Keys built by concatenation end in "." and are checked by
// the transcripts, which would show a missing key verbatim.
func TestLocaleKeysExist(t *testing.T) {
	cat := locales.MustLoad()
	prefixes := map[string]bool{}
	for _, k := range cat.Keys(locales.Default) {
		prefixes[strings.SplitN(k, ".", 2)[0]] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || strings.ContainsAny(s, " /:%") || strings.HasSuffix(s, ".") {
				return true
			}
			head, _, found := strings.Cut(s, ".")
			if !found || !prefixes[head] {
				return true
			}
			checked++
			if !cat.Has(locales.Default, s) {
				t.Errorf("%s: locale key %q is not in the catalog", fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
	if checked < 50 {
		t.Errorf("checked only %d keys; the scan is broken", checked)
	}
}

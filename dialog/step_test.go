package dialog

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChartFire: the one machine takes each event from the state it is
// given, an ended context never reaches it (it would be left
// mid-transition for every booker), and an event a step does not list is
// refused.
func TestChartFire(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := conversation.fire(ended, stMenu, flowBook); err == nil {
		t.Fatalf("fire with an ended context = nil error, want one")
	}
	tests := []struct{ state, event, want string }{
		{stMenu, flowEnquire, "b_doc_type"},
		{stMenu, flowBook, "a_doc_type"},
		{"a_birth_check", evConfirm, "a_mobile"},
		{"b_birth_check", evConfirm, "b_service"},
		{"c_birth_check", evConfirm, "c_service"},
		{"a_already_booked", flowCancel, "c_service"},
		{"c_confirm", evKeep, stMenu},
	}
	for _, tt := range tests {
		got, err := conversation.fire(context.Background(), tt.state, tt.event)
		if err != nil || got != tt.want {
			t.Errorf("fire(%s, %s) = %q, %v; want %q", tt.state, tt.event, got, err, tt.want)
		}
	}
	if _, err := conversation.fire(context.Background(), "a_doc_type", flowEnquire); err == nil {
		t.Errorf("fire(a_doc_type, enquire) = nil error, want the machine's refusal")
	}
}

// TestIdentifySplicedOnce: every flow that needs the patient asks the same
// identify steps, from one declaration.
func TestIdentifySplicedOnce(t *testing.T) {
	for _, f := range []flow{bookFlow, enquireFlow, cancelFlow} {
		var names []string
		for _, st := range f.steps {
			if st.sub == "identify" {
				names = append(names, st.name)
			}
		}
		if got := strings.Join(names, ","); got != "doc_type,doc_number,birth,birth_check" {
			t.Errorf("flow %s identifies with %s", f.name, got)
		}
	}
}

// TestFunctionsAreShort holds the package to functions of at most 60
// lines: a step's logic lives in its table entry, not in a long switch.
func TestFunctionsAreShort(t *testing.T) {
	const limit = 60
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasPrefix(path, "testdata") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > limit {
				t.Errorf("%s: %s is %d lines long, more than %d", fset.Position(fn.Pos()), fn.Name.Name, n, limit)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

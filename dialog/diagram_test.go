package dialog_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

// TestDiagram keeps flow.mmd equal to the state machine; -update rewrites it.
func TestDiagram(t *testing.T) {
	const file = "flow.mmd"
	got := dialog.Diagram()
	if *dialogtest.Update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -run TestDiagram -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is stale (-file +generated); go test -run TestDiagram -update rewrites it:\n%s", file, diff)
	}
}

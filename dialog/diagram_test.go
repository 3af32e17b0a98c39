package dialog_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/dialog"
)

// TestDiagram keeps flow.mmd and README.md's diagram equal to the flow
// tables; go generate ./dialog rewrites both.
func TestDiagram(t *testing.T) {
	got := dialog.Diagram()
	mmd, err := os.ReadFile("flow.mmd")
	if err != nil {
		t.Fatalf("%v (go generate ./dialog writes it)", err)
	}
	if diff := cmp.Diff(string(mmd), got); diff != "" {
		t.Errorf("flow.mmd is stale (-file +tables); go generate ./dialog rewrites it:\n%s", diff)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := dialog.EmbedDiagram(string(readme), got)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if diff := cmp.Diff(want, string(readme)); diff != "" {
		t.Errorf("README.md's diagram is stale (-tables +file); go generate ./dialog rewrites it:\n%s", diff)
	}
}

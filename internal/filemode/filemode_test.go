package filemode

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCreate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.db")
	if err := Create(path, path+"-wal"); err != nil {
		t.Fatalf("Create(new) = %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != Private {
		t.Errorf("Create(new) made mode %04o, want %04o", info.Mode().Perm(), Private)
	}
	if err := Create(path); err != nil {
		t.Errorf("Create(existing private) = %v", err)
	}
}

func TestCheckRefusesExposed(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	private := write("private", 0o600)
	world := write("world", 0o644)
	group := write("group", 0o640)
	missing := filepath.Join(dir, "missing")

	err := Check(private, world, missing, group)
	var ee *ExposedError
	if !errors.As(err, &ee) {
		t.Fatalf("Check = %v, want an *ExposedError", err)
	}
	want := []Exposed{{world, 0o644}, {group, 0o640}}
	if diff := cmp.Diff(want, ee.Files); diff != "" {
		t.Errorf("Check: exposed files (-want +got):\n%s", diff)
	}
	if err := Check(private, missing); err != nil {
		t.Errorf("Check(private, missing) = %v, want nil", err)
	}
	if err := Create(world); !errors.As(err, &ee) {
		t.Errorf("Create(existing 0644) = %v, want an *ExposedError", err)
	}
}

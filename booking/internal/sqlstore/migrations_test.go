package sqlstore

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestMigrations(t *testing.T) {
	t.Parallel()
	file := func(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }
	got, err := Migrations(fstest.MapFS{
		"migrations/0010_later.sql": file("SELECT 10;"),
		"migrations/0002_next.sql":  file("SELECT 2;"),
		"migrations/0001_init.sql":  file("SELECT 1;"),
		"migrations/README":         file("not a migration"),
	})
	if err != nil {
		t.Fatalf("Migrations = %v", err)
	}
	want := []Migration{
		{Version: 1, Name: "0001_init.sql", SQL: "SELECT 1;"},
		{Version: 2, Name: "0002_next.sql", SQL: "SELECT 2;"},
		{Version: 10, Name: "0010_later.sql", SQL: "SELECT 10;"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Migrations mismatch (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name  string
		files fstest.MapFS
	}{
		{"NoNumber", fstest.MapFS{"migrations/init.sql": file("")}},
		{"ZeroVersion", fstest.MapFS{"migrations/0000_init.sql": file("")}},
		{"VersionTwice", fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/1_b.sql": file("")}},
	} {
		if got, err := Migrations(tt.files); err == nil {
			t.Errorf("Migrations(%s) = %v, nil, want an error", tt.name, got)
		}
	}
}

package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/bookingtest"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/internal/filemode"
)

// openStore opens a Store on a new file in t's temporary directory and
// closes it when t ends.
func openStore(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clinicbot.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	bookingtest.CloseOnCleanup(t, s)
	return s, path
}

func TestStore(t *testing.T) {
	bookingtest.Exercise(t, func(t *testing.T) booking.Store {
		s, _ := openStore(t)
		return s
	})
}

func TestNoClearPersonalData(t *testing.T) {
	s, path := openStore(t)
	bookingtest.NoClearPersonalData(t, s, func(t *testing.T) []byte {
		return dumpTables(t, path)
	})
}

// dumpTables reads every row of every table of the file, as stored.
func dumpTables(t *testing.T, path string) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("list tables: %v", err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var dump bytes.Buffer
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			fmt.Fprintf(&dump, "%s:", table)
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					dump.Write(b)
					dump.WriteByte('|')
					continue
				}
				fmt.Fprintf(&dump, "%v|", v)
			}
			dump.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
	}
	return dump.Bytes()
}

func TestOpenRefusesNonFilePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if s, err := sqlite.Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) = nil error, want a refusal", path)
		}
	}
}

// TestReopen checks that migrations are applied once and the data stays.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "clinicbot.db")
	clinic := booking.Clinic{ID: "aberdeen", Region: booking.RegionHongKong, Name: booking.Text{ZhHK: "香港仔", En: "Aberdeen"}}
	for i := range 3 {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		if i == 0 {
			if err := s.SaveClinics(ctx, []booking.Clinic{clinic}); err != nil {
				t.Fatalf("SaveClinics: %v", err)
			}
		}
		got, err := s.Clinics(ctx)
		if err != nil || len(got) != 1 || got[0].ID != clinic.ID {
			t.Errorf("Open #%d: Clinics = %v, %v, want the one saved", i, got, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

// TestOpenConcurrently has several stores (as several processes would)
// open one new file at once: each migration is applied once, and writes
// from all of them wait for the lock instead of failing with SQLITE_BUSY.
func TestOpenConcurrently(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "clinicbot.db")
	const n = 4
	stores := make([]*sqlite.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(ctx, path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	for i := range n {
		wg.Go(func() {
			c := booking.Clinic{ID: booking.ClinicID(fmt.Sprintf("clinic-%d", i)), Region: booking.RegionKowloon}
			errs[i] = stores[i].SaveClinics(ctx, []booking.Clinic{c})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("SaveClinics: %v", err)
	}
	got, err := stores[0].Clinics(context.WithoutCancel(ctx))
	if err != nil || len(got) != n {
		t.Errorf("Clinics = %d, %v, want %d", len(got), err, n)
	}
}

// BenchmarkBook: go test -bench . -run '^$' ./booking/sqlite
func BenchmarkBook(b *testing.B) {
	bookingtest.Benchmark(b, func(b *testing.B) booking.Store {
		s, _ := openStore(b)
		return s
	})
}

// BenchmarkReads: go test -bench . -run '^$' ./booking/sqlite
func BenchmarkReads(b *testing.B) {
	bookingtest.BenchmarkReads(b, func(b *testing.B) booking.Store {
		s, _ := openStore(b)
		return s
	})
}

// TestFilesPrivate: the file and the journals SQLite keeps beside it hold
// personal data, so they are the owner's alone; a file others may read is
// refused.
func TestFilesPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	s, path := openStore(t)
	if err := s.SaveClinics(t.Context(), []booking.Clinic{{ID: "c", Region: booking.RegionHongKong}}); err != nil {
		t.Fatalf("SaveClinics: %v", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("while open: %v", err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), info.Mode().Perm())
		}
	}

	for _, name := range []string{"clinicbot.db", "clinicbot.db-wal"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			exposed := filepath.Join(dir, name)
			if err := os.WriteFile(exposed, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(exposed, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := sqlite.Open(t.Context(), filepath.Join(dir, "clinicbot.db"))
			var ee *filemode.ExposedError
			if !errors.As(err, &ee) || ee.Files[0].Path != exposed {
				if err == nil {
					s.Close()
				}
				t.Errorf("Open with %s of mode 0644 = %v, want an *ExposedError naming it", name, err)
			}
		})
	}
}

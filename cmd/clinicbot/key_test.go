package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/clinicbot/clinicbot/booking"
)

// newKey returns a fresh data key, base64 encoded.
func newKey() string {
	key := make([]byte, 32)
	rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}

// wantRefused checks that r is a start refused with exit code 2 whose
// message says each of says.
func wantRefused(t *testing.T, r result, says ...string) {
	t.Helper()
	if r.code != exitUsage {
		t.Errorf("exit code %d, want %d\nstderr:\n%s", r.code, exitUsage, r.stderr)
	}
	for _, s := range append([]string{"refusing to start", "What to do"}, says...) {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr does not say %q:\n%s", s, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing (no chat started)", r.stdout)
	}
}

// TestKeyFileGuarded: with the embedded default, a missing, replaced or
// exposed key file, or an exposed database, stops clinicbot before it seals
// or hashes anything with a key the bookings were not made with.
func TestKeyFileGuarded(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	t.Parallel()
	be := sqliteBackend(t)
	dir := strings.TrimPrefix(be.env[0], "CLINICBOT_DATA_DIR=")
	db, keyPath := filepath.Join(dir, "clinicbot.db"), filepath.Join(dir, "clinicbot.key")
	chat := func(script []string) result {
		t.Helper()
		return runBin(t, be.env, strings.Join(script, "\n")+"\n", "chat")
	}

	if r := chat(scriptBook); r.code != 0 {
		t.Fatalf("booking chat exited %d: %s", r.code, r.stderr)
	}
	for _, p := range []string{db, keyPath} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s created with mode %04o, want 0600", filepath.Base(p), info.Mode().Perm())
		}
	}
	original, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() {
		t.Helper()
		if err := os.WriteFile(keyPath, original, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("key_file_lost", func(t *testing.T) {
		if err := os.Remove(keyPath); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, chat(scriptBook), keyPath+" is missing", "restore "+keyPath)
		if _, err := os.Stat(keyPath); err == nil {
			t.Error("a new key file was created beside a database that holds bookings")
		}
	})
	t.Run("key_file_lost_before_fingerprints", func(t *testing.T) {
		// A database from before keys were recorded: bookings, no
		// fingerprint. Its bookings alone keep a new key from being made.
		raw, err := sql.Open("sqlite", db)
		if err != nil {
			t.Fatal(err)
		}
		_, err = raw.Exec(`DELETE FROM data_key`)
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, chat(scriptBook), keyPath+" is missing")
		if _, err := os.Stat(keyPath); err == nil {
			t.Error("a new key file was created beside a database that holds bookings")
		}
		restore()
		if r := chat(nil); r.code != 0 { // records the restored key again
			t.Fatalf("with the key restored, chat exited %d: %s", r.code, r.stderr)
		}
	})
	t.Run("key_replaced_before_fingerprints", func(t *testing.T) {
		// A database from before keys were recorded, started with another
		// key: a sealed mobile number that does not open gives it away.
		raw, err := sql.Open("sqlite", db)
		if err != nil {
			t.Fatal(err)
		}
		_, err = raw.Exec(`DELETE FROM data_key`)
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyPath, []byte(newKey()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, chat(scriptBook), "the key in "+keyPath+" is not the key")
		restore()
		if r := chat(nil); r.code != 0 { // records the restored key again
			t.Fatalf("with the key restored, chat exited %d: %s", r.code, r.stderr)
		}
	})
	t.Run("key_replaced", func(t *testing.T) {
		if err := os.WriteFile(keyPath, []byte(newKey()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, chat(scriptBook), "the key in "+keyPath+" is not the key", "restore the original "+keyPath)
	})
	t.Run("data_key_variable_differs", func(t *testing.T) {
		env := append(be.env[:len(be.env):len(be.env)], "CLINICBOT_DATA_KEY="+newKey())
		wantRefused(t, runBin(t, env, "", "chat"), "CLINICBOT_DATA_KEY is not the key")
	})
	t.Run("key_restored", func(t *testing.T) {
		restore()
		// The restored key finds the patient booked: no second booking.
		if r := chat(scriptBook); r.code != 0 {
			t.Fatalf("chat exited %d: %s", r.code, r.stderr)
		}
		s, err := be.open(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		bs, err := s.Bookings(t.Context(), booking.BookingQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 1 {
			t.Errorf("%d bookings after booking the same patient again, want 1", len(bs))
		}
	})
	for _, p := range []string{keyPath, db} {
		t.Run("exposed_"+filepath.Base(p), func(t *testing.T) {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(p, 0o600)
			wantRefused(t, chat(nil), "chmod 600 "+p)
		})
	}
}

// TestDataKeyGuarded: a replica started with another CLINICBOT_DATA_KEY than
// the one its PostgreSQL database was first used with is refused.
func TestDataKeyGuarded(t *testing.T) {
	t.Parallel()
	be := postgresBackend(t)
	if r := runBin(t, be.env, "", "schedule", "generate", "--days", "1"); r.code != 0 {
		t.Fatalf("schedule generate exited %d: %s", r.code, r.stderr)
	}
	other := append(be.env[:len(be.env):len(be.env)], "CLINICBOT_DATA_KEY="+newKey()) // the last one wins
	wantRefused(t, runBin(t, other, "", "chat"), "CLINICBOT_DATA_KEY is not the key", "every other replica uses")
	if r := runBin(t, be.env, "", "chat"); r.code != 0 {
		t.Errorf("with the original key, chat exited %d: %s", r.code, r.stderr)
	}
}

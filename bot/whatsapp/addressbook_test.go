package whatsapp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// testAddressBook checks an address book in the database of dialect and
// dsn, as a first process and then a second one see it.
func testAddressBook(t *testing.T, dialect, dsn string) {
	t.Helper()
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, booking.MinKeySize)
	p, err := booking.NewProtector(key)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(b []byte) ([]byte, error) { return p.Seal(b, "test/whatsapp-chat") }
	open := func(b []byte) ([]byte, error) { return p.Open(b, "test/whatsapp-chat") }
	ab, err := OpenAddressBook(ctx, dialect, dsn, seal, open)
	if err != nil {
		t.Fatalf("OpenAddressBook: %v", err)
	}
	if _, ok, err := ab.Chat(ctx, "p-1"); ok || err != nil {
		t.Errorf("Chat(unknown) = %v, %v; want not found", ok, err)
	}
	if err := ab.Remember(ctx, "p-1", pnJID(caregiver)); err != nil {
		t.Fatalf("Remember: %v", err)
	}
	if err := ab.Remember(ctx, "p-2", lidJID("123456789")); err != nil {
		t.Fatalf("Remember: %v", err)
	}
	ab.Close()

	// A new process reads what the old one kept.
	again, err := OpenAddressBook(ctx, dialect, dsn, seal, open)
	if err != nil {
		t.Fatalf("OpenAddressBook again: %v", err)
	}
	defer again.Close()
	for id, want := range map[string]string{"p-1": pnJID(caregiver).String(), "p-2": lidJID("123456789").String()} {
		got, ok, err := again.Chat(ctx, id)
		if err != nil || !ok || got.String() != want {
			t.Errorf("Chat(%s) = %v, %v, %v; want %s", id, got, ok, err, want)
		}
	}
	var sealed []byte
	if err := again.db.QueryRowContext(ctx, `SELECT chat_sealed FROM `+addressTable+` WHERE booker_id = 'p-1'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(caregiver)) {
		t.Errorf("the caregiver's number is stored in clear")
	}
}

func TestAddressBookSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "whatsapp.db")
	testAddressBook(t, DialectSQLite, "file:"+path)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("no database file: %v", err)
	}
}

func TestAddressBookPostgres(t *testing.T) {
	t.Parallel()
	testAddressBook(t, DialectPostgres, testenv.PostgresSchema(t))
}

package whatsapp

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"

	"github.com/clinicbot/clinicbot/internal/filemode"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// checkDeviceStore checks that a freshly opened store is upgraded, empty,
// and refused to NewClient.
func checkDeviceStore(t *testing.T, c *sqlstore.Container, db *sql.DB, tablesQuery string) {
	t.Helper()
	ctx := context.Background()
	var n int
	if err := db.QueryRowContext(ctx, tablesQuery).Scan(&n); err != nil {
		t.Fatalf("count whatsmeow tables: %v", err)
	}
	if n < 5 {
		t.Errorf("whatsmeow tables = %d, want the upgraded schema", n)
	}
	devices, err := c.GetAllDevices(ctx)
	if err != nil || len(devices) != 0 {
		t.Errorf("GetAllDevices() = %d devices, %v; want none", len(devices), err)
	}
	if _, err := NewClient(ctx, c, discardLog()); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("NewClient() on an empty store = %v, want ErrNotLoggedIn", err)
	}
}

func TestOpenDeviceStoreSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "whatsapp.db")
	for range 2 { // the second open finds the schema up to date
		c, err := OpenDeviceStore(ctx, DialectSQLite, "file:"+path, discardLog())
		if err != nil {
			t.Fatalf("OpenDeviceStore(sqlite) = %v", err)
		}
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		checkDeviceStore(t, c, db, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'whatsmeow%'`)
		db.Close()
	}
}

// TestOpenDeviceStoreSQLitePrivate: the device store holds the linked
// device's keys, so its file and journals are the owner's alone, and a file
// others may read is refused.
func TestOpenDeviceStoreSQLitePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "whatsapp.db")
	c, err := OpenDeviceStore(ctx, DialectSQLite, "file:"+path, discardLog())
	if err != nil {
		t.Fatalf("OpenDeviceStore(sqlite) = %v", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("after OpenDeviceStore: %v", err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), info.Mode().Perm())
		}
	}
	c.Close()

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = OpenDeviceStore(ctx, DialectSQLite, "file:"+path, discardLog())
	var exposed *filemode.ExposedError
	if !errors.As(err, &exposed) || exposed.Files[0].Path != path {
		t.Errorf("OpenDeviceStore(file of mode 0644) = %v, want an *ExposedError naming it", err)
	}
}

// TestOpenDeviceStorePostgres opens the store in a database of its own:
// whatsmeow's upgrader looks tables up by name in every schema, so a schema
// of its own would not keep parallel tests apart.
func TestOpenDeviceStorePostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := testenv.PostgresURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() }) // after the database is dropped
	name := "wa_test_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name

	c, err := OpenDeviceStore(ctx, DialectPostgres, u.String(), discardLog())
	if err != nil {
		t.Fatalf("OpenDeviceStore(postgres) = %v", err)
	}
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkDeviceStore(t, c, db, `SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'whatsmeow%'`)
}

func TestOpenDeviceStoreUnknownDialect(t *testing.T) {
	t.Parallel()
	if _, err := OpenDeviceStore(context.Background(), "mysql", "x", discardLog()); err == nil {
		t.Error("OpenDeviceStore(mysql) = nil error, want one")
	}
}

func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dsn, want string
	}{
		{"bare", "file:a.db", "file:a.db?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)"},
		{"with_query", "file:a.db?mode=rwc", "file:a.db?mode=rwc&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)"},
		{"already_set", "file:a.db?_pragma=foreign_keys(1)&_pragma=busy_timeout(100)", "file:a.db?_pragma=foreign_keys(1)&_pragma=busy_timeout(100)&_pragma=journal_mode(WAL)"},
		{"escaped", "file:a.db?_pragma=foreign_keys%281%29", "file:a.db?_pragma=foreign_keys%281%29&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sqlitePragmas(tt.dsn); got != tt.want {
				t.Errorf("sqlitePragmas(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
		})
	}
}

// fakeLogin plays whatsmeow's side of linking.
type fakeLogin struct {
	items       []whatsmeow.QRChannelItem
	pairPhones  []string
	connected   bool
	disconnects int
}

func (f *fakeLogin) QRChannel(context.Context) (<-chan whatsmeow.QRChannelItem, error) {
	ch := make(chan whatsmeow.QRChannelItem, len(f.items))
	for _, it := range f.items {
		ch <- it
	}
	close(ch)
	return ch, nil
}
func (f *fakeLogin) Connect() error { f.connected = true; return nil }
func (f *fakeLogin) Disconnect()    { f.disconnects++ }
func (f *fakeLogin) PairPhone(_ context.Context, phone string) (string, error) {
	f.pairPhones = append(f.pairPhones, phone)
	return "ABCD-EFGH", nil
}

func TestLogin(t *testing.T) {
	t.Parallel()
	code := whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: "2@abc,def,ghi", Timeout: time.Minute}
	pairErr := errors.New("pair: bad")
	tests := []struct {
		name       string
		phone      string
		items      []whatsmeow.QRChannelItem
		wantErr    error
		wantOut    []string
		wantPhones []string
	}{
		{"qr", "", []whatsmeow.QRChannelItem{code, code, whatsmeow.QRChannelSuccess}, nil, []string{"Linked devices", "█", "Linked:"}, nil},
		{"phone", "+852 6123 4567", []whatsmeow.QRChannelItem{code, code, whatsmeow.QRChannelSuccess}, nil, []string{"ABCD-EFGH", "Linked:"}, []string{"+852 6123 4567"}},
		{"timeout", "", []whatsmeow.QRChannelItem{code, whatsmeow.QRChannelTimeout}, ErrLoginTimeout, nil, nil},
		{"closed", "", []whatsmeow.QRChannelItem{code}, ErrLoginTimeout, nil, nil},
		{"pair_error", "", []whatsmeow.QRChannelItem{{Event: whatsmeow.QRChannelEventError, Error: pairErr}}, pairErr, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeLogin{items: tt.items}
			var out bytes.Buffer
			err := login(context.Background(), f, LoginOptions{Phone: tt.phone, Out: &out, Log: discardLog()})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("login() = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
			if tt.phone != "" && strings.Contains(out.String(), "█") {
				t.Error("a QR code was shown for pairing by phone")
			}
			if len(f.pairPhones) != len(tt.wantPhones) || (len(tt.wantPhones) > 0 && f.pairPhones[0] != tt.wantPhones[0]) {
				t.Errorf("PairPhone calls = %q, want %q", f.pairPhones, tt.wantPhones)
			}
			if !f.connected || f.disconnects != 1 {
				t.Errorf("connected, disconnects = %v, %d; want true, 1", f.connected, f.disconnects)
			}
		})
	}
}

// TestLinkedDevice: with a device in the store, Login refuses to link
// another and NewClient makes a client for it, set to reconnect.
func TestLinkedDevice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := OpenDeviceStore(ctx, DialectSQLite, "file:"+filepath.Join(t.TempDir(), "wa.db"), discardLog())
	if err != nil {
		t.Fatal(err)
	}
	d := c.NewDevice()
	jid := types.NewADJID("85260000000", 0, 12)
	d.ID = &jid
	d.Account = &waAdv.ADVSignedDeviceIdentity{
		Details:             []byte{1},
		AccountSignature:    make([]byte, 64),
		AccountSignatureKey: make([]byte, 32),
		DeviceSignature:     make([]byte, 64),
	}
	if err := c.PutDevice(ctx, d); err != nil {
		t.Fatalf("PutDevice: %v", err)
	}
	if err := Login(ctx, c, LoginOptions{Out: &bytes.Buffer{}, Log: discardLog()}); !errors.Is(err, ErrAlreadyLoggedIn) {
		t.Errorf("Login() with a linked device = %v, want ErrAlreadyLoggedIn", err)
	}
	cli, err := NewClient(ctx, c, discardLog())
	if err != nil {
		t.Fatalf("NewClient() = %v", err)
	}
	if cli.Store.ID == nil || cli.Store.ID.User != jid.User {
		t.Errorf("client device = %v, want %v", cli.Store.ID, jid)
	}
	if !cli.EnableAutoReconnect || cli.AutoReconnectHook == nil {
		t.Error("client does not reconnect by itself")
	}
	cli.AutoReconnectErrors = 1000
	if !cli.AutoReconnectHook(errors.New("dial failed")) || cli.AutoReconnectErrors != maxReconnectErrors {
		t.Errorf("after the hook AutoReconnectErrors = %d, want %d (bounded back-off)", cli.AutoReconnectErrors, maxReconnectErrors)
	}
}

package whatsapp

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"go.mau.fi/whatsmeow/store/sqlstore"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/clinicbot/clinicbot/internal/filemode"
)

// The databases the device store can live in.
const (
	// DialectSQLite is an SQLite file (the embedded default); the DSN is a
	// modernc.org/sqlite DSN such as "file:/var/lib/clinicbot/whatsapp.db".
	DialectSQLite = "sqlite"
	// DialectPostgres is PostgreSQL (production); the DSN is a pgx
	// connection string or URL.
	DialectPostgres = "postgres"
)

// OpenDeviceStore opens the database that holds the linked WhatsApp device
// and brings whatsmeow's own tables (whatsmeow_*) up to date. Those tables
// are whatsmeow's alone: clinicbot's migrations never touch them.
//
// The store holds the linked device's keys. An SQLite file is created with
// mode 0600 (SQLite gives its -wal and -shm files the same), and one that
// group or others may read is refused with a *filemode.ExposedError.
//
// For SQLite, foreign keys (which whatsmeow requires), write-ahead logging and
// a busy timeout (pooled connections are separate SQLite handles) are set in
// the DSN unless it sets them already.
func OpenDeviceStore(ctx context.Context, dialect, dsn string, log *slog.Logger) (*sqlstore.Container, error) {
	var driver string
	switch dialect {
	case DialectSQLite:
		driver = "sqlite"
		if path := sqlitePath(dsn); path != "" {
			if err := filemode.Create(path, path+"-wal", path+"-shm"); err != nil {
				return nil, fmt.Errorf("whatsapp: open device store: %w", err)
			}
		}
		dsn = sqlitePragmas(dsn)
	case DialectPostgres:
		driver = "pgx"
	default:
		return nil, fmt.Errorf("whatsapp: device store dialect %q: want %q or %q", dialect, DialectSQLite, DialectPostgres)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: open device store: %w", err)
	}
	container := sqlstore.NewWithDB(db, dialect, newMeowLog(log, "store"))
	if err := container.Upgrade(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("whatsapp: upgrade device store: %w", err)
	}
	return container, nil
}

// sqlitePath returns the file an SQLite DSN names ("file:PATH?query" or
// "PATH"), or "" for an in-memory database.
func sqlitePath(dsn string) string {
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=memory") {
		return ""
	}
	return path
}

// sqlitePragmas adds the pragmas whatsmeow needs to an SQLite DSN.
func sqlitePragmas(dsn string) string {
	add := func(dsn, pragma string) string {
		if strings.Contains(dsn, pragma+"(") || strings.Contains(dsn, pragma+"%28") {
			return dsn
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "_pragma=" + pragma + "(" + defaultPragma[pragma] + ")"
	}
	for _, p := range []string{"foreign_keys", "journal_mode", "busy_timeout"} {
		dsn = add(dsn, p)
	}
	return dsn
}

var defaultPragma = map[string]string{"foreign_keys": "1", "journal_mode": "WAL", "busy_timeout": "10000"}

// Package sqlite implements booking.Store on an embedded SQLite file with
// modernc.org/sqlite (pure Go, no cgo): clinicbot's default when no
// PostgreSQL is configured.
//
// SQLite allows one writer at a time, so the Store keeps two pools on the
// same file: a write pool of a single connection whose transactions begin
// IMMEDIATE (they take the write lock at once, so two never deadlock
// upgrading a read lock), and a query-only read pool that WAL lets run
// alongside it. Concurrent bookings queue for the write connection in Go
// rather than failing with SQLITE_BUSY. Times are stored as INTEGER
// microseconds since the Unix epoch, UTC.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
	"github.com/clinicbot/clinicbot/internal/filemode"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// BusyTimeout is how long a connection waits for a lock held by another
// process (or a checkpoint) before failing with SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

// Store is a booking.Store on one SQLite file. It is safe for concurrent
// use within one process.
type Store struct {
	write  *sql.DB     // one connection, BEGIN IMMEDIATE
	read   *sql.DB     // query only
	reader sqlstore.DB // read, for the shared statements
}

var _ booking.Store = (*Store)(nil)

// Open opens (creating if need be) the SQLite database file at path in WAL
// mode with foreign keys on, applies the embedded migrations and returns a
// Store.
//
// The file holds personal data, sealed or hashed: Open creates it with mode
// 0600 (SQLite gives path-wal and path-shm the file's mode), and refuses
// with a *filemode.ExposedError a file, or one of those two, that group or
// others may read.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, &booking.ValidationError{Field: "path", Reason: booking.ReasonFormat})
	}
	if err := filemode.Create(path, path+"-wal", path+"-shm"); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	pragmas := "?_pragma=busy_timeout(" + strconv.FormatInt(BusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	write, err := sql.Open("sqlite", path+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	// The write connection creates the file and switches it to WAL (which
	// the file then keeps) before any reader opens it.
	if err := walMode(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", path+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	read.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	s := &Store{write: write, read: read, reader: on(read)}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// walMode switches the file to WAL. Switching needs an exclusive lock, and
// SQLite answers SQLITE_BUSY at once, without its busy handler, while
// another process opening the same new file holds one: so it is retried
// here, for at most BusyTimeout.
func walMode(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, BusyTimeout)
	defer cancel()
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var mode string
		err := db.QueryRowContext(ctx, `PRAGMA journal_mode=WAL`).Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("journal mode is %q, not WAL", mode)
		case !isBusy(err):
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("set WAL mode: %w", err)
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite saying another connection holds a
// lock.
func isBusy(err error) bool {
	var se *sqlite3.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3lib.SQLITE_BUSY
}

// Ping checks both pools can reach the file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// migrate applies the embedded migrations that schema_migrations does not
// list yet, each in its own immediate transaction, so processes opening
// the file at once apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	all, err := sqlstore.Migrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: create schema_migrations: %w", err)
	}
	for _, m := range all {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var applied bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`,
				m.Version).Scan(&applied); err != nil || applied {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// inTx runs fn in an immediate transaction on the write connection and
// commits when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// translate turns a driver error into a booking error, keeping the driver
// error in the chain. Errors that are not SQLite errors pass unchanged.
//
// Within the single writer's immediate transactions the store checks
// idempotency keys, active bookings, references and capacity itself before
// writing, so the constraints below are a second line that should not fire.
func translate(err error) error {
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	var domain error
	switch se.Code() {
	case sqlite3lib.SQLITE_CONSTRAINT_UNIQUE, sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY:
		domain = booking.ErrConflict
	case sqlite3lib.SQLITE_CONSTRAINT_FOREIGNKEY:
		domain = booking.ErrNotFound
	case sqlite3lib.SQLITE_CONSTRAINT_CHECK:
		domain = &booking.ValidationError{Field: "slot", Reason: booking.ReasonImpossible}
	case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_BUSY_SNAPSHOT, sqlite3lib.SQLITE_LOCKED:
		domain = booking.ErrConflict
	default:
		return err
	}
	return fmt.Errorf("%w (%w)", domain, err)
}

// micro is how a time is written: microseconds since the epoch, UTC.
func micro(t time.Time) int64 { return t.UnixMicro() }

// fromMicro reads a time written by micro.
func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

// dialect is SQLite's, for the statements the stores share. A transaction
// is immediate: it holds the write lock from its start, so a row it reads
// needs no lock of its own.
var dialect = sqlstore.Dialect{
	Time:     func(t time.Time) any { return micro(t) },
	ScanTime: func(t *time.Time) any { return (*microTime)(t) },
	NoLimit:  "-1",
}

// microTime reads a time written by micro; NULL reads as the zero time.
type microTime time.Time

// Scan implements sql.Scanner.
func (t *microTime) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*t = microTime(fromMicro(v))
	case nil:
		*t = microTime{}
	default:
		return fmt.Errorf("time stored as %T, want INTEGER microseconds", src)
	}
	return nil
}

// querier is what a pool and a transaction both offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// on is q as the shared statements run on it.
func on(q querier) sqlstore.DB {
	return sqlstore.DB{Querier: adapter{q}, Dialect: &dialect}
}

// adapter makes a pool or a transaction a sqlstore.Querier.
type adapter struct{ q querier }

func (a adapter) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := a.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (a adapter) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := a.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (a adapter) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return a.q.QueryRowContext(ctx, query, args...)
}

// sqlRows is *sql.Rows with the Close of sqlstore.Rows. Once Next has
// returned false database/sql has closed the rows itself; what went wrong
// reading them is Err's to report.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// nullText is NULL for the empty string.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

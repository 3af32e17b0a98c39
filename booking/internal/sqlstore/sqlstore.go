// Package sqlstore holds the SQL that booking/sqlite and booking/postgres
// share and the Go around it: each statement both databases run alike is
// written here once, with the steps of the Store methods built on them.
//
// The stores keep what is their own: opening and migrating the database,
// transactions (SQLite's single writer, PostgreSQL's retries), the writes
// whose SQL differs, and turning driver errors into booking errors. A store
// adapts its pool and transactions to Querier and describes its database in
// a Dialect; a step runs on the pair, a DB, and returns driver errors as
// they came, for the store to translate.
//
// Statements number their arguments $1, $2, ...: PostgreSQL's placeholders,
// which SQLite reads as named parameters and modernc.org/sqlite binds by
// their number, so one text serves both.
//
// The package imports no driver (internal/archtest holds it to that).
package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// Querier runs statements: a store's pool, or one of its transactions.
// When QueryRow finds no row, its Scan fails with an error that matches
// sql.ErrNoRows (pgx.ErrNoRows does).
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Row is the one row QueryRow reads.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result read row by row, as pgx.Rows reads it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Dialect is what differs, in the statements of this package, between the
// databases.
type Dialect struct {
	// Time is the argument t is written as. Both databases keep a time to
	// the microsecond, so what is read back is Stored(t).
	Time func(t time.Time) any
	// ScanTime is the Scan destination that reads a time written by Time
	// into *t, in UTC; NULL reads as the zero time.
	ScanTime func(t *time.Time) any
	// ForUpdate ends a SELECT of a row the transaction goes on to change
	// (never its key): " FOR NO KEY UPDATE" where that locks the row, the
	// lock an UPDATE of it takes, which lets the foreign keys of rows
	// inserted meanwhile (bookings and holds of a slot) share it; empty
	// where the transaction holds the database's write lock from its start.
	ForUpdate string
	// NoLimit is the LIMIT that sets no bound, for an OFFSET alone.
	NoLimit string
	// Relaxed is the FROM clause of a one-row SELECT that lets the
	// statement around it commit without waiting for the disk: a record
	// that may be lost in a crash (a look-up, counted by the limits per
	// chat, one per booker who reaches consent) need not cost every
	// booker a flush. Empty where a commit costs no flush of its own.
	Relaxed string
	// SkipLocked ends the SELECT of the rows a claim takes (the outbox's
	// notices): " FOR UPDATE SKIP LOCKED" where concurrent claims would
	// otherwise wait for, then take, the same rows; empty where the
	// transaction holds the database's write lock from its start.
	SkipLocked string
}

// DB is what a step runs on: a pool or a transaction, and its dialect.
type DB struct {
	Querier
	*Dialect
}

// Stored is t as the stores keep it and read it back: in UTC, truncated
// to the microsecond.
func Stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// collect reads every row of rows with scan and closes rows; err is the
// error of the query that returned rows.
func collect[T any](rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// nullText is NULL for the empty string.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// where collects the conditions and arguments of a query.
type where struct {
	conds []string
	args  []any
}

// add appends a condition in which ? stands for the next argument.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// slots narrows to the slots of service at clinic that start in
// [from, to); an empty service or clinic, or a zero time, does not narrow.
func (w *where) slots(db DB, service booking.ServiceKind, clinic booking.ClinicID, from, to time.Time) {
	if service != "" {
		w.add("s.service = ?", service)
	}
	if clinic != "" {
		w.add("s.clinic_id = ?", clinic)
	}
	if !from.IsZero() {
		w.add("s.start_at >= ?", db.Time(from))
	}
	if !to.IsZero() {
		w.add("s.start_at < ?", db.Time(to))
	}
}

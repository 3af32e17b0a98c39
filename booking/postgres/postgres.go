// Package postgres implements booking.Store on PostgreSQL with pgx v5.
//
// The schema comes from embedded, numbered SQL files applied by Migrate.
// The rules that need atomicity are the database's: a place is claimed by a
// single conditional UPDATE (taken < capacity, backed by a CHECK), one active
// booking per patient is a partial unique index, and an idempotency key is a
// unique index. Driver errors become booking errors in one function,
// translate, which every Store method's error passes through; a server
// that cannot be reached is booking.ErrUnavailable.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

// Pool settings Open applies. Build the pool yourself and use NewStore to
// choose others.
const (
	MaxConns          = 20
	MinConns          = 2
	MaxConnIdleTime   = 5 * time.Minute
	MaxConnLifetime   = time.Hour
	HealthCheckPeriod = 30 * time.Second
	// ConnectTimeout bounds one connection attempt (dial and startup). A
	// server that accepts nothing, or accepts and then hangs, must fail the
	// attempt with booking.ErrUnavailable before the booker's 2 s for a
	// "temporarily unavailable" answer are up; a healthy server on the
	// local network answers in milliseconds.
	ConnectTimeout = 1500 * time.Millisecond
	// StatementTimeout bounds every statement on the server; a booking
	// transaction holds row locks, so none may run away.
	StatementTimeout = 10 * time.Second
	// IdleInTransactionTimeout ends a session left idle inside a
	// transaction, releasing its locks.
	IdleInTransactionTimeout = 30 * time.Second
	// OpTimeout bounds each call a booker waits on (clinics, slots, quota,
	// booking, verifying, cancelling), the wait for a pooled connection
	// included: a server that hangs on a connection already open fails the
	// call with booking.ErrUnavailable after OpTimeout rather than at the
	// caller's deadline. It is about three times the slowest update of the
	// surge at people's pace (README, "Performance and resilience").
	// Operator calls (imports, lists, purge) are not bounded by it.
	OpTimeout = 3 * time.Second
)

// bound gives a call a booker waits on its OpTimeout.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, OpTimeout)
}

// maxAttempts bounds how often a transaction is run again after a
// serialization failure or deadlock.
const maxAttempts = 5

// Store is a booking.Store on a pgx pool. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	pooled sqlstore.DB // pool, for the shared statements
	owned  bool        // Close closes the pool
}

var _ booking.Store = (*Store)(nil)

// NewStore returns a Store on pool, whose schema Migrate has brought up to
// date. Close leaves the pool open: it belongs to the caller.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool, pooled: on(pool)} }

// Open connects to the database at url (a postgres:// URL or key=value
// DSN) with the pool settings above, migrates it and returns a Store that
// owns the pool.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	Configure(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	if err := Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := NewStore(pool)
	s.owned = true
	return s, nil
}

// Configure sets cfg's pool size, timeouts and session parameters to the
// values Open uses, keeping any RuntimeParams already set otherwise.
func Configure(cfg *pgxpool.Config) {
	cfg.MaxConns = MaxConns
	cfg.MinConns = MinConns
	cfg.MaxConnIdleTime = MaxConnIdleTime
	cfg.MaxConnLifetime = MaxConnLifetime
	cfg.HealthCheckPeriod = HealthCheckPeriod
	cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	rp := cfg.ConnConfig.RuntimeParams
	rp["statement_timeout"] = fmt.Sprint(StatementTimeout.Milliseconds())
	rp["idle_in_transaction_session_timeout"] = fmt.Sprint(IdleInTransactionTimeout.Milliseconds())
	rp["timezone"] = "UTC"
	if rp["application_name"] == "" {
		rp["application_name"] = "clinicbot"
	}
}

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer wrap(&err, "ping")
	return s.pool.Ping(ctx)
}

// Close closes the pool if Open created it.
func (s *Store) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// SQLSTATE codes translate handles.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	classConnectionException = "08"    // the connection failed or was refused
	codeAdminShutdown        = "57P01" // the server is shutting down
	codeCrashShutdown        = "57P02" // another server process crashed
	codeCannotConnectNow     = "57P03" // starting up, shutting down, recovering
)

// errReplay reports a unique violation on the idempotency key: a concurrent
// request with the same key won, and its booking is the answer.
var errReplay = errors.New("idempotency key already used")

// wrap prefixes a Store method's error with its origin and translates it;
// every public method defers it over its named error result, so no path
// escapes translation.
func wrap(err *error, format string, args ...any) {
	if *err != nil {
		*err = fmt.Errorf("postgres: %s: %w", fmt.Sprintf(format, args...), translate(*err))
	}
}

// translate turns a driver error into a booking error, keeping the driver
// error in the chain. A context's own cancellation and errors that are
// neither PostgreSQL's nor the connection's pass unchanged.
func translate(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var (
		pgErr  *pgconn.PgError
		domain error
	)
	if errors.As(err, &pgErr) {
		domain = pgDomain(pgErr)
	}
	if domain == nil && (unreachable(err) || errors.Is(err, context.DeadlineExceeded)) {
		// A deadline, OpTimeout's or the caller's, that ran out before the
		// server answered (pgxpool returns it bare while waiting for a
		// connection): the store did not answer in time.
		domain = booking.ErrUnavailable
	}
	if domain == nil {
		return err
	}
	return fmt.Errorf("%w (%w)", domain, err)
}

// pgDomain is the booking error for an error the server reported, or nil.
func pgDomain(pgErr *pgconn.PgError) error {
	switch pgErr.Code {
	case codeUniqueViolation:
		switch pgErr.ConstraintName {
		case "bookings_patient_active":
			return booking.ErrAlreadyBooked
		case "bookings_idempotency_key":
			return errReplay
		default: // bookings_reference_key among others
			return booking.ErrConflict
		}
	case codeCheckViolation:
		switch pgErr.ConstraintName {
		case "slots_taken_check":
			return &booking.ValidationError{Field: "capacity", Reason: booking.ReasonImpossible}
		default:
			return &booking.ValidationError{Field: pgErr.ConstraintName, Reason: booking.ReasonFormat}
		}
	case codeForeignKeyViolation:
		return booking.ErrNotFound
	case codeSerializationFailure, codeDeadlockDetected:
		return booking.ErrConflict
	case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow:
		return booking.ErrUnavailable
	}
	if strings.HasPrefix(pgErr.Code, classConnectionException) {
		return booking.ErrUnavailable
	}
	return nil
}

// unreachable reports whether err says the server could not be reached or
// the connection was lost, as pgx v5 reports it: a failed connection
// attempt (*pgconn.ConnectError), a timeout (pgconn.Timeout, which covers
// a deadline that ran out while waiting on the server), a network error, a
// connection cut mid-message (io.EOF, io.ErrUnexpectedEOF), a connection
// pgx had already closed (pgconn.ErrConnClosed) or a closed pool
// (puddle.ErrClosedPool, which pgxpool returns unwrapped).
func unreachable(err error) bool {
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	return errors.As(err, &connectErr) || pgconn.Timeout(err) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, puddle.ErrClosedPool)
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) &&
		(pgErr.Code == codeSerializationFailure || pgErr.Code == codeDeadlockDetected)
}

// inTx runs fn in a read-committed transaction, again after a serialization
// failure or deadlock, and commits when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for range maxAttempts {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// ts is how a time is written: UTC at the database's microsecond
// precision (truncated, as SQLite does, not rounded).
func ts(t time.Time) time.Time { return sqlstore.Stored(t) }

// dialect is PostgreSQL's, for the statements the stores share.
var dialect = sqlstore.Dialect{
	Time:       func(t time.Time) any { return ts(t) },
	ScanTime:   func(t *time.Time) any { return (*utcTime)(t) },
	ForUpdate:  " FOR NO KEY UPDATE",
	NoLimit:    "ALL",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	// synchronous_commit off for the statement's own transaction: it
	// commits at once, and the WAL writer flushes it within a fraction of
	// a second.
	Relaxed: ` FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed`,
}

// utcTime reads a timestamptz in UTC; NULL reads as the zero time.
type utcTime time.Time

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (t *utcTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*t = utcTime{}
		return nil
	}
	*t = utcTime(v.Time.UTC())
	return nil
}

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// on is q as the shared statements run on it.
func on(q querier) sqlstore.DB {
	return sqlstore.DB{Querier: adapter{q}, Dialect: &dialect}
}

// adapter makes a pool or a transaction a sqlstore.Querier. pgx.Rows and
// pgx.Row are sqlstore's Rows and Row as they are.
type adapter struct{ q querier }

func (a adapter) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := a.q.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (a adapter) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return a.q.Query(ctx, sql, args...)
}

func (a adapter) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return a.q.QueryRow(ctx, sql, args...)
}

// Package postgres implements booking.Store on PostgreSQL with pgx v5.
//
// The schema comes from embedded, numbered SQL files applied by Migrate.
// The rules that need atomicity are the database's: a place is claimed by a
// single conditional UPDATE (taken < capacity, backed by a CHECK), one active
// booking per patient is a partial unique index, and an idempotency key is a
// unique index. Driver errors become booking errors in one function,
// translate.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clinicbot/clinicbot/booking"
)

// Pool settings Open applies. Build the pool yourself and use NewStore to
// choose others.
const (
	MaxConns          = 20
	MinConns          = 2
	MaxConnIdleTime   = 5 * time.Minute
	MaxConnLifetime   = time.Hour
	HealthCheckPeriod = 30 * time.Second
	ConnectTimeout    = 5 * time.Second
	// StatementTimeout bounds every statement on the server; a booking
	// transaction holds row locks, so none may run away.
	StatementTimeout = 10 * time.Second
	// IdleInTransactionTimeout ends a session left idle inside a
	// transaction, releasing its locks.
	IdleInTransactionTimeout = 30 * time.Second
)

// maxAttempts bounds how often a transaction is run again after a
// serialization failure or deadlock.
const maxAttempts = 5

// Store is a booking.Store on a pgx pool. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	owned bool // Close closes the pool
}

var _ booking.Store = (*Store)(nil)

// NewStore returns a Store on pool, whose schema Migrate has brought up to
// date. Close leaves the pool open: it belongs to the caller.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

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
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
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
)

// errReplay reports a unique violation on the idempotency key: a concurrent
// request with the same key won, and its booking is the answer.
var errReplay = errors.New("idempotency key already used")

// translate turns a driver error into a booking error, keeping the driver
// error in the chain. Errors that are not PostgreSQL errors pass unchanged.
func translate(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	var domain error
	switch pgErr.Code {
	case codeUniqueViolation:
		switch pgErr.ConstraintName {
		case "bookings_patient_active":
			domain = &booking.AlreadyBookedError{}
		case "bookings_idempotency_key":
			domain = errReplay
		case "bookings_reference_key":
			domain = booking.ErrConflict
		default:
			domain = booking.ErrConflict
		}
	case codeCheckViolation:
		switch pgErr.ConstraintName {
		case "slots_taken_check":
			domain = &booking.ValidationError{Field: "capacity", Reason: booking.ReasonImpossible}
		default:
			domain = &booking.ValidationError{Field: pgErr.ConstraintName, Reason: booking.ReasonFormat}
		}
	case codeForeignKeyViolation:
		domain = booking.ErrNotFound
	case codeSerializationFailure, codeDeadlockDetected:
		domain = booking.ErrConflict
	default:
		return err
	}
	return fmt.Errorf("%w (%w)", domain, err)
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
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullText is NULL for the empty string.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

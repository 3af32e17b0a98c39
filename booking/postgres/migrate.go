package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the first key of the advisory lock taken while migrating;
// the second is a hash of the schema, so replicas migrating the same schema
// take turns while other schemas (parallel tests) are not held up.
const migrationLock = 0x636c6263 // "clbc"

// Migrate applies the embedded migrations that the schema_migrations table
// does not list yet, each in its own transaction, in the pool's current
// schema. It holds a PostgreSQL advisory lock meanwhile, so replicas starting
// at once migrate once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	all, err := sqlstore.Migrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: acquire: %w", err)
	}
	defer conn.Release()

	const lockArgs = `$1::int4, hashtext(current_schema())`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+lockArgs+`)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		// Unlock even when ctx is done; should that fail too, the lock is
		// released when the connection closes, so drop it from the pool.
		uctx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+lockArgs+`)`, migrationLock); err != nil {
			_ = conn.Hijack().Close(uctx)
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("postgres: migrate: create schema_migrations: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("postgres: migrate: applied versions: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres: migrate: applied versions: %w", err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[int(v)] = true
	}
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

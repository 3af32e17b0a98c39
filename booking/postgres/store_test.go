package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	neturl "net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/bookingtest"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// newSchema creates a schema of its own for t in the test database and
// returns a pool whose connections use it; t.Cleanup closes the pool and
// drops the schema, even when t's context is done.
func newSchema(t testing.TB, maxConns int32) (*pgxpool.Pool, string) {
	t.Helper()
	url := testenv.PostgresURL(t)
	ctx := t.Context()
	var b [8]byte
	rand.Read(b[:])
	schema := "clinicbot_test_" + hex.EncodeToString(b[:])

	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("parse %s: %v", testenv.PostgresVar, err)
	}
	postgres.Configure(cfg)
	cfg.MaxConns, cfg.MinConns = maxConns, 0
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the schema is dropped
	return pool, schema
}

// openStore returns a migrated Store in a schema of its own.
func openStore(t testing.TB, maxConns int32) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool, _ := newSchema(t, maxConns)
	if err := postgres.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s := postgres.NewStore(pool)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, pool
}

func TestStore(t *testing.T) {
	bookingtest.Exercise(t, func(t *testing.T) booking.Store {
		s, _ := openStore(t, 8)
		return s
	})
}

func TestNoClearPersonalData(t *testing.T) {
	s, pool := openStore(t, 4)
	bookingtest.NoClearPersonalData(t, s, func(t *testing.T) []byte {
		// Every row of every table in the schema, as PostgreSQL writes it
		// out (bytea as hex).
		rows, err := pool.Query(t.Context(), `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() ORDER BY table_name`)
		if err != nil {
			t.Fatalf("list tables: %v", err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(tables) < 4 {
			t.Fatalf("list tables = %v, %v", tables, err)
		}
		var dump []byte
		for _, table := range tables {
			rows, err := pool.Query(t.Context(), `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
			if err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			for _, l := range lines {
				dump = append(dump, table+":"+l+"\n"...)
			}
		}
		return dump
	})
}

// TestMigrateConcurrently starts several "replicas" on one new schema at
// once: the advisory lock makes them apply each migration once, and a
// later run finds nothing to do.
func TestMigrateConcurrently(t *testing.T) {
	pool, _ := newSchema(t, 8)
	ctx := t.Context()
	const replicas = 5
	errs := make(chan error, replicas)
	for range replicas {
		go func() { errs <- postgres.Migrate(ctx, pool) }()
	}
	for range replicas {
		if err := <-errs; err != nil {
			t.Errorf("Migrate: %v", err)
		}
	}
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Errorf("Migrate(again): %v", err)
	}
	var versions []int32
	rows, err := pool.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err == nil {
		versions, err = pgx.CollectRows(rows, pgx.RowTo[int32])
	}
	if err != nil || len(versions) == 0 || versions[0] != 1 {
		t.Errorf("schema_migrations = %v, %v, want each version once from 1", versions, err)
	}
	for i := 1; i < len(versions); i++ {
		if versions[i] == versions[i-1] {
			t.Errorf("version %d applied twice", versions[i])
		}
	}
}

func TestOpen(t *testing.T) {
	url := testenv.PostgresURL(t)
	ctx := t.Context()
	// Open migrates the database's default schema, so give it a schema of
	// its own through the URL's search_path.
	_, schema := newSchema(t, 1)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatalf("parse %s: %v", testenv.PostgresVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if clinics, err := s.Clinics(ctx); err != nil || len(clinics) != 0 {
		t.Errorf("Clinics = %v, %v, want none in a new schema", clinics, err)
	}
	if _, err := postgres.Open(ctx, "postgres://127.0.0.1:1/none?connect_timeout=1"); err == nil {
		t.Errorf("Open(nothing listening) = nil error")
	}
}

// BenchmarkBook: go test -bench . -run '^$' ./booking/postgres
func BenchmarkBook(b *testing.B) {
	bookingtest.Benchmark(b, func(b *testing.B) booking.Store {
		s, _ := openStore(b, postgres.MaxConns)
		return s
	})
}

package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/bookingtest"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// newPool returns a pool on url configured as in production but for its
// size; t.Cleanup closes it. On a testenv.PostgresSchema URL the pool is
// closed before the schema is dropped.
func newPool(t testing.TB, url string, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("parse %s: %v", testenv.PostgresVar, err)
	}
	postgres.Configure(cfg)
	cfg.MaxConns, cfg.MinConns = maxConns, 0
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// openStore returns a migrated Store in a schema of its own.
func openStore(t testing.TB, maxConns int32) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := newPool(t, testenv.PostgresSchema(t), maxConns)
	if err := postgres.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s := postgres.NewStore(pool)
	bookingtest.CloseOnCleanup(t, s)
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
	pool := newPool(t, testenv.PostgresSchema(t), 8)
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
	ctx := t.Context()
	// Open migrates the schema its connections use: a new one of the
	// test's own.
	s, err := postgres.Open(ctx, testenv.PostgresSchema(t))
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

// BenchmarkReads: go test -bench . -run '^$' ./booking/postgres
func BenchmarkReads(b *testing.B) {
	bookingtest.BenchmarkReads(b, func(b *testing.B) booking.Store {
		s, _ := openStore(b, postgres.MaxConns)
		return s
	})
}

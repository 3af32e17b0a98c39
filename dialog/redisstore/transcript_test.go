package redisstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// TestTranscripts runs the dialog package's golden conversations with their
// sessions in Redis: the Store behaves as dialog.MemoryStore does, expiry by
// a fake clock included.
func TestTranscripts(t *testing.T) {
	dialogtest.RunTranscripts(t, filepath.Join("..", "testdata"), dialogtest.Config{
		NewBookingStore: func(t testing.TB) booking.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "clinicbot.db"))
			if err != nil {
				t.Fatalf("sqlite.Open() = %v", err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		NewSessionStore: func(t testing.TB, now func() time.Time) dialog.SessionStore {
			return newFixture(t, redisstore.Options{Now: now, Idle: 15 * time.Minute}).store
		},
	})
}

// TestTranscriptsPostgres runs the same golden conversations as production
// at scale runs them: bookings in PostgreSQL (a schema of their own per
// transcript), sessions in Redis. The booking flow's screening, the
// cool-downs and the limits per chat answer alike on both stores.
func TestTranscriptsPostgres(t *testing.T) {
	dialogtest.RunTranscripts(t, filepath.Join("..", "testdata"), dialogtest.Config{
		NewBookingStore: func(t testing.TB) booking.Store {
			cfg, err := pgxpool.ParseConfig(testenv.PostgresSchema(t))
			if err != nil {
				t.Fatalf("parse %s: %v", testenv.PostgresVar, err)
			}
			postgres.Configure(cfg)
			cfg.MaxConns, cfg.MinConns = 4, 0
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				t.Fatalf("pool: %v", err)
			}
			t.Cleanup(pool.Close)
			if err := postgres.Migrate(context.Background(), pool); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			return postgres.NewStore(pool)
		},
		NewSessionStore: func(t testing.TB, now func() time.Time) dialog.SessionStore {
			return newFixture(t, redisstore.Options{Now: now, Idle: 15 * time.Minute}).store
		},
	})
}

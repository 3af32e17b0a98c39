package redisstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
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

package dialog_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

// sqliteConfig runs transcripts on a fresh SQLite file and a MemoryStore.
var sqliteConfig = dialogtest.Config{
	NewBookingStore: func(t testing.TB) booking.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "clinicbot.db"))
		if err != nil {
			t.Fatalf("sqlite.Open() = %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	},
	NewSessionStore: func(t testing.TB, now func() time.Time) dialog.SessionStore {
		return dialog.NewMemoryStore(now, 15*time.Minute)
	},
}

// TestTranscripts runs the golden conversations and checks that together
// they enter every state of the conversation.
func TestTranscripts(t *testing.T) {
	seen := dialogtest.RunTranscripts(t, "testdata", sqliteConfig)
	if t.Failed() {
		return
	}
	if diff := cmp.Diff(dialog.States(), seen); diff != "" {
		t.Errorf("states entered by the transcripts (-every state +entered):\n%s", diff)
	}
}

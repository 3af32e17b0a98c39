package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// proxiedStore returns a migrated Store in a schema of its own whose pool
// reaches PostgreSQL through a proxy the test can take down.
func proxiedStore(t *testing.T) (*postgres.Store, *testenv.Proxy) {
	t.Helper()
	url := testenv.PostgresSchema(t)
	if err := postgres.Migrate(t.Context(), newPool(t, url, 2)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	proxy := testenv.NewProxy(t, url, "5432") // keeps the URL's search_path
	pool := newPool(t, proxy.URL(), 4)
	return postgres.NewStore(pool), proxy
}

// TestStoreUnavailable takes the server away under a working Store: every
// method fails with booking.ErrUnavailable; once the server is back the
// same Store works again without being told.
func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, proxy := proxiedStore(t)

	now := time.Now().UTC().Truncate(time.Hour)
	clinic := booking.DefaultClinics()[0]
	slot := booking.Slot{Service: booking.ServiceClinic, ClinicID: clinic.ID, Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour), Capacity: 5}
	if err := s.SaveClinics(ctx, []booking.Clinic{clinic}); err != nil {
		t.Fatalf("SaveClinics: %v", err)
	}
	if _, err := s.SaveSlots(ctx, []booking.Slot{slot}); err != nil {
		t.Fatalf("SaveSlots: %v", err)
	}
	slots, err := s.Slots(ctx, booking.SlotQuery{})
	if err != nil || len(slots) != 1 {
		t.Fatalf("Slots = %v, %v, want the one saved", slots, err)
	}
	slot = slots[0]
	booker := booking.Booker{Channel: booking.ChannelConsole, ID: "1"}
	v := booking.Verification{Patient: "nobody", BirthKey: "x", Service: booking.ServiceClinic, ClinicID: clinic.ID, Booker: booker, At: now}
	newBooking := func(ref string) booking.NewBooking {
		return booking.NewBooking{
			Reference: booking.Reference(ref), SlotID: slot.ID, Patient: booking.PatientKey("p-" + ref), BirthKey: "b",
			PatientMasked: "A123***(*)", DocumentType: booking.DocumentHKID, Booker: booker, ConsentAt: now, CreatedAt: now,
		}
	}

	// Each method, and what it returns once the server is back.
	tests := []struct {
		name      string
		call      func(ctx context.Context) error
		recovered error
	}{
		{"Ping", func(ctx context.Context) error { return s.Ping(ctx) }, nil},
		{"SaveClinics", func(ctx context.Context) error { return s.SaveClinics(ctx, []booking.Clinic{clinic}) }, nil},
		{"Clinics", func(ctx context.Context) error { _, err := s.Clinics(ctx); return err }, nil},
		{"SaveSlots", func(ctx context.Context) error { _, err := s.SaveSlots(ctx, []booking.Slot{slot}); return err }, nil},
		{"Slot", func(ctx context.Context) error { _, err := s.Slot(ctx, slot.ID); return err }, nil},
		{"Slots", func(ctx context.Context) error { _, err := s.Slots(ctx, booking.SlotQuery{}); return err }, nil},
		{"QuotaCounts", func(ctx context.Context) error {
			_, err := s.QuotaCounts(ctx, now, now.Add(72*time.Hour), now)
			return err
		}, nil},
		{"Hold", func(ctx context.Context) error {
			_, err := s.Hold(ctx, booking.Hold{SlotID: slot.ID, Booker: v.Booker, Until: now.Add(time.Minute)}, now)
			return err
		}, nil},
		{"Release", func(ctx context.Context) error { return s.Release(ctx, v.Booker) }, nil},
		{"DropHolds", func(ctx context.Context) error { _, err := s.DropHolds(ctx, now); return err }, nil},
		{"Book", func(ctx context.Context) error { _, err := s.Book(ctx, newBooking("AAAA-0001")); return err }, nil},
		{"Screen", func(ctx context.Context) error {
			return s.Screen(ctx, booking.Screening{Booker: booker, Patient: "nobody", At: now})
		}, nil},
		{"BookerUsage", func(ctx context.Context) error { _, _, err := s.BookerUsage(ctx, booker, now, now); return err }, nil},
		{"Verify", func(ctx context.Context) error { _, err := s.Verify(ctx, v); return err }, booking.ErrNotFound},
		{"Cancel", func(ctx context.Context) error { _, err := s.Cancel(ctx, v, "ZZZZ-9999"); return err }, booking.ErrNotFound},
		{"FailedVerifications", func(ctx context.Context) error {
			_, _, err := s.FailedVerifications(ctx, booker, "nobody", now)
			return err
		}, nil},
		{"Bookings", func(ctx context.Context) error { _, err := s.Bookings(ctx, booking.BookingQuery{}); return err }, nil},
		{"Purge", func(ctx context.Context) error { _, err := s.Purge(ctx, now.Add(-time.Hour)); return err }, nil},
		{"Audit", func(ctx context.Context) error { _, err := s.Audit(ctx, now); return err }, nil},
	}
	for _, tt := range tests {
		if err := tt.call(ctx); !errors.Is(err, tt.recovered) {
			t.Fatalf("%s before the server went away = %v, want %v", tt.name, err, tt.recovered)
		}
	}

	proxy.Down()
	t.Run("Down", func(t *testing.T) {
		for _, tt := range tests {
			start := time.Now()
			err := tt.call(ctx)
			if !errors.Is(err, booking.ErrUnavailable) {
				t.Errorf("%s = %v, want booking.ErrUnavailable", tt.name, err)
			}
			t.Logf("%s: %v after %v", tt.name, err, time.Since(start).Round(time.Millisecond))
		}
	})

	// A server that accepts connections and never answers: each new
	// connection gives up after postgres.ConnectTimeout.
	proxy.Up()
	proxy.Hang()
	t.Run("Hung", func(t *testing.T) {
		for _, tt := range tests[:3] {
			start := time.Now()
			err := tt.call(ctx)
			if !errors.Is(err, booking.ErrUnavailable) {
				t.Errorf("%s = %v, want booking.ErrUnavailable", tt.name, err)
			}
			t.Logf("%s: %v after %v", tt.name, err, time.Since(start).Round(time.Millisecond))
		}
	})

	// A server that hangs on the connections the pool already holds: a call
	// a booker waits on gives up after postgres.OpTimeout.
	proxy.Up()
	if err := s.Ping(ctx); err != nil { // a pooled connection to stall
		t.Fatalf("Ping after Up: %v", err)
	}
	proxy.Stall()
	t.Run("Stalled", func(t *testing.T) {
		for _, tt := range tests {
			if tt.name != "Slots" && tt.name != "Book" {
				continue
			}
			start := time.Now()
			err := tt.call(ctx)
			if !errors.Is(err, booking.ErrUnavailable) {
				t.Errorf("%s = %v, want booking.ErrUnavailable", tt.name, err)
			}
			t.Logf("%s: %v after %v", tt.name, err, time.Since(start).Round(time.Millisecond))
		}
	})

	proxy.Up()
	t.Run("Up", func(t *testing.T) {
		for _, tt := range tests {
			if tt.name == "Book" { // the first Book holds the patient's booking
				tt.call = func(ctx context.Context) error { _, err := s.Book(ctx, newBooking("AAAA-0002")); return err }
			}
			if err := tt.call(ctx); !errors.Is(err, tt.recovered) {
				t.Errorf("%s = %v, want %v", tt.name, err, tt.recovered)
			}
		}
	})
}

// TestStoreCancelledIsNotUnavailable: a caller's own cancellation stays
// context.Canceled and does not pass for an unreachable server.
func TestStoreCancelledIsNotUnavailable(t *testing.T) {
	t.Parallel()
	s, _ := openStore(t, 2)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Clinics(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, booking.ErrUnavailable) {
		t.Errorf("Clinics(cancelled) = %v, want context.Canceled and not booking.ErrUnavailable", err)
	}
}

// TestStoreDeadlineIsUnavailable: a deadline that ran out before the server
// answered (here before the call began) reads as an unavailable store.
func TestStoreDeadlineIsUnavailable(t *testing.T) {
	t.Parallel()
	s, _ := openStore(t, 2)
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := s.Clinics(ctx)
	if !errors.Is(err, booking.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Clinics(past deadline) = %v, want booking.ErrUnavailable wrapping context.DeadlineExceeded", err)
	}
}

package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/internal/config"
)

// TestMaintainCompletesEndedBookings: serve's maintenance marks a booking
// whose appointment has ended completed as soon as it starts, and leaves
// one still to come active.
func TestMaintainCompletesEndedBookings(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bookings.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	defer st.Close()
	clinics := booking.DefaultClinics()
	if err := st.SaveClinics(ctx, clinics); err != nil {
		t.Fatalf("SaveClinics: %v", err)
	}
	now := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC) // 12:00 in Hong Kong
	slot := func(start time.Time) booking.Slot {
		return booking.Slot{Service: booking.ServiceClinic, ClinicID: clinics[0].ID, Start: start, End: start.Add(15 * time.Minute), Capacity: 5}
	}
	if _, err := st.SaveSlots(ctx, []booking.Slot{slot(now.Add(-2 * time.Hour)), slot(now.Add(2 * time.Hour))}); err != nil {
		t.Fatalf("SaveSlots: %v", err)
	}
	slots, err := st.Slots(ctx, booking.SlotQuery{Service: booking.ServiceClinic})
	if err != nil || len(slots) != 2 {
		t.Fatalf("Slots = %d, %v; want 2", len(slots), err)
	}
	var made []booking.Booking
	for i, sl := range slots {
		b, err := st.Book(ctx, booking.NewBooking{
			Reference: booking.NewReference(), SlotID: sl.ID,
			Patient: booking.PatientKey("patient-" + string(rune('a'+i))), BirthKey: "birth", PatientMasked: "A123***(*)",
			DocumentType: booking.DocumentHKID, MobileSealed: []byte("sealed"),
			Booker:    booking.Booker{Channel: booking.ChannelTelegram, ID: "1" + string(rune('0'+i))},
			ConsentAt: now.Add(-3 * time.Hour), CreatedAt: now.Add(-3 * time.Hour),
		})
		if err != nil {
			t.Fatalf("Book(slot %d): %v", sl.ID, err)
		}
		made = append(made, b)
	}

	e := &env{
		cfg: config.Config{Retention: config.Period(90 * 24 * time.Hour), ScheduleDays: 14},
		log: slog.New(slog.DiscardHandler),
		now: func() time.Time { return now },
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.maintain(mctx, &app{core: &core{store: st}}); close(done) }()
	defer func() { cancel(); <-done }()

	status := func() map[booking.Reference]booking.Status {
		all, err := st.Bookings(ctx, booking.BookingQuery{})
		if err != nil {
			t.Fatalf("Bookings: %v", err)
		}
		m := map[booking.Reference]booking.Status{}
		for _, b := range all {
			m[b.Reference] = b.Status
		}
		return m
	}
	deadline := time.Now().Add(10 * time.Second)
	for status()[made[0].Reference] != booking.StatusCompleted {
		if time.Now().After(deadline) {
			t.Fatalf("ended booking still %s 10 s after maintenance started", status()[made[0].Reference])
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := status()[made[1].Reference]; got != booking.StatusActive {
		t.Errorf("booking still to come = %s, want active", got)
	}
}

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// seedClinics saves the default clinics into a store that has none, and
// returns the store's clinics.
func seedClinics(ctx context.Context, store booking.Store) ([]booking.Clinic, error) {
	clinics, err := store.Clinics(ctx)
	if err != nil {
		return nil, fmt.Errorf("clinics: %w", err)
	}
	if len(clinics) > 0 {
		return clinics, nil
	}
	if err := store.SaveClinics(ctx, booking.DefaultClinics()); err != nil {
		return nil, fmt.Errorf("save default clinics: %w", err)
	}
	return store.Clinics(ctx)
}

// fillSchedule opens the default schedule (booking.DefaultSchedule) for the
// days days from today, Hong Kong time, wherever a day has no slot of a
// service at a clinic yet. Days an operator scheduled (schedule import) are
// left as they are, so it is idempotent and safe to run at every start, on
// a timer, and from several replicas at once. It returns how many slots it
// added.
func fillSchedule(ctx context.Context, store booking.Store, now time.Time, days int) (int, error) {
	clinics, err := seedClinics(ctx, store)
	if err != nil {
		return 0, err
	}
	ids := make([]booking.ClinicID, len(clinics))
	for i, c := range clinics {
		ids[i] = c.ID
	}
	loc := booking.HongKong()
	today := booking.DateOf(now, loc)
	spec := booking.DefaultSchedule(today, ids)
	spec.Days = days
	spec.Location = loc
	slots, err := booking.GenerateSlots(spec)
	if err != nil {
		return 0, err
	}

	// What each day already has, by service and clinic.
	type key struct {
		day     booking.Date
		service booking.ServiceKind
		clinic  booking.ClinicID
	}
	have := make(map[key]bool)
	for d := range days {
		from := time.Date(today.Year, today.Month, today.Day+d, 0, 0, 0, 0, loc)
		counts, err := store.QuotaCounts(ctx, from.UTC(), from.AddDate(0, 0, 1).UTC(), now)
		if err != nil {
			return 0, fmt.Errorf("schedule of %s: %w", from.Format(time.DateOnly), err)
		}
		for _, c := range counts {
			have[key{booking.DateOf(from, loc), c.Service, c.ClinicID}] = true
		}
	}
	var missing []booking.Slot
	for _, s := range slots {
		if !have[key{booking.DateOf(s.Start, loc), s.Service, s.ClinicID}] {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	saved, err := store.SaveSlots(ctx, missing)
	if err != nil {
		return 0, fmt.Errorf("save slots: %w", err)
	}
	return saved.Added, nil
}

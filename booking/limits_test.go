package booking_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
)

func TestBookerLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)
	lim := booking.Limits{MaxActive: 4, MaxPatients: 2, PatientWindow: time.Hour}
	two := map[booking.PatientKey]time.Time{"a": now.Add(-50 * time.Minute), "b": now.Add(-10 * time.Minute)}
	tests := []struct {
		name    string
		active  int
		lookups map[booking.PatientKey]time.Time
		patient booking.PatientKey
		want    error
	}{
		{"Room", 3, map[booking.PatientKey]time.Time{"a": now}, "b", nil},
		{"ActiveFull", 4, nil, "a", &booking.LimitError{Limit: booking.LimitActive, Max: 4}},
		{"PatientsFull", 0, two, "c", &booking.LimitError{Limit: booking.LimitPatients, Max: 2, Until: now.Add(10 * time.Minute)}},
		{"PatientsFullAnyNew", 0, two, "", &booking.LimitError{Limit: booking.LimitPatients, Max: 2, Until: now.Add(10 * time.Minute)}},
		{"SeenPatient", 0, two, "a", nil},
		{"OldestAnHourOld", 0, map[booking.PatientKey]time.Time{"a": now.Add(-time.Hour), "b": now}, "c", nil},
	}
	for _, tc := range tests {
		got := lim.BookerLimit(now, tc.active, tc.lookups, tc.patient)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("BookerLimit(%s) (-want +got):\n%s", tc.name, diff)
		}
		if got != nil && !errors.Is(got, booking.ErrBookerLimit) {
			t.Errorf("BookerLimit(%s) = %v, want it to match ErrBookerLimit", tc.name, got)
		}
	}
	if err := (booking.Limits{}).BookerLimit(now, 100, two, "c"); err != nil {
		t.Errorf("BookerLimit(no limits set) = %v, want nil", err)
	}
}

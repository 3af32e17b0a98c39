package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
)

// fakeStore answers Book, Verify and Cancel with err.
type fakeStore struct {
	booking.Store
	err error
}

func (f fakeStore) Book(context.Context, booking.NewBooking) (booking.Booking, error) {
	return booking.Booking{Slot: booking.Slot{Service: booking.ServiceVideo}}, f.err
}

func (f fakeStore) Verify(context.Context, booking.Verification) (booking.Booking, error) {
	return booking.Booking{}, f.err
}

func (f fakeStore) Cancel(context.Context, booking.Verification, booking.Reference) (booking.Booking, error) {
	return booking.Booking{Slot: booking.Slot{Service: booking.ServiceClinic, ClinicID: "wan-tsui"}}, f.err
}

// values returns every sample of the clinicbot_ metrics, keyed by name and
// labels.
func values(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		name := mf.GetName()
		if len(name) < 10 || name[:10] != "clinicbot_" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			key := name
			for _, l := range mt.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.GetCounter() != nil:
				out[key] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				out[key+" count"] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestStoreAndRouterMetrics(t *testing.T) {
	t.Parallel()
	m := New()
	ctx := context.Background()
	ok := m.WrapStore(fakeStore{})
	notFound := m.WrapStore(fakeStore{err: booking.ErrNotFound})
	taken := m.WrapStore(fakeStore{err: booking.ErrSlotTaken})
	broken := m.WrapStore(fakeStore{err: errors.New("disk on fire")})
	// The store applies the cool-down itself: an expected outcome.
	cooling := m.WrapStore(fakeStore{err: &booking.CooldownError{Until: time.Now()}})

	ok.Book(ctx, booking.NewBooking{})
	ok.Cancel(ctx, booking.Verification{}, "R")
	ok.Verify(ctx, booking.Verification{})
	notFound.Verify(ctx, booking.Verification{})
	notFound.Cancel(ctx, booking.Verification{}, "R")
	notFound.Book(ctx, booking.NewBooking{}) // no such slot: not a verification
	taken.Book(ctx, booking.NewBooking{})
	broken.Book(ctx, booking.NewBooking{})
	cooling.Verify(ctx, booking.Verification{})
	cooling.Cancel(ctx, booking.Verification{}, "R")

	m.Observe("telegram", bot.OutcomeOK, 20*time.Millisecond)
	m.Observe("telegram", bot.OutcomeDuplicate, time.Millisecond)
	m.Observe("whatsapp", bot.OutcomeInternal, time.Second)
	m.Observe("telegram", bot.OutcomeBusy, time.Millisecond) // asked to come back: not an error

	want := map[string]float64{
		"clinicbot_bookings_total service=video":                     1,
		"clinicbot_cancellations_total service=clinic":               1,
		"clinicbot_failed_verifications_total":                       2,
		"clinicbot_errors_total component=store":                     1,
		"clinicbot_errors_total component=router":                    1,
		"clinicbot_updates_total channel=telegram outcome=ok":        1,
		"clinicbot_updates_total channel=telegram outcome=duplicate": 1,
		"clinicbot_updates_total channel=whatsapp outcome=internal":  1,
		"clinicbot_updates_total channel=telegram outcome=busy":      1,
		"clinicbot_update_duration_seconds channel=telegram count":   3,
		"clinicbot_update_duration_seconds channel=whatsapp count":   1,
	}
	if diff := cmp.Diff(want, values(t, m)); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

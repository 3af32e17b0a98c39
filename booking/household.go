package booking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// OfferNear holds, for the booker, the open slot nearest the slot near:
// the household's next patient is offered the time next to the previous
// booking. The candidates are near's service and clinic on near's day
// (Hong Kong) within the window, the nearest start first, a later one
// before an earlier one as near: near itself while it has a place, then
// the slot after it, the slot before it, and so on. It holds as Offer
// does (Rules.Hold, in place of any hold the booker had; a zero Hold rule
// holds nothing) and returns the slot with the time the hold lapses. No
// place left that day is ErrQuotaFull: the caller offers the earliest.
func (s *Service) OfferNear(ctx context.Context, b Booker, near SlotID) (Slot, time.Time, error) {
	prev, err := s.Store.Slot(ctx, near)
	if err != nil {
		return Slot{}, time.Time{}, fmt.Errorf("booking: offer near slot %d: %w", near, err)
	}
	if s.Rules.Hold > 0 {
		// The booker's own hold would hide its place from the search.
		if err := s.Store.Release(ctx, b); err != nil {
			return Slot{}, time.Time{}, fmt.Errorf("booking: offer near: %w", err)
		}
	}
	slots, err := s.DaySlots(ctx, prev.Service, prev.ClinicID, DateOf(prev.Start, s.Rules.Location))
	if err != nil {
		return Slot{}, time.Time{}, err
	}
	slices.SortStableFunc(slots, func(x, y Slot) int {
		dx, dy := distance(x.Start, prev.Start), distance(y.Start, prev.Start)
		if dx != dy {
			return cmp.Compare(dx, dy)
		}
		return y.Start.Compare(x.Start) // later first
	})
	for _, sl := range slots {
		if s.Rules.Hold <= 0 {
			return sl, time.Time{}, nil
		}
		held, until, err := s.hold(ctx, b, sl.ID)
		switch {
		case err == nil:
			return held, until, nil
		case !errors.Is(err, ErrSlotTaken):
			return Slot{}, time.Time{}, fmt.Errorf("booking: offer near: %w", err)
		}
	}
	return Slot{}, time.Time{}, ErrQuotaFull
}

// distance is how far apart a and b are, either way.
func distance(a, b time.Time) time.Duration {
	if d := a.Sub(b); d >= 0 {
		return d
	}
	return b.Sub(a)
}

// BookerBookings returns the active bookings b made that have not ended,
// in time order, the patients masked: the chat's "my bookings". Each may
// be cancelled or moved from that chat without the patient's details
// (CancelBound, MoveBound).
func (s *Service) BookerBookings(ctx context.Context, b Booker) ([]Booking, error) {
	bookings, err := s.Store.BookerBookings(ctx, b, s.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("booking: booker bookings: %w", err)
	}
	return bookings, nil
}

// AccessLogSize is how many of the latest records AccessLog returns.
const AccessLogSize = 20

// AccessLog returns what was done for the patient who holds doc (see
// Store.PatientLog): the AccessLogSize latest records, who acted and how,
// and the failed verifications counted. The caller shows it only to a
// booker who has just verified the patient's booking (Enquire): it is
// the patient's own log, read by someone acting for them.
func (s *Service) AccessLog(ctx context.Context, doc Document) (PatientLog, error) {
	log, err := s.Store.PatientLog(ctx, s.Protector.PatientKey(doc), AccessLogSize)
	if err != nil {
		return PatientLog{}, fmt.Errorf("booking: access log: %w", err)
	}
	return log, nil
}

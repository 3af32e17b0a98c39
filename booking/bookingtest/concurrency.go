package bookingtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// concurrencyCases race bookings and cancels through booking.Service.
var concurrencyCases = []testCase{
	{"RaceForLastPlaces", testRaceForLastPlaces},
	{"SamePatientTwice", testSamePatientTwice},
	{"SameIdempotencyKey", func(t *testing.T, f *fixture) { testSameIdempotencyKey(t, f, 5) }},
	{"SameIdempotencyKeyLastPlace", func(t *testing.T, f *fixture) { testSameIdempotencyKey(t, f, 1) }},
	{"SameCancelTwice", testSameCancelTwice},
	{"CancelsAndBooksInterleaved", testInterleaved},
	{"ParallelWrongGuesses", testParallelWrongGuesses},
}

// parallel runs fn(0) … fn(n-1) at once and waits for them.
func parallel(n int, fn func(i int)) {
	var (
		ready sync.WaitGroup
		done  sync.WaitGroup
		gate  = make(chan struct{})
	)
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			fn(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

func testRaceForLastPlaces(t *testing.T, f *fixture) {
	const racers, places = 200, 3
	sl := f.slot(booking.ServiceClinic, kwunTong, at(0, 10, 0), places)
	errs := make([]error, racers)
	parallel(racers, func(i int) {
		_, errs[i] = f.book(patient(i), booker(i), sl.ID)
	})
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, booking.ErrSlotTaken):
			t.Errorf("racer %d: Book = %v, want a booking or ErrSlotTaken", i, err)
		}
	}
	if won != places {
		t.Errorf("%d racers booked, want exactly %d", won, places)
	}
	if got := f.reload(sl); got.Taken != places {
		t.Errorf("taken = %d, want %d", got.Taken, places)
	}
	if active := f.bookings(booking.BookingQuery{Status: booking.StatusActive}); len(active) != places {
		t.Errorf("%d active bookings, want %d", len(active), places)
	}
	f.checkTaken("after the race")
}

func testSamePatientTwice(t *testing.T, f *fixture) {
	const tries = 8
	var slots []booking.Slot
	for i := range tries {
		slots = append(slots, f.slot(booking.ServiceClinic, aberdeen, at(0, 10+i, 0), 5))
	}
	p := patient(1)
	results := make([]error, tries)
	parallel(tries, func(i int) {
		// Different bookers, different slots, each with its own reference.
		_, results[i] = f.book(p, booker(i), slots[i].ID)
	})
	booked := 0
	for i, err := range results {
		switch {
		case err == nil:
			booked++
		case !errors.Is(err, booking.ErrAlreadyBooked):
			t.Errorf("try %d: Book = %v, want a booking or ErrAlreadyBooked", i, err)
		}
	}
	if booked != 1 {
		t.Errorf("%d bookings for one patient, want 1", booked)
	}
	if active := f.bookings(booking.BookingQuery{Status: booking.StatusActive}); len(active) != 1 {
		t.Errorf("%d active bookings, want 1", len(active))
	}
	f.checkTaken("after same-patient race")
}

// testSameIdempotencyKey: one request sent many times at once books once,
// and every copy gets that booking, even when it took the slot's last place
// (capacity 1) and the copies find the slot full.
func testSameIdempotencyKey(t *testing.T, f *fixture, capacity int) {
	const tries = 8
	sl := f.slot(booking.ServiceVideo, "", at(0, 10, 0), capacity)
	req := booking.BookRequest{Patient: patient(1), Booker: booker(1), SlotID: sl.ID, ConsentAt: start, IdempotencyKey: "double-tap"}
	got := make([]booking.Booking, tries)
	errs := make([]error, tries)
	parallel(tries, func(i int) {
		got[i], errs[i] = f.svc.Book(f.ctx, req)
	})
	var first *booking.Booking
	for i := range tries {
		switch {
		case errs[i] != nil:
			t.Errorf("try %d: Book = %v, want the one booking", i, errs[i])
		case first == nil:
			first = &got[i]
		case got[i].ID != first.ID || got[i].Reference != first.Reference:
			t.Errorf("try %d: booking %d %s, want %d %s", i, got[i].ID, got[i].Reference, first.ID, first.Reference)
		}
	}
	if s := f.reload(sl); s.Taken != 1 {
		t.Errorf("taken = %d, want 1", s.Taken)
	}
	f.checkTaken("after idempotent race")
}

func testSameCancelTwice(t *testing.T, f *fixture) {
	const tries = 12
	sl := f.slot(booking.ServiceVideo, "", at(0, 10, 0), 5)
	p := patient(1)
	b := f.mustBook(p, booker(1), sl.ID)
	f.mustBook(patient(2), booker(2), sl.ID)
	got := make([]booking.Booking, tries)
	errs := make([]error, tries)
	parallel(tries, func(i int) {
		// A double tap from the booker, and a carer at the same moment.
		got[i], errs[i] = f.svc.Cancel(f.ctx, lookup(p, booker(i), sl), b.Reference)
	})
	for i := range tries {
		if errs[i] != nil || got[i].Status != booking.StatusCancelled || got[i].ID != b.ID {
			t.Errorf("try %d: Cancel = %+v, %v, want booking %d cancelled", i, got[i], errs[i], b.ID)
		}
	}
	if s := f.reload(sl); s.Taken != 1 {
		t.Errorf("taken = %d, want 1: the place is returned once", s.Taken)
	}
	f.checkTaken("after cancel race")
}

func testInterleaved(t *testing.T, f *fixture) {
	const (
		workers = 6
		rounds  = 12
	)
	var slots []booking.Slot
	for i := range 3 {
		slots = append(slots, f.slot(booking.ServiceClinic, wanChai, at(1, 10+i, 0), 2))
	}
	// Each worker books for its own patients, and cancels what it booked.
	type held struct {
		p    booking.Patient
		slot booking.Slot
		ref  booking.Reference
	}
	owned := make([][]held, workers)
	next := make([]int, workers)
	rngs := make([]*rand.Rand, workers)
	for w := range workers {
		rngs[w] = rand.New(rand.NewPCG(uint64(w), 7))
	}
	for round := range rounds {
		errs := make([]error, workers)
		parallel(workers, func(w int) {
			rng := rngs[w]
			if len(owned[w]) > 0 && rng.IntN(2) == 0 {
				i := rng.IntN(len(owned[w]))
				h := owned[w][i]
				if _, err := f.svc.Cancel(f.ctx, lookup(h.p, booker(w), h.slot), h.ref); err != nil {
					errs[w] = fmt.Errorf("cancel: %w", err)
					return
				}
				owned[w] = append(owned[w][:i], owned[w][i+1:]...)
				return
			}
			p := patient(w*1000 + next[w])
			next[w]++
			sl := slots[rng.IntN(len(slots))]
			b, err := f.book(p, booker(w), sl.ID)
			switch {
			case err == nil:
				owned[w] = append(owned[w], held{p: p, slot: sl, ref: b.Reference})
			case !errors.Is(err, booking.ErrSlotTaken):
				errs[w] = fmt.Errorf("book: %w", err)
			}
		})
		for w, err := range errs {
			if err != nil {
				t.Errorf("round %d, worker %d: %v", round, w, err)
			}
		}
		f.checkTaken(fmt.Sprintf("round %d", round))
	}
	total := 0
	for _, o := range owned {
		total += len(o)
	}
	if active := f.bookings(booking.BookingQuery{Status: booking.StatusActive}); len(active) != total {
		t.Errorf("%d active bookings, want the %d the workers hold", len(active), total)
	}
}

// guesses is how many wrong guesses race in the cool-down cases.
const guesses = 40

// countGuesses tells the checked guesses (ErrNotFound or ErrAlreadyBooked,
// per checked) from those the cool-down refused, and fails t on anything
// else.
func countGuesses(t *testing.T, what string, results []error, checked error) int {
	t.Helper()
	n := 0
	for i, err := range results {
		switch {
		case errors.Is(err, checked):
			n++
		case !errors.Is(err, booking.ErrTooManyAttempts):
			t.Errorf("%s %d = %v, want %v or a cool-down", what, i, err, checked)
		}
	}
	return n
}

// testParallelWrongGuesses races wrong dates of birth for one patient, by
// one booker and by many, through enquiry, cancel and the booking flow's
// screening: however many run at once, no more than MaxFailures are
// checked, on any number of replicas (each call is one atomic step).
func testParallelWrongGuesses(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, aberdeen, at(1, 10, 0), 5)
	maxChecked := f.svc.Rules.MaxFailures
	for _, tc := range []struct {
		name    string
		patient int
		guess   func(p booking.Patient, i int) error
		checked error
	}{
		{"EnquireOneBooker", 1, func(p booking.Patient, _ int) error {
			_, err := f.svc.Enquire(f.ctx, lookup(p, booker(1), sl))
			return err
		}, booking.ErrNotFound},
		{"EnquireManyBookers", 2, func(p booking.Patient, i int) error {
			_, err := f.svc.Enquire(f.ctx, lookup(p, booker(100+i), sl))
			return err
		}, booking.ErrNotFound},
		{"CancelManyBookers", 3, func(p booking.Patient, i int) error {
			_, err := f.svc.Cancel(f.ctx, lookup(p, booker(200+i), sl), "AAAA-BBBB")
			return err
		}, booking.ErrNotFound},
		{"ScreenManyBookers", 4, func(p booking.Patient, i int) error {
			return f.svc.Screen(f.ctx, booker(300+i), p)
		}, booking.ErrAlreadyBooked},
	} {
		p := patient(tc.patient)
		f.mustBook(p, booker(9), sl.ID)
		results := make([]error, guesses)
		parallel(guesses, func(i int) {
			wrong := p
			wrong.DateOfBirth = booking.Date{Year: 1900 + i, Month: time.January, Day: 1}
			results[i] = tc.guess(wrong, i)
		})
		if n := countGuesses(t, tc.name, results, tc.checked); n > maxChecked || n == 0 {
			t.Errorf("%s: %d of %d parallel wrong guesses checked, want 1 to %d", tc.name, n, guesses, maxChecked)
		}
		_, byPatient, err := f.store.FailedVerifications(f.ctx, booker(0), f.prot.PatientKey(p.Document), start)
		if err != nil || len(byPatient) > maxChecked {
			t.Errorf("%s: %d failed verifications recorded (%v), want at most %d", tc.name, len(byPatient), err, maxChecked)
		}
	}
}

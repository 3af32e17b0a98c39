package bookingtest

import (
	"errors"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// holdCases check holds (a place kept for a booker while they consider an
// offer, counted as taken until it lapses, with no sweeper), picking by
// day, and moving a booking to another slot.
var holdCases = []testCase{
	{"HoldCountsAsTaken", testHoldCountsAsTaken},
	{"HoldExpiresWithoutSweeper", testHoldExpires},
	{"OneHoldPerBooker", testOneHoldPerBooker},
	{"AcceptWithHoldCannotLoseThePlace", testAcceptWithHold},
	{"AcceptAfterExpiry", testAcceptAfterExpiry},
	{"DoubleAccept", testDoubleAccept},
	{"HoldRacesForLastPlace", testHoldRaceLastPlace},
	{"OfferSkipsHeldSlot", testOfferSkipsHeld},
	{"DropHoldsTidiesOnlyLapsed", testDropHolds},
	{"OpenDaysCountPlacesLeft", testOpenDays},
	{"MoveKeepsReference", testMove},
	{"MoveFailsKeepsBooking", testMoveFailsKeepsBooking},
	{"BoundToItsChat", testBound},
}

// hold holds slot for b through the Service at the clock's time.
func (f *fixture) hold(b booking.Booker, slot booking.SlotID) (booking.Slot, time.Time, error) {
	return f.svc.HoldSlot(f.ctx, b, slot)
}

// mustHold is hold that must succeed.
func (f *fixture) mustHold(b booking.Booker, slot booking.SlotID) time.Time {
	f.t.Helper()
	_, until, err := f.hold(b, slot)
	if err != nil {
		f.t.Fatalf("HoldSlot(%d) = %v, want a hold", slot, err)
	}
	return until
}

// takenAt returns the places taken of the only clinic-service count of
// clinic, as QuotaCounts says at at.
func (f *fixture) takenAt(clinic booking.ClinicID, when time.Time) int {
	f.t.Helper()
	counts, err := f.store.QuotaCounts(f.ctx, at(0, 0, 0), at(3, 0, 0), when)
	if err != nil {
		f.t.Fatalf("QuotaCounts: %v", err)
	}
	for _, c := range counts {
		if c.ClinicID == clinic {
			return c.Taken
		}
	}
	return 0
}

// open returns the IDs of the open slots of clinic at at.
func (f *fixture) open(clinic booking.ClinicID, when time.Time) []booking.SlotID {
	f.t.Helper()
	slots, err := f.store.Slots(f.ctx, booking.SlotQuery{Service: booking.ServiceClinic, ClinicID: clinic, OpenOnly: true, At: when})
	if err != nil {
		f.t.Fatalf("Slots: %v", err)
	}
	var ids []booking.SlotID
	for _, sl := range slots {
		ids = append(ids, sl.ID)
	}
	return ids
}

func testHoldCountsAsTaken(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 2)
	held, until, err := f.hold(booker(1), sl.ID)
	if err != nil {
		t.Fatalf("HoldSlot = %v", err)
	}
	if want := start.Add(f.svc.Rules.Hold); !until.Equal(want) {
		t.Errorf("hold until %v, want %v", until, want)
	}
	if held.Held != 1 || held.Taken != 0 || held.Remaining() != 1 {
		t.Errorf("held slot: taken %d, held %d, remaining %d; want 0, 1, 1", held.Taken, held.Held, held.Remaining())
	}
	now := f.clock.Now()
	if got := f.takenAt(wanChai, now); got != 1 {
		t.Errorf("QuotaCounts taken = %d with one hold, want 1", got)
	}
	f.mustHold(booker(2), sl.ID)
	if got := f.takenAt(wanChai, now); got != 2 {
		t.Errorf("QuotaCounts taken = %d with two holds, want 2", got)
	}
	if got := f.open(wanChai, now); len(got) != 0 {
		t.Errorf("open slots = %v with every place held, want none", got)
	}
	if _, _, err := f.hold(booker(3), sl.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("HoldSlot(third booker) = %v, want ErrSlotTaken", err)
	}
	if _, err := f.book(patient(3), booker(3), sl.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("Book(booker without a hold) = %v, want ErrSlotTaken", err)
	}
	if err := f.svc.Release(f.ctx, booker(1)); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := f.takenAt(wanChai, now); got != 1 {
		t.Errorf("QuotaCounts taken = %d after a release, want 1", got)
	}
	if f.reload(sl).Taken != 0 {
		t.Errorf("a hold changed the places booked")
	}
}

func testHoldExpires(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 1)
	until := f.mustHold(booker(1), sl.ID)
	if got := f.takenAt(wanChai, until.Add(-time.Microsecond)); got != 1 {
		t.Errorf("taken just before the hold lapses = %d, want 1", got)
	}
	if got := f.takenAt(wanChai, until); got != 0 {
		t.Errorf("taken when the hold lapses = %d, want 0", got)
	}
	if got := f.open(wanChai, until); len(got) != 1 {
		t.Errorf("open slots when the hold lapses = %v, want the slot", got)
	}
	f.clock.Set(until)
	// Nothing removed the lapsed hold: another booker takes the place.
	f.mustHold(booker(2), sl.ID)
	f.mustBook(patient(2), booker(2), sl.ID)
	f.checkTaken("after the lapsed hold's place was booked")
}

func testOneHoldPerBooker(t *testing.T, f *fixture) {
	a := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 1)
	b := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 15), 1)
	f.mustHold(booker(1), a.ID)
	f.mustHold(booker(1), b.ID) // a new offer gives the first place back
	now := f.clock.Now()
	if got := f.open(wanChai, now); len(got) != 1 || got[0] != a.ID {
		t.Errorf("open slots = %v, want only slot %d, given back", got, a.ID)
	}
	if got := f.takenAt(wanChai, now); got != 1 {
		t.Errorf("taken = %d, want 1: one hold per booker", got)
	}
	// Holding the same slot again renews the hold, not adds one.
	f.mustHold(booker(1), b.ID)
	if got := f.takenAt(wanChai, now); got != 1 {
		t.Errorf("taken = %d after holding the same slot again, want 1", got)
	}
	// A hold that finds no place still gives the earlier one back: a
	// booker offered nothing holds nothing.
	f.mustHold(booker(2), a.ID)
	if _, _, err := f.hold(booker(1), a.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Fatalf("HoldSlot(full slot) = %v, want ErrSlotTaken", err)
	}
	if got := f.takenAt(wanChai, now); got != 1 {
		t.Errorf("taken = %d after a hold found no place, want 1 (the other booker's)", got)
	}
}

func testAcceptWithHold(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 1)
	until := f.mustHold(booker(1), sl.ID)
	f.clock.Set(until.Add(-time.Second))
	// Everyone else is refused while the hold lives.
	for i := 2; i < 5; i++ {
		if _, err := f.book(patient(i), booker(i), sl.ID); !errors.Is(err, booking.ErrSlotTaken) {
			t.Errorf("Book(booker %d) = %v, want ErrSlotTaken", i, err)
		}
	}
	b, err := f.svc.Book(f.ctx, booking.BookRequest{Patient: patient(1), Booker: booker(1), SlotID: sl.ID,
		ConsentAt: start, HeldUntil: until})
	if err != nil {
		t.Fatalf("Book(holder) = %v, want a booking", err)
	}
	if b.Slot.Taken != 1 {
		t.Errorf("booked slot taken = %d, want 1", b.Slot.Taken)
	}
	if got := f.takenAt(wanChai, f.clock.Now()); got != 1 {
		t.Errorf("taken = %d after the hold became the booking, want 1 (no hold left)", got)
	}
	f.checkTaken("after accepting a held place")
}

func testAcceptAfterExpiry(t *testing.T, f *fixture) {
	free := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 1)
	gone := f.slot(booking.ServiceClinic, kwunTong, at(0, 10, 0), 1)
	untilFree := f.mustHold(booker(1), free.ID)
	untilGone := f.mustHold(booker(2), gone.ID)
	f.clock.Set(untilGone.Add(time.Second))
	f.mustBook(patient(3), booker(3), gone.ID) // the lapsed hold's place goes

	// A lapsed hold whose place is still free: the accept books it.
	if _, err := f.svc.Book(f.ctx, booking.BookRequest{Patient: patient(1), Booker: booker(1), SlotID: free.ID,
		ConsentAt: start, HeldUntil: untilFree}); err != nil {
		t.Errorf("Book(lapsed hold, place free) = %v, want a booking", err)
	}
	// A lapsed hold whose place went: the accept fails and says why.
	_, err := f.svc.Book(f.ctx, booking.BookRequest{Patient: patient(2), Booker: booker(2), SlotID: gone.ID,
		ConsentAt: start, HeldUntil: untilGone})
	if !errors.Is(err, booking.ErrHoldExpired) || !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("Book(lapsed hold, place gone) = %v, want ErrHoldExpired and ErrSlotTaken", err)
	}
	f.checkTaken("after accepts after expiry")
}

func testDoubleAccept(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 2)
	until := f.mustHold(booker(1), sl.ID)
	req := booking.BookRequest{Patient: patient(1), Booker: booker(1), SlotID: sl.ID, ConsentAt: start,
		HeldUntil: until, IdempotencyKey: "flow-1:slot"}
	first, err := f.svc.Book(f.ctx, req)
	if err != nil {
		t.Fatalf("Book(first accept) = %v", err)
	}
	second, err := f.svc.Book(f.ctx, req)
	if err != nil || second.ID != first.ID {
		t.Errorf("Book(accept again) = %v, %v; want booking %d again", second.ID, err, first.ID)
	}
	// Accepting again without the key (another flow) is the patient's
	// second booking, refused; the place is not taken twice.
	req.IdempotencyKey = ""
	if _, err := f.svc.Book(f.ctx, req); !errors.Is(err, booking.ErrAlreadyBooked) {
		t.Errorf("Book(accept again, new flow) = %v, want ErrAlreadyBooked", err)
	}
	if got := f.reload(sl).Taken; got != 1 {
		t.Errorf("taken = %d after a double accept, want 1", got)
	}
	if got := f.takenAt(wanChai, f.clock.Now()); got != 1 {
		t.Errorf("QuotaCounts taken = %d, want 1", got)
	}
	f.checkTaken("after a double accept")
}

func testHoldRaceLastPlace(t *testing.T, f *fixture) {
	const racers = 60
	sl := f.slot(booking.ServiceClinic, kwunTong, at(0, 10, 0), 1)
	// Half hold, half book at once: one of them gets the last place.
	errs := make([]error, racers)
	parallel(racers, func(i int) {
		if i%2 == 0 {
			_, _, errs[i] = f.hold(booker(i), sl.ID)
			return
		}
		_, errs[i] = f.book(patient(i), booker(i), sl.ID)
	})
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("racers %d and %d both got the last place", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, booking.ErrSlotTaken):
			t.Errorf("racer %d = %v, want success or ErrSlotTaken", i, err)
		}
	}
	if won < 0 {
		t.Fatalf("no racer got the last place")
	}
	if got := f.takenAt(kwunTong, f.clock.Now()); got != 1 {
		t.Errorf("taken = %d after the race, want 1", got)
	}
	if won%2 == 0 {
		// The winner held it: its accept cannot fail.
		f.mustBook(patient(won), booker(won), sl.ID)
	}
	if got := f.reload(sl).Taken; got != 1 {
		t.Errorf("places booked = %d, want 1", got)
	}
	f.checkTaken("after a hold raced bookings for the last place")
}

func testOfferSkipsHeld(t *testing.T, f *fixture) {
	first := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 1)
	second := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 15), 1)
	got, until, err := f.svc.Offer(f.ctx, booker(1), booking.ServiceClinic, wanChai)
	if err != nil || got.ID != first.ID || until.IsZero() {
		t.Fatalf("Offer(first booker) = slot %d until %v, %v; want slot %d held", got.ID, until, err, first.ID)
	}
	// The booker's own hold does not hide its place from their next offer.
	got, _, err = f.svc.Offer(f.ctx, booker(1), booking.ServiceClinic, wanChai)
	if err != nil || got.ID != first.ID {
		t.Fatalf("Offer(first booker again) = slot %d, %v; want slot %d, theirs", got.ID, err, first.ID)
	}
	got, _, err = f.svc.Offer(f.ctx, booker(2), booking.ServiceClinic, wanChai)
	if err != nil || got.ID != second.ID {
		t.Fatalf("Offer(second booker) = slot %d, %v; want slot %d: the first is held", got.ID, err, second.ID)
	}
	if _, _, err := f.svc.Offer(f.ctx, booker(3), booking.ServiceClinic, wanChai); !errors.Is(err, booking.ErrQuotaFull) {
		t.Errorf("Offer(third booker) = %v, want ErrQuotaFull", err)
	}
	f.clock.Set(until)
	got, _, err = f.svc.Offer(f.ctx, booker(3), booking.ServiceClinic, wanChai)
	if err != nil || got.ID != first.ID {
		t.Errorf("Offer(after the holds lapsed) = slot %d, %v; want slot %d", got.ID, err, first.ID)
	}
}

func testDropHolds(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 3)
	until := f.mustHold(booker(1), sl.ID)
	f.clock.Set(until.Add(-time.Minute))
	f.mustHold(booker(2), sl.ID)
	n, err := f.store.DropHolds(f.ctx, until)
	if err != nil || n != 1 {
		t.Errorf("DropHolds = %d, %v; want 1 (the lapsed hold only)", n, err)
	}
	if got := f.takenAt(wanChai, until); got != 1 {
		t.Errorf("taken = %d after tidying, want 1 (the live hold)", got)
	}
}

func testOpenDays(t *testing.T, f *fixture) {
	a := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 2)
	f.slot(booking.ServiceClinic, wanChai, at(0, 14, 0), 1)
	b := f.slot(booking.ServiceClinic, wanChai, at(1, 9, 0), 3)
	f.slot(booking.ServiceClinic, wanChai, at(3, 9, 0), 5)  // after the window
	f.slot(booking.ServiceClinic, wanChai, at(0, 9, 15), 4) // within the lead time
	f.mustHold(booker(1), a.ID)
	days, err := f.svc.OpenDays(f.ctx, booking.ServiceClinic, wanChai)
	if err != nil {
		t.Fatalf("OpenDays: %v", err)
	}
	want := []booking.DayPlaces{
		{Day: booking.DateOf(at(0, 0, 0), hk), Places: 2}, // one of the three held
		{Day: booking.DateOf(at(1, 0, 0), hk), Places: 3},
	}
	if len(days) != len(want) || days[0] != want[0] || days[1] != want[1] {
		t.Errorf("OpenDays = %v, want %v", days, want)
	}
	slots, err := f.svc.DaySlots(f.ctx, booking.ServiceClinic, wanChai, want[1].Day)
	if err != nil || len(slots) != 1 || slots[0].ID != b.ID {
		t.Errorf("DaySlots(day 1) = %v, %v; want slot %d only", slots, err, b.ID)
	}
	slots, err = f.svc.DaySlots(f.ctx, booking.ServiceClinic, wanChai, want[0].Day)
	if err != nil || len(slots) != 2 || slots[0].ID != a.ID || slots[0].Held != 1 {
		t.Errorf("DaySlots(day 0) = %+v, %v; want the 10:00 (one held) and 14:00 slots", slots, err)
	}
}

func testMove(t *testing.T, f *fixture) {
	a := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 1)
	b := f.slot(booking.ServiceClinic, kwunTong, at(1, 11, 0), 1)
	v := f.slot(booking.ServiceVideo, "", at(1, 15, 0), 2)
	p, bk := patient(1), booker(1)
	made := f.mustBook(p, bk, a.ID)
	until := f.mustHold(bk, b.ID)
	moved, err := f.svc.Move(f.ctx, lookup(p, bk, a), made.Reference, b.ID, until)
	if err != nil {
		t.Fatalf("Move(to another clinic) = %v", err)
	}
	if moved.Reference != made.Reference || moved.ID != made.ID || moved.Slot.ID != b.ID || moved.Sequence != 1 {
		t.Errorf("moved = ref %s id %d slot %d sequence %d; want ref %s id %d slot %d sequence 1",
			moved.Reference, moved.ID, moved.Slot.ID, moved.Sequence, made.Reference, made.ID, b.ID)
	}
	if f.reload(a).Taken != 0 || f.reload(b).Taken != 1 {
		t.Errorf("after the move: old slot taken %d, new %d; want 0 and 1", f.reload(a).Taken, f.reload(b).Taken)
	}
	if got := f.takenAt(kwunTong, f.clock.Now()); got != 1 {
		t.Errorf("taken at the new clinic = %d, want 1: the hold became the place", got)
	}
	records, err := f.store.Audit(f.ctx, start)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	last := records[len(records)-1]
	if last.Action != booking.AuditMove || last.Booker != bk || last.BookingID != made.ID {
		t.Errorf("last audit record = %+v, want a move by %v of booking %d", last, bk, made.ID)
	}
	// The other service, the patient being eligible: a second move.
	moved, err = f.svc.Move(f.ctx, lookup(p, bk, b), made.Reference, v.ID, time.Time{})
	if err != nil || moved.Slot.ID != v.ID || moved.Sequence != 2 {
		t.Errorf("Move(to video) = slot %d sequence %d, %v; want slot %d sequence 2", moved.Slot.ID, moved.Sequence, err, v.ID)
	}
	if _, err := f.svc.Enquire(f.ctx, lookup(p, bk, v)); err != nil {
		t.Errorf("Enquire(at the new service) = %v, want the moved booking", err)
	}
	f.checkTaken("after two moves")
}

func testMoveFailsKeepsBooking(t *testing.T, f *fixture) {
	a := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 1)
	full := f.slot(booking.ServiceClinic, wanChai, at(0, 11, 0), 1)
	p, bk := patient(1), booker(1)
	made := f.mustBook(p, bk, a.ID)
	f.mustBook(patient(2), booker(2), full.ID)
	_, err := f.svc.Move(f.ctx, lookup(p, bk, a), made.Reference, full.ID, time.Time{})
	if !errors.Is(err, booking.ErrSlotTaken) {
		t.Fatalf("Move(to a full slot) = %v, want ErrSlotTaken", err)
	}
	kept, err := f.svc.Enquire(f.ctx, lookup(p, bk, a))
	if err != nil || kept.Slot.ID != a.ID || kept.Sequence != 0 {
		t.Errorf("booking after the failed move = slot %d sequence %d, %v; want slot %d, sequence 0", kept.Slot.ID, kept.Sequence, err, a.ID)
	}
	if f.reload(a).Taken != 1 || f.reload(full).Taken != 1 {
		t.Errorf("places after the failed move: %d and %d, want 1 and 1", f.reload(a).Taken, f.reload(full).Taken)
	}
	if _, err := f.svc.Move(f.ctx, lookup(p, bk, a), made.Reference, a.ID, time.Time{}); !errors.Is(err, booking.ErrSlotUnavailable) {
		t.Errorf("Move(to its own slot) = %v, want ErrSlotUnavailable", err)
	}
	other := lookup(p, booker(3), a)
	other.DateOfBirth.Day++
	if _, err := f.svc.Move(f.ctx, other, made.Reference, full.ID, time.Time{}); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("Move(wrong date of birth) = %v, want ErrNotFound", err)
	}
	f.checkTaken("after failed moves")
}

// testBound checks a booking bound to the chat that made it: that chat
// moves (within the service) and cancels it without the patient's
// details, and no other chat can.
func testBound(t *testing.T, f *fixture) {
	a := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 1)
	b := f.slot(booking.ServiceClinic, kwunTong, at(1, 11, 0), 1)
	v := f.slot(booking.ServiceVideo, "", at(1, 15, 0), 2)
	p, bk, stranger := patient(1), booker(1), booker(2)
	made := f.mustBook(p, bk, a.ID)
	if _, err := f.svc.CancelBound(f.ctx, stranger, made.Reference); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("CancelBound(another chat) = %v, want ErrNotFound", err)
	}
	if _, err := f.svc.MoveBound(f.ctx, stranger, made.Reference, b.ID, time.Time{}); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("MoveBound(another chat) = %v, want ErrNotFound", err)
	}
	if _, err := f.svc.MoveBound(f.ctx, bk, made.Reference, v.ID, time.Time{}); !errors.Is(err, booking.ErrSlotUnavailable) {
		t.Errorf("MoveBound(to the other service) = %v, want ErrSlotUnavailable", err)
	}
	moved, err := f.svc.MoveBound(f.ctx, bk, made.Reference, b.ID, time.Time{})
	if err != nil || moved.Slot.ID != b.ID || moved.Sequence != 1 || moved.Reference != made.Reference {
		t.Fatalf("MoveBound(by its chat) = slot %d sequence %d ref %s, %v; want slot %d, 1, %s", moved.Slot.ID, moved.Sequence, moved.Reference, err, b.ID, made.Reference)
	}
	cancelled, err := f.svc.CancelBound(f.ctx, bk, made.Reference)
	if err != nil || cancelled.Status != booking.StatusCancelled {
		t.Fatalf("CancelBound(by its chat) = %s, %v; want cancelled", cancelled.Status, err)
	}
	if f.reload(a).Taken != 0 || f.reload(b).Taken != 0 {
		t.Errorf("places taken after the bound cancel: %d and %d, want 0 and 0", f.reload(a).Taken, f.reload(b).Taken)
	}
	records, err := f.store.Audit(f.ctx, start)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	var key booking.PatientKey
	got := map[booking.AuditAction]int{}
	for _, r := range records {
		switch {
		case r.Action == booking.AuditBook:
			key = r.Patient
		case r.Action == booking.AuditVerifyFailed && r.Patient != "":
			t.Errorf("a failed bound check names patient %q: a chat that did not book learns nothing to name", r.Patient)
		case (r.Action == booking.AuditMove || r.Action == booking.AuditCancel) && (r.Patient != key || r.Booker != bk):
			t.Errorf("%s record = %+v, want booker %v and the booking's patient key", r.Action, r, bk)
		}
		got[r.Action]++
	}
	if got[booking.AuditVerifyFailed] != 2 || got[booking.AuditMove] != 1 || got[booking.AuditCancel] != 1 {
		t.Errorf("audit actions = %v, want 2 failed checks, 1 move, 1 cancel", got)
	}
	f.checkTaken("after bound changes")
}

package bookingtest

import (
	"errors"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
)

// serviceCases check the booking rules through booking.Service.
var serviceCases = []testCase{
	{"QuotaLevels", testQuotaLevels},
	{"EarliestSlotRespectsLeadAndWindow", testEarliestSlot},
	{"WindowEndsOnHongKongDays", testWindowHongKongDays},
	{"OpenSlotsPages", testOpenSlotsPages},
	{"VideoEligibility", testVideoEligibility},
	{"BookClaimsOnePlace", testBookClaims},
	{"BookRefusals", testBookRefusals},
	{"BookFullSlot", testBookFullSlot},
	{"OneActiveBookingPerPatient", testOneActiveBooking},
	{"PastBookingDoesNotBlock", testPastBookingDoesNotBlock},
	{"IdempotencyKey", testIdempotencyKey},
	{"IdempotencyKeyLastPlace", testIdempotencyKeyLastPlace},
	{"ReferencesUniqueAndNotSequential", testReferences},
	{"BookerLimits", testBookerLimits},
}

func testQuotaLevels(t *testing.T, f *fixture) {
	// Aberdeen: 10 places, none taken: available.
	f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 10)
	// Wan Chai: 10 places, 9 taken: 1 left is below 20%: limited.
	wc := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), 10)
	// Kwun Tong: 2 places, both taken: full.
	kt := f.slot(booking.ServiceClinic, kwunTong, at(2, 23, 45), 2)
	// Video: 5 places, 1 taken: 80% left, available.
	v := f.slot(booking.ServiceVideo, "", at(0, 9, 30), 5)
	// Outside the window, and so not counted: too soon, and day 4.
	f.slot(booking.ServiceClinic, tuenMun, at(0, 9, 15), 50)
	f.slot(booking.ServiceVideo, "", at(3, 0, 0), 50)

	n := 0
	take := func(sl booking.Slot, places int) {
		for range places {
			n++
			f.mustBook(patient(n), booker(n), sl.ID)
		}
	}
	take(wc, 9)
	take(kt, 2)
	take(v, 1)

	got, err := f.svc.Quota(f.ctx)
	if err != nil {
		t.Fatalf("Quota: %v", err)
	}
	want := booking.Quota{
		Clinic: booking.QuotaStatus{Level: booking.QuotaAvailable, Remaining: 11, Capacity: 22},
		Video:  booking.QuotaStatus{Level: booking.QuotaAvailable, Remaining: 4, Capacity: 5},
		Clinics: map[booking.ClinicID]booking.QuotaStatus{
			aberdeen: {Level: booking.QuotaAvailable, Remaining: 10, Capacity: 10},
			wanChai:  {Level: booking.QuotaLimited, Remaining: 1, Capacity: 10},
			kwunTong: {Level: booking.QuotaFull, Remaining: 0, Capacity: 2},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Quota mismatch (-want +got):\n%s", diff)
	}
	for _, c := range []booking.ClinicID{aberdeen, wanChai} {
		if !got.Clinics[c].Bookable() {
			t.Errorf("clinic %s not bookable", c)
		}
	}
	if got.Clinics[kwunTong].Bookable() {
		t.Errorf("full clinic %s bookable", kwunTong)
	}
	if _, err := f.svc.EarliestSlot(f.ctx, booking.ServiceClinic, kwunTong); !errors.Is(err, booking.ErrQuotaFull) {
		t.Errorf("EarliestSlot(full clinic) = %v, want ErrQuotaFull", err)
	}
	if _, err := f.svc.EarliestSlot(f.ctx, booking.ServiceClinic, tuenMun); !errors.Is(err, booking.ErrQuotaFull) {
		t.Errorf("EarliestSlot(clinic with only a slot too soon) = %v, want ErrQuotaFull", err)
	}
}

func testEarliestSlot(t *testing.T, f *fixture) {
	f.slot(booking.ServiceVideo, "", at(0, 9, 15), 5) // starts within the lead time
	full := f.slot(booking.ServiceVideo, "", at(0, 9, 30), 1)
	open := f.slot(booking.ServiceVideo, "", at(0, 9, 45), 1)
	f.slot(booking.ServiceVideo, "", at(1, 9, 0), 1)
	f.slot(booking.ServiceClinic, aberdeen, at(0, 9, 30), 1) // another service

	// 09:30 is exactly now + 30 minutes: offered.
	got, err := f.svc.EarliestSlot(f.ctx, booking.ServiceVideo, "")
	if err != nil || got.ID != full.ID {
		t.Fatalf("EarliestSlot = %+v, %v, want the 09:30 slot %d", got, err, full.ID)
	}
	f.mustBook(patient(1), booker(1), full.ID)
	got, err = f.svc.EarliestSlot(f.ctx, booking.ServiceVideo, "")
	if err != nil || got.ID != open.ID {
		t.Errorf("EarliestSlot(09:30 full) = %+v, %v, want the 09:45 slot %d", got, err, open.ID)
	}
	// At 09:16 the 09:45 slot starts within the lead time.
	f.clock.Set(at(0, 9, 16))
	got, err = f.svc.EarliestSlot(f.ctx, booking.ServiceVideo, "")
	if err != nil || !got.Start.Equal(at(1, 9, 0)) {
		t.Errorf("EarliestSlot(at 09:16) = %+v, %v, want tomorrow 09:00", got, err)
	}
	if _, err := f.svc.EarliestSlot(f.ctx, "dental", ""); !isValidation(err, "service") {
		t.Errorf("EarliestSlot(unknown service) = %v, want a *ValidationError for service", err)
	}
	if _, err := f.svc.EarliestSlot(f.ctx, booking.ServiceClinic, ""); !isValidation(err, "clinic") {
		t.Errorf("EarliestSlot(clinic service, no clinic) = %v, want a *ValidationError for clinic", err)
	}
}

func testWindowHongKongDays(t *testing.T, f *fixture) {
	// Late on Monday in Hong Kong (still Monday afternoon in UTC) the window
	// runs to the end of Wednesday, Hong Kong time.
	f.clock.Set(at(0, 23, 0))
	last := f.slot(booking.ServiceClinic, aberdeen, at(2, 23, 45), 1)
	f.slot(booking.ServiceClinic, aberdeen, at(3, 0, 0), 1)
	from, to := f.svc.Window()
	if !from.Equal(at(0, 23, 30)) || !to.Equal(at(3, 0, 0)) {
		t.Errorf("Window() = %v, %v, want %v, %v", from, to, at(0, 23, 30), at(3, 0, 0))
	}
	slots, more, err := f.svc.OpenSlots(f.ctx, booking.ServiceClinic, aberdeen, 0, 10)
	if err != nil || more || len(slots) != 1 || slots[0].ID != last.ID {
		t.Errorf("OpenSlots = %+v, %v, %v, want only Wednesday 23:45", slots, more, err)
	}
	// At midnight starting Tuesday in Hong Kong, Thursday joins the window.
	f.clock.Set(at(1, 0, 0))
	slots, _, err = f.svc.OpenSlots(f.ctx, booking.ServiceClinic, aberdeen, 0, 10)
	if err != nil || len(slots) != 2 {
		t.Errorf("OpenSlots(Tuesday 00:00) = %d slots, %v, want 2", len(slots), err)
	}
	// A slot outside the window is refused even by ID.
	f.clock.Set(at(0, 23, 0))
	if _, err := f.book(patient(1), booker(1), f.find(booking.ServiceClinic, aberdeen, at(3, 0, 0)).ID); !errors.Is(err, booking.ErrSlotUnavailable) {
		t.Errorf("Book(slot after the window) = %v, want ErrSlotUnavailable", err)
	}
}

func testOpenSlotsPages(t *testing.T, f *fixture) {
	var want []booking.Slot
	for i, h := range []int{10, 11, 12, 13, 14, 15} {
		sl := f.slot(booking.ServiceClinic, wanChai, at(0, h, 0), 1)
		if i == 2 {
			f.mustBook(patient(1), booker(1), sl.ID) // full: not offered
			continue
		}
		want = append(want, sl)
	}
	f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 30), 1) // another clinic

	var got []booking.Slot
	for page := 0; ; page++ {
		slots, more, err := f.svc.OpenSlots(f.ctx, booking.ServiceClinic, wanChai, page, 2)
		if err != nil {
			t.Fatalf("OpenSlots(page %d): %v", page, err)
		}
		if wantLen := min(2, len(want)-2*page); len(slots) != wantLen {
			t.Errorf("OpenSlots(page %d) = %d slots, want %d", page, len(slots), wantLen)
		}
		got = append(got, slots...)
		if !more {
			if page != 2 {
				t.Errorf("last page = %d, want 2", page)
			}
			break
		}
		if page > 5 {
			t.Fatalf("OpenSlots never says no more")
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OpenSlots pages (-want +got):\n%s", diff)
	}
	if _, _, err := f.svc.OpenSlots(f.ctx, booking.ServiceClinic, wanChai, 0, 0); !isValidation(err, "page") {
		t.Errorf("OpenSlots(perPage 0) = %v, want a *ValidationError for page", err)
	}
	if _, _, err := f.svc.OpenSlots(f.ctx, booking.ServiceClinic, wanChai, -1, 2); !isValidation(err, "page") {
		t.Errorf("OpenSlots(page -1) = %v, want a *ValidationError for page", err)
	}
}

func testVideoEligibility(t *testing.T, f *fixture) {
	// Wednesday 12 March 00:30 in Hong Kong is still Tuesday in UTC: the
	// Hong Kong date decides the age.
	sl := f.slot(booking.ServiceVideo, "", at(2, 0, 30), 20)
	passport := patient(1)
	passport.Document = booking.Document{Type: booking.DocumentOther, Number: "E12345678"}

	tests := []struct {
		name    string
		doc     booking.Document
		dob     booking.Date
		wantErr booking.Reason // empty: eligible
	}{
		{"AdultHKID", hkid("A123456"), booking.Date{Year: 1980, Month: time.May, Day: 17}, ""},
		{"PassportHolder", passport.Document, booking.Date{Year: 1980, Month: time.May, Day: 17}, booking.ReasonDocumentType},
		{"Seventeen", hkid("B123456"), booking.Date{Year: 2007, Month: time.March, Day: 13}, booking.ReasonAge},
		{"EighteenOnSlotDate", hkid("C123456"), booking.Date{Year: 2007, Month: time.March, Day: 12}, ""},
		{"LeapDayBirthday", hkid("D123456"), booking.Date{Year: 2008, Month: time.February, Day: 29}, booking.ReasonAge},
	}
	for i, tc := range tests {
		p := patient(10 + i)
		p.Document, p.DateOfBirth = tc.doc, tc.dob
		before := f.reload(sl).Taken
		_, err := f.book(p, booker(i), sl.ID)
		var ee *booking.EligibilityError
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Book(%s) = %v, want a booking", tc.name, err)
		case tc.wantErr != "" && (!errors.As(err, &ee) || ee.Reason != tc.wantErr || ee.Service != booking.ServiceVideo || !errors.Is(err, booking.ErrNotEligible)):
			t.Errorf("Book(%s) = %v, want *EligibilityError{video, %s}", tc.name, err, tc.wantErr)
		case tc.wantErr != "":
			if after := f.reload(sl).Taken; after != before {
				t.Errorf("Book(%s) refused but taken went %d -> %d", tc.name, before, after)
			}
		}
	}
	// The passport holder may still book a clinic.
	cl := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 1)
	if _, err := f.book(passport, booker(99), cl.ID); err != nil {
		t.Errorf("Book(passport holder at a clinic) = %v", err)
	}
}

func testBookClaims(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, kwunTong, at(0, 10, 0), 3)
	consent := start.Add(-2 * time.Minute)
	f.clock.Set(start.Add(3 * time.Second))
	p := patient(1)
	got, err := f.svc.Book(f.ctx, booking.BookRequest{Patient: p, Booker: booker(1), SlotID: sl.ID, ConsentAt: consent})
	if err != nil {
		t.Fatalf("Book: %v", err)
	}
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`).MatchString(string(got.Reference)) {
		t.Errorf("Reference = %q, want XXXX-XXXX in Crockford base32", got.Reference)
	}
	wantSlot := sl
	wantSlot.Taken = 1
	want := booking.Booking{
		ID:            got.ID,
		Reference:     got.Reference,
		Slot:          wantSlot,
		PatientMasked: p.Document.Masked(),
		DocumentType:  booking.DocumentHKID,
		Booker:        booker(1),
		Status:        booking.StatusActive,
		ConsentAt:     consent,
		CreatedAt:     start.Add(3 * time.Second),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Book mismatch (-want +got):\n%s", diff)
	}
	if got := f.reload(sl); got.Taken != 1 {
		t.Errorf("taken = %d, want 1", got.Taken)
	}
	found, err := f.svc.Enquire(f.ctx, lookup(p, booker(1), sl))
	if err != nil {
		t.Fatalf("Enquire: %v", err)
	}
	if diff := cmp.Diff(want, found); diff != "" {
		t.Errorf("Enquire mismatch (-want +got):\n%s", diff)
	}
}

func testBookRefusals(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, kwunTong, at(0, 10, 0), 3)
	soon := f.slot(booking.ServiceClinic, kwunTong, at(0, 9, 15), 3)
	if _, err := f.svc.Book(f.ctx, booking.BookRequest{Patient: patient(1), Booker: booker(1), SlotID: sl.ID}); !isValidation(err, "consent") {
		t.Errorf("Book(no consent) = %v, want a *ValidationError for consent", err)
	}
	if _, err := f.book(patient(1), booker(1), 999999); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("Book(unknown slot) = %v, want ErrNotFound", err)
	}
	if _, err := f.book(patient(1), booker(1), soon.ID); !errors.Is(err, booking.ErrSlotUnavailable) {
		t.Errorf("Book(slot within lead time) = %v, want ErrSlotUnavailable", err)
	}
	for _, s := range []booking.Slot{sl, soon} {
		if got := f.reload(s); got.Taken != 0 {
			t.Errorf("slot %d taken %d after refusals, want 0", s.ID, got.Taken)
		}
	}
	if bs := f.bookings(booking.BookingQuery{}); len(bs) != 0 {
		t.Errorf("%d bookings after refusals, want 0", len(bs))
	}
}

func testBookFullSlot(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceVideo, "", at(0, 10, 0), 2)
	f.mustBook(patient(1), booker(1), sl.ID)
	f.mustBook(patient(2), booker(2), sl.ID)
	if _, err := f.book(patient(3), booker(3), sl.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("Book(full slot) = %v, want ErrSlotTaken", err)
	}
	if got := f.reload(sl); got.Taken != 2 || got.Remaining() != 0 {
		t.Errorf("full slot = %+v, want taken 2", got)
	}
	f.checkTaken("full slot")
}

func testOneActiveBooking(t *testing.T, f *fixture) {
	first := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 5)
	second := f.slot(booking.ServiceVideo, "", at(1, 10, 0), 5)
	p := patient(1)
	b := f.mustBook(p, booker(1), first.ID)

	// Another booker learns that a booking exists, nothing about it, and
	// the same whether the date of birth was right or not: no oracle.
	_, right := f.book(p, booker(2), second.ID)
	wrong := p
	wrong.DateOfBirth = booking.Date{Year: 1981, Month: time.May, Day: 17}
	_, bad := f.book(wrong, booker(3), second.ID)
	for _, err := range []error{right, bad} {
		if !errors.Is(err, booking.ErrAlreadyBooked) {
			t.Fatalf("Book(second for patient) = %v, want ErrAlreadyBooked", err)
		}
	}
	if right.Error() != bad.Error() {
		t.Errorf("Book(right DOB) = %q, Book(wrong DOB) = %q: want the same", right, bad)
	}
	// The wrong date of birth was a failed verification; the right one not.
	byRight, _, err := f.store.FailedVerifications(f.ctx, booker(2), "", start)
	if err != nil || len(byRight) != 0 {
		t.Errorf("failures by the booker with the right DOB = %v, %v, want none", byRight, err)
	}
	byWrong, _, err := f.store.FailedVerifications(f.ctx, booker(3), "", start)
	if err != nil || len(byWrong) != 1 {
		t.Errorf("failures by the booker with a wrong DOB = %v, %v, want 1", byWrong, err)
	}
	if got := f.reload(second); got.Taken != 0 {
		t.Errorf("refused bookings took %d places", got.Taken)
	}
	// Once cancelled, the patient may book again.
	if _, err := f.svc.Cancel(f.ctx, lookup(p, booker(1), first), b.Reference); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	f.mustBook(p, booker(2), second.ID)
	f.checkTaken("after rebooking")
}

func testPastBookingDoesNotBlock(t *testing.T, f *fixture) {
	early := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 5)
	later := f.slot(booking.ServiceClinic, aberdeen, at(0, 16, 0), 5)
	p := patient(1)
	first := f.mustBook(p, booker(1), early.ID)
	f.clock.Set(at(0, 10, 20)) // the first appointment is over
	if err := f.svc.Screen(f.ctx, booker(1), p); err != nil {
		t.Errorf("Screen(after the appointment) = %v, want nil", err)
	}
	second, err := f.book(p, booker(1), later.ID)
	if err != nil {
		t.Fatalf("Book(after the first appointment) = %v", err)
	}
	bs := f.bookings(booking.BookingQuery{})
	if len(bs) != 2 || bs[0].ID != first.ID || bs[0].Status != booking.StatusCompleted || bs[1].ID != second.ID || bs[1].Status != booking.StatusActive {
		t.Errorf("bookings = %+v, want the first completed and the second active", bs)
	}
}

// testIdempotencyKeyLastPlace: a replay finds its booking when that
// booking took the slot's last place, though the slot is full by then.
func testIdempotencyKeyLastPlace(t *testing.T, f *fixture) {
	last := f.slot(booking.ServiceClinic, tuenMun, at(0, 11, 0), 1)
	req := booking.BookRequest{Patient: patient(2), Booker: booker(2), SlotID: last.ID, ConsentAt: start, IdempotencyKey: "telegram:100002:update-7"}
	filled, err := f.svc.Book(f.ctx, req)
	if err != nil {
		t.Fatalf("Book(the last place): %v", err)
	}
	if again, err := f.svc.Book(f.ctx, req); err != nil || again.ID != filled.ID {
		t.Errorf("Book(replay on the slot it filled) = %+v, %v, want booking %d", again, err, filled.ID)
	}
	other := booking.BookRequest{Patient: patient(3), Booker: booker(3), SlotID: last.ID, ConsentAt: start, IdempotencyKey: "telegram:100003:update-1"}
	if _, err := f.svc.Book(f.ctx, other); !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("Book(another request, slot full) = %v, want ErrSlotTaken", err)
	}
	if got := f.reload(last); got.Taken != 1 {
		t.Errorf("taken = %d, want 1", got.Taken)
	}
}

func testIdempotencyKey(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, tuenMun, at(0, 10, 0), 5)
	req := booking.BookRequest{Patient: patient(1), Booker: booker(1), SlotID: sl.ID, ConsentAt: start, IdempotencyKey: "telegram:100001:update-42"}
	first, err := f.svc.Book(f.ctx, req)
	if err != nil {
		t.Fatalf("Book: %v", err)
	}
	f.clock.Advance(time.Minute)
	again, err := f.svc.Book(f.ctx, req)
	if err != nil {
		t.Fatalf("Book(replay) = %v", err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("replay returned another booking (-want +got):\n%s", diff)
	}
	// Even after the slot left the window, the replay finds its booking.
	f.clock.Set(at(0, 9, 45))
	again, err = f.svc.Book(f.ctx, req)
	if err != nil || again.ID != first.ID {
		t.Errorf("Book(replay after the window moved) = %+v, %v, want booking %d", again, err, first.ID)
	}
	if got := f.reload(sl); got.Taken != 1 {
		t.Errorf("taken after replays = %d, want 1", got.Taken)
	}
	records, err := f.store.Audit(f.ctx, time.Time{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if len(records) != 1 || records[0].Action != booking.AuditBook {
		t.Errorf("Audit after replays = %+v, want one book record", records)
	}
	// A new key outside the window is refused.
	req.IdempotencyKey = "telegram:100001:update-43"
	req.Patient = patient(2)
	if _, err := f.svc.Book(f.ctx, req); !errors.Is(err, booking.ErrSlotUnavailable) {
		t.Errorf("Book(new key, slot too soon) = %v, want ErrSlotUnavailable", err)
	}
}

func testReferences(t *testing.T, f *fixture) {
	const n = 40
	sl := f.slot(booking.ServiceVideo, "", at(1, 10, 0), n)
	var refs []string
	seen := map[booking.Reference]bool{}
	for i := range n {
		b := f.mustBook(patient(i), booker(i), sl.ID)
		if seen[b.Reference] {
			t.Errorf("reference %s given twice", b.Reference)
		}
		seen[b.Reference] = true
		refs = append(refs, string(b.Reference))
	}
	if sort.StringsAreSorted(refs) {
		t.Errorf("references in booking order are sorted: %v", refs)
	}
	// Consecutive references share no more of a prefix than chance allows.
	samePrefix := 0
	for i := 1; i < len(refs); i++ {
		if refs[i][:4] == refs[i-1][:4] {
			samePrefix++
		}
	}
	if samePrefix > 1 {
		t.Errorf("%d of %d consecutive references share their first half: %v", samePrefix, n-1, refs)
	}
}

func testBookerLimits(t *testing.T, f *fixture) {
	f.svc.Rules.MaxActivePerBooker, f.svc.Rules.MaxPatientsPerHour = 2, 3
	sl := f.slot(booking.ServiceClinic, aberdeen, at(1, 10, 0), 10)
	me := booker(1)
	wantLimit := func(what string, err error, kind booking.LimitKind, until time.Time) {
		t.Helper()
		var le *booking.LimitError
		if !errors.As(err, &le) || !errors.Is(err, booking.ErrBookerLimit) || le.Limit != kind || !le.Until.Equal(until) {
			t.Errorf("%s = %v, want *LimitError %s until %v", what, err, kind, until)
		}
	}
	screen := func(i int, when time.Time) error {
		f.clock.Set(when)
		return f.svc.Screen(f.ctx, me, patient(i))
	}
	// Three patients looked up within the hour; a fourth is refused until
	// the first look-up is an hour old, a patient seen before is not.
	for i, when := range []time.Time{at(0, 9, 0), at(0, 9, 10), at(0, 9, 20)} {
		if err := screen(i+1, when); err != nil {
			t.Fatalf("Screen(patient %d) = %v", i+1, err)
		}
	}
	wantLimit("Screen(a fourth patient)", screen(4, at(0, 9, 30)), booking.LimitPatients, at(0, 10, 0))
	_, err := f.svc.BookerLimit(f.ctx, me)
	wantLimit("BookerLimit(after three patients)", err, booking.LimitPatients, at(0, 10, 0))
	if err := screen(2, at(0, 9, 31)); err != nil {
		t.Errorf("Screen(a patient looked up before) = %v, want nil", err)
	}
	if room, err := f.svc.BookerLimit(f.ctx, booker(2)); err != nil || room != 3 {
		t.Errorf("BookerLimit(another booker) = %d, %v, want room for 3", room, err)
	}
	if err := screen(4, at(0, 10, 0)); err != nil {
		t.Errorf("Screen(a fourth patient, an hour later) = %v, want nil", err)
	}
	// Two active bookings: no further patient, not even a known one.
	f.mustBook(patient(1), me, sl.ID)
	f.mustBook(patient(2), me, sl.ID)
	_, err = f.svc.BookerLimit(f.ctx, me)
	wantLimit("BookerLimit(two active)", err, booking.LimitActive, time.Time{})
	wantLimit("Screen(two active)", screen(3, at(0, 10, 1)), booking.LimitActive, time.Time{})
	// A booking that ends no longer counts.
	f.clock.Set(at(1, 10, 15))
	if room, err := f.svc.BookerLimit(f.ctx, me); err != nil || room != 3 {
		t.Errorf("BookerLimit(bookings ended, look-ups an hour old) = %d, %v, want room for 3", room, err)
	}
}

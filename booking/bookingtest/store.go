package bookingtest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clinicbot/clinicbot/booking"
)

// storeCases call Store methods directly, checking the contract itself.
var storeCases = []testCase{
	{"ClinicsOrderedByRegionThenID", testClinicsOrder},
	{"SaveClinicsUpdatesByID", testSaveClinicsUpdates},
	{"SaveSlotsIsIdempotent", testSaveSlotsIdempotent},
	{"SaveSlotsRefusesCapacityBelowTaken", testSaveSlotsCapacityBelowTaken},
	{"SaveSlotsRefusesUnknownClinic", testSaveSlotsUnknownClinic},
	{"SaveSlotsRefusesWhatSlotValidateRefuses", testSaveSlotsValidate},
	{"SlotNotFound", testSlotNotFound},
	{"SlotsFilters", testSlotsFilters},
	{"QuotaCounts", testQuotaCounts},
	{"BookRecordsEverything", testStoreBook},
	{"BookRefusesUsedReference", testStoreBookReferenceConflict},
	{"BookUnknownSlot", testStoreBookUnknownSlot},
	{"BookCompletesEndedBookings", testStoreBookCompletesEnded},
	{"Screen", testScreen},
	{"BookingsFilters", testBookingsFilters},
	{"Complete", testComplete},
	{"Purge", testPurge},
	{"FailedVerifications", testFailedVerifications},
	{"BindKeyRecordsTheFirstKeyOnly", testBindKey},
	{"BindKeyConcurrent", testBindKeyConcurrent},
	{"PingClose", testPingClose},
}

func testClinicsOrder(t *testing.T, f *fixture) {
	got, err := f.store.Clinics(f.ctx)
	if err != nil {
		t.Fatalf("Clinics: %v", err)
	}
	byID := make(map[booking.ClinicID]booking.Clinic)
	for _, c := range testClinics {
		byID[c.ID] = c
	}
	want := []booking.Clinic{byID[aberdeen], byID[wanChai], byID[kwunTong], byID[tuenMun]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Clinics mismatch (-want +got):\n%s", diff)
	}

	hkOnly, err := f.svc.Clinics(f.ctx, booking.RegionHongKong)
	if err != nil {
		t.Fatalf("Service.Clinics: %v", err)
	}
	if diff := cmp.Diff(want[:2], hkOnly); diff != "" {
		t.Errorf("Service.Clinics(hk) mismatch (-want +got):\n%s", diff)
	}
	if _, err := f.svc.Clinic(f.ctx, "nowhere"); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("Service.Clinic(nowhere) = %v, want ErrNotFound", err)
	}
}

func testSaveClinicsUpdates(t *testing.T, f *fixture) {
	changed := testClinics[0]
	changed.Name.En = "Renamed Clinic"
	changed.Location = booking.Coordinates{}
	changed.Region = booking.RegionNewTerritories
	if err := f.store.SaveClinics(f.ctx, []booking.Clinic{changed}); err != nil {
		t.Fatalf("SaveClinics: %v", err)
	}
	if err := f.store.SaveClinics(f.ctx, []booking.Clinic{testClinics[1], {ID: "bad-region", Region: "mars"}}); !isValidation(err, "region") {
		t.Errorf("SaveClinics(bad region) = %v, want a *ValidationError for region", err)
	}
	got, err := f.store.Clinics(f.ctx)
	if err != nil {
		t.Fatalf("Clinics: %v", err)
	}
	ids := make([]booking.ClinicID, len(got))
	for i, c := range got {
		ids[i] = c.ID
		if c.ID == changed.ID {
			if diff := cmp.Diff(changed, c); diff != "" {
				t.Errorf("updated clinic mismatch (-want +got):\n%s", diff)
			}
		}
	}
	want := []booking.ClinicID{aberdeen, wanChai, kwunTong, tuenMun}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("clinic IDs after update (-want +got):\n%s", diff)
	}
}

// importBatch is a schedule as an operator imports it.
func importBatch() []booking.Slot {
	var out []booking.Slot
	for _, h := range []int{10, 11} {
		out = append(out,
			booking.Slot{Service: booking.ServiceClinic, ClinicID: aberdeen, Start: at(0, h, 0), End: at(0, h, 15), Capacity: 2},
			booking.Slot{Service: booking.ServiceClinic, ClinicID: kwunTong, Start: at(0, h, 0), End: at(0, h, 15), Capacity: 2},
			booking.Slot{Service: booking.ServiceVideo, Start: at(0, h, 0), End: at(0, h, 15), Capacity: 3},
		)
	}
	return out
}

func testSaveSlotsIdempotent(t *testing.T, f *fixture) {
	batch := importBatch()
	saved, err := f.store.SaveSlots(f.ctx, batch)
	if want := (booking.SlotsSaved{Added: len(batch)}); err != nil || saved != want {
		t.Fatalf("SaveSlots(first import) = %+v, %v, want %+v, nil", saved, err, want)
	}
	video := f.find(booking.ServiceVideo, "", at(0, 10, 0))
	f.mustBook(patient(1), booker(1), video.ID)

	// The same file again changes nothing, and says so.
	saved, err = f.store.SaveSlots(f.ctx, batch)
	if want := (booking.SlotsSaved{Unchanged: len(batch)}); err != nil || saved != want {
		t.Fatalf("SaveSlots(identical re-import) = %+v, %v, want %+v, nil", saved, err, want)
	}

	// Re-import the same schedule with the video slot made longer and larger.
	batch[2].End = at(0, 10, 30)
	batch[2].Capacity = 5
	saved, err = f.store.SaveSlots(f.ctx, batch)
	if want := (booking.SlotsSaved{Updated: 1, Unchanged: len(batch) - 1}); err != nil || saved != want {
		t.Fatalf("SaveSlots(re-import) = %+v, %v, want %+v, nil", saved, err, want)
	}
	all, err := f.store.Slots(f.ctx, booking.SlotQuery{})
	if err != nil {
		t.Fatalf("Slots: %v", err)
	}
	if len(all) != len(batch) {
		t.Errorf("after re-import %d slots, want %d", len(all), len(batch))
	}
	want := video
	want.End, want.Capacity, want.Taken = at(0, 10, 30), 5, 1
	if diff := cmp.Diff(want, f.reload(video)); diff != "" {
		t.Errorf("re-imported video slot (-want +got):\n%s", diff)
	}
}

func testSaveSlotsCapacityBelowTaken(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 3)
	f.mustBook(patient(1), booker(1), sl.ID)
	f.mustBook(patient(2), booker(2), sl.ID)

	batch := []booking.Slot{
		{Service: booking.ServiceClinic, ClinicID: wanChai, Start: at(0, 10, 0), End: at(0, 10, 15), Capacity: 4},
		{Service: booking.ServiceClinic, ClinicID: aberdeen, Start: at(0, 10, 0), End: at(0, 10, 20), Capacity: 1},
	}
	saved, err := f.store.SaveSlots(f.ctx, batch)
	if !isValidation(err, "capacity") {
		t.Fatalf("SaveSlots(capacity 1 below 2 taken) = %+v, %v, want a *ValidationError for capacity", saved, err)
	}
	if got := f.reload(sl); got.Capacity != 3 || got.Taken != 2 || !got.End.Equal(sl.End) {
		t.Errorf("slot after refused import = %+v, want unchanged %+v", got, sl)
	}
	if slots, err := f.store.Slots(f.ctx, booking.SlotQuery{ClinicID: wanChai}); err != nil || len(slots) != 0 {
		t.Errorf("Slots(wan-chai) after refused import = %v, %v, want none: all or none", slots, err)
	}

	// Down to exactly the places taken is fine.
	batch[1].Capacity = 2
	if saved, err := f.store.SaveSlots(f.ctx, batch); err != nil || saved != (booking.SlotsSaved{Added: 1, Updated: 1}) {
		t.Errorf("SaveSlots(capacity = taken) = %+v, %v, want 1 added, 1 updated", saved, err)
	}
	if got := f.reload(sl); got.Capacity != 2 || got.Taken != 2 || got.Remaining() != 0 {
		t.Errorf("slot with capacity lowered to taken = %+v", got)
	}
}

func testSaveSlotsUnknownClinic(t *testing.T, f *fixture) {
	batch := []booking.Slot{
		{Service: booking.ServiceClinic, ClinicID: aberdeen, Start: at(0, 10, 0), End: at(0, 10, 15), Capacity: 1},
		{Service: booking.ServiceClinic, ClinicID: "nowhere", Start: at(0, 10, 0), End: at(0, 10, 15), Capacity: 1},
	}
	if _, err := f.store.SaveSlots(f.ctx, batch); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("SaveSlots(unknown clinic) = %v, want ErrNotFound", err)
	}
	bad := []struct {
		name  string
		slot  booking.Slot
		field string
	}{
		{"NoService", booking.Slot{ClinicID: aberdeen, Start: at(0, 10, 0), End: at(0, 10, 15), Capacity: 1}, "service"},
		{"ClinicWithoutID", booking.Slot{Service: booking.ServiceClinic, Start: at(0, 10, 0), End: at(0, 10, 15), Capacity: 1}, "clinic"},
		{"VideoWithClinic", booking.Slot{Service: booking.ServiceVideo, ClinicID: aberdeen, Start: at(0, 10, 0), End: at(0, 10, 15), Capacity: 1}, "clinic"},
		{"EndBeforeStart", booking.Slot{Service: booking.ServiceVideo, Start: at(0, 10, 0), End: at(0, 9, 45), Capacity: 1}, "end"},
		{"NegativeCapacity", booking.Slot{Service: booking.ServiceVideo, Start: at(0, 10, 0), End: at(0, 10, 15), Capacity: -1}, "capacity"},
	}
	for _, tc := range bad {
		if _, err := f.store.SaveSlots(f.ctx, []booking.Slot{batch[0], tc.slot}); !isValidation(err, tc.field) {
			t.Errorf("SaveSlots(%s) = %v, want a *ValidationError for %s", tc.name, err, tc.field)
		}
	}
	if slots, err := f.store.Slots(f.ctx, booking.SlotQuery{}); err != nil || len(slots) != 0 {
		t.Errorf("Slots after refused imports = %v, %v, want none", slots, err)
	}
}

// testSaveSlotsValidate holds a store to Slot.Validate: a slot it refuses
// fails the whole call with a *booking.ValidationError for the field it
// names first, and nothing is saved.
func testSaveSlotsValidate(t *testing.T, f *fixture) {
	good := booking.Slot{Service: booking.ServiceClinic, ClinicID: aberdeen, Start: at(0, 10, 0), End: at(0, 10, 15), Capacity: 1}
	bad := []struct {
		name string
		edit func(*booking.Slot)
	}{
		{"ZeroCapacity", func(sl *booking.Slot) { sl.Capacity = 0 }},
		{"TakenAboveCapacity", func(sl *booking.Slot) { sl.Taken = 2 }},
		{"StartNotUTC", func(sl *booking.Slot) { sl.Start = sl.Start.In(hk) }},
		{"NoStart", func(sl *booking.Slot) { sl.Start = time.Time{} }},
		{"ClinicIDNotSlug", func(sl *booking.Slot) { sl.ClinicID = "Aberdeen" }},
	}
	for _, tc := range bad {
		sl := good
		sl.Start = at(0, 11, 0)
		sl.End = at(0, 11, 15)
		tc.edit(&sl)
		var want *booking.ValidationError
		if !errors.As(sl.Validate(), &want) {
			t.Fatalf("%s: Slot.Validate(%+v) = %v, want a *ValidationError", tc.name, sl, sl.Validate())
		}
		if _, err := f.store.SaveSlots(f.ctx, []booking.Slot{good, sl}); !isValidation(err, want.Field) {
			t.Errorf("SaveSlots(%s) = %v, want a *ValidationError for %s", tc.name, err, want.Field)
		}
	}
	if slots, err := f.store.Slots(f.ctx, booking.SlotQuery{}); err != nil || len(slots) != 0 {
		t.Errorf("Slots after refused imports = %v, %v, want none", slots, err)
	}
}

func testSlotNotFound(t *testing.T, f *fixture) {
	if got, err := f.store.Slot(f.ctx, 987654); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("Slot(987654) = %+v, %v, want ErrNotFound", got, err)
	}
}

func testSlotsFilters(t *testing.T, f *fixture) {
	// Two slots share a start: ID breaks the tie.
	a10 := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 1)
	k10 := f.slot(booking.ServiceClinic, kwunTong, at(0, 10, 0), 2)
	a11 := f.slot(booking.ServiceClinic, aberdeen, at(0, 11, 0), 2)
	v09 := f.slot(booking.ServiceVideo, "", at(0, 9, 45), 2)
	v12 := f.slot(booking.ServiceVideo, "", at(1, 12, 0), 2)
	f.mustBook(patient(1), booker(1), a10.ID)
	a10, k10, a11, v09, v12 = f.reload(a10), f.reload(k10), f.reload(a11), f.reload(v09), f.reload(v12)
	first, second := a10, k10
	if k10.ID < a10.ID {
		first, second = k10, a10
	}

	tests := []struct {
		name string
		q    booking.SlotQuery
		want []booking.Slot
	}{
		{"All", booking.SlotQuery{}, []booking.Slot{v09, first, second, a11, v12}},
		{"Service", booking.SlotQuery{Service: booking.ServiceVideo}, []booking.Slot{v09, v12}},
		{"Clinic", booking.SlotQuery{Service: booking.ServiceClinic, ClinicID: aberdeen}, []booking.Slot{a10, a11}},
		{"FromInclusive", booking.SlotQuery{From: at(0, 10, 0)}, []booking.Slot{first, second, a11, v12}},
		{"ToExclusive", booking.SlotQuery{To: at(0, 11, 0)}, []booking.Slot{v09, first, second}},
		{"OpenOnly", booking.SlotQuery{ClinicID: aberdeen, OpenOnly: true}, []booking.Slot{a11}},
		{"Limit", booking.SlotQuery{Limit: 2}, []booking.Slot{v09, first}},
		{"Offset", booking.SlotQuery{Offset: 3}, []booking.Slot{a11, v12}},
		{"LimitOffset", booking.SlotQuery{Limit: 2, Offset: 1}, []booking.Slot{first, second}},
		{"None", booking.SlotQuery{ClinicID: tuenMun}, nil},
	}
	for _, tc := range tests {
		got, err := f.store.Slots(f.ctx, tc.q)
		if err != nil {
			t.Fatalf("Slots(%s): %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Slots(%s) mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
}

func testQuotaCounts(t *testing.T, f *fixture) {
	a := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 2)
	f.slot(booking.ServiceClinic, aberdeen, at(0, 11, 0), 3)
	f.slot(booking.ServiceClinic, kwunTong, at(0, 10, 0), 4)
	v := f.slot(booking.ServiceVideo, "", at(0, 10, 0), 5)
	f.slot(booking.ServiceVideo, "", at(3, 10, 0), 100)    // after to
	f.slot(booking.ServiceClinic, tuenMun, at(0, 9, 0), 7) // before from
	f.mustBook(patient(1), booker(1), a.ID)
	f.mustBook(patient(2), booker(2), v.ID)
	f.mustBook(patient(3), booker(3), v.ID)

	got, err := f.store.QuotaCounts(f.ctx, at(0, 9, 30), at(3, 0, 0), f.clock.Now())
	if err != nil {
		t.Fatalf("QuotaCounts: %v", err)
	}
	want := []booking.QuotaCount{
		{Service: booking.ServiceClinic, ClinicID: aberdeen, Capacity: 5, Taken: 1},
		{Service: booking.ServiceClinic, ClinicID: kwunTong, Capacity: 4, Taken: 0},
		{Service: booking.ServiceVideo, Capacity: 5, Taken: 2},
	}
	sortCounts := cmpopts.SortSlices(func(x, y booking.QuotaCount) bool {
		return x.Service < y.Service || x.Service == y.Service && x.ClinicID < y.ClinicID
	})
	if diff := cmp.Diff(want, got, sortCounts); diff != "" {
		t.Errorf("QuotaCounts mismatch (-want +got):\n%s", diff)
	}
}

// newBooking is what Service.Book would hand the store for p.
func (f *fixture) newBooking(p booking.Patient, b booking.Booker, slot booking.SlotID, ref booking.Reference) booking.NewBooking {
	f.t.Helper()
	sealed, err := f.prot.Seal([]byte(p.Mobile), "mobile")
	if err != nil {
		f.t.Fatalf("Seal: %v", err)
	}
	now := f.clock.Now()
	return booking.NewBooking{
		Reference:     ref,
		SlotID:        slot,
		Patient:       f.prot.PatientKey(p.Document),
		BirthKey:      f.prot.BirthKey(p.Document, p.DateOfBirth),
		PatientMasked: p.Document.Masked(),
		DocumentType:  p.Document.Type,
		MobileSealed:  sealed,
		Booker:        b,
		ConsentAt:     now.Add(-time.Minute),
		CreatedAt:     now,
	}
}

func testStoreBook(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 2)
	nb := f.newBooking(patient(1), booker(1), sl.ID, "TEST-0001")
	got, err := f.store.Book(f.ctx, nb)
	if err != nil {
		t.Fatalf("Book: %v", err)
	}
	wantSlot := sl
	wantSlot.Taken = 1
	want := booking.Booking{
		ID:            got.ID,
		Reference:     "TEST-0001",
		Slot:          wantSlot,
		PatientMasked: patient(1).Document.Masked(),
		DocumentType:  booking.DocumentHKID,
		Booker:        booker(1),
		Status:        booking.StatusActive,
		ConsentAt:     nb.ConsentAt,
		CreatedAt:     nb.CreatedAt,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Book mismatch (-want +got):\n%s", diff)
	}
	if got.ID == 0 {
		t.Errorf("Book gave booking ID 0")
	}
	listed := f.bookings(booking.BookingQuery{})
	if diff := cmp.Diff([]booking.Booking{want}, listed); diff != "" {
		t.Errorf("Bookings after Book (-want +got):\n%s", diff)
	}
	records, err := f.store.Audit(f.ctx, time.Time{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	wantAudit := []booking.AuditRecord{{At: nb.CreatedAt, Action: booking.AuditBook, Booker: booker(1), Patient: nb.Patient, BookingID: got.ID}}
	if diff := cmp.Diff(wantAudit, records, cmpopts.IgnoreFields(booking.AuditRecord{}, "ID")); diff != "" {
		t.Errorf("Audit after Book (-want +got):\n%s", diff)
	}

	// The same patient again: refused by the store, no place taken.
	again := f.newBooking(patient(1), booker(2), sl.ID, "TEST-0002")
	if _, err := f.store.Book(f.ctx, again); !errors.Is(err, booking.ErrAlreadyBooked) {
		t.Errorf("Book(same patient) = %v, want ErrAlreadyBooked", err)
	}
	// Another patient takes the last place; then the slot is full.
	if _, err := f.store.Book(f.ctx, f.newBooking(patient(2), booker(2), sl.ID, "TEST-0003")); err != nil {
		t.Fatalf("Book(patient 2): %v", err)
	}
	if _, err := f.store.Book(f.ctx, f.newBooking(patient(3), booker(3), sl.ID, "TEST-0004")); !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("Book(full slot) = %v, want ErrSlotTaken", err)
	}
	if got := f.reload(sl); got.Taken != 2 {
		t.Errorf("taken after refused bookings = %d, want 2", got.Taken)
	}
}

func testStoreBookReferenceConflict(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 5)
	if _, err := f.store.Book(f.ctx, f.newBooking(patient(1), booker(1), sl.ID, "SAME-REF0")); err != nil {
		t.Fatalf("Book: %v", err)
	}
	if _, err := f.store.Book(f.ctx, f.newBooking(patient(2), booker(2), sl.ID, "SAME-REF0")); !errors.Is(err, booking.ErrConflict) {
		t.Errorf("Book(used reference) = %v, want ErrConflict", err)
	}
	if got := f.reload(sl); got.Taken != 1 {
		t.Errorf("taken after reference conflict = %d, want 1", got.Taken)
	}
	if bs := f.bookings(booking.BookingQuery{}); len(bs) != 1 {
		t.Errorf("%d bookings after reference conflict, want 1", len(bs))
	}
}

func testStoreBookUnknownSlot(t *testing.T, f *fixture) {
	for _, id := range []booking.SlotID{0, 424242} {
		if _, err := f.store.Book(f.ctx, f.newBooking(patient(1), booker(1), id, booking.NewReference())); !errors.Is(err, booking.ErrNotFound) {
			t.Errorf("Book(slot %d) = %v, want ErrNotFound", id, err)
		}
	}
	if records, err := f.store.Audit(f.ctx, time.Time{}); err != nil || len(records) != 0 {
		t.Errorf("Audit after refused bookings = %v, %v, want none", records, err)
	}
}

func testStoreBookCompletesEnded(t *testing.T, f *fixture) {
	early := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 5)
	later := f.slot(booking.ServiceClinic, wanChai, at(0, 11, 0), 5)
	first, err := f.store.Book(f.ctx, f.newBooking(patient(1), booker(1), early.ID, "AAAA-0001"))
	if err != nil {
		t.Fatalf("Book: %v", err)
	}
	// Started but not ended: still active.
	f.clock.Set(at(0, 10, 5))
	if _, err := f.store.Book(f.ctx, f.newBooking(patient(1), booker(1), later.ID, "AAAA-0002")); !errors.Is(err, booking.ErrAlreadyBooked) {
		t.Fatalf("Book(during first appointment) = %v, want ErrAlreadyBooked", err)
	}
	// Ended exactly at CreatedAt: completed, and no longer in the way.
	f.clock.Set(at(0, 10, 15))
	second, err := f.store.Book(f.ctx, f.newBooking(patient(1), booker(1), later.ID, "AAAA-0003"))
	if err != nil {
		t.Fatalf("Book(after first appointment ended) = %v", err)
	}
	got := f.bookings(booking.BookingQuery{})
	statuses := map[booking.BookingID]booking.Status{}
	for _, b := range got {
		statuses[b.ID] = b.Status
	}
	want := map[booking.BookingID]booking.Status{first.ID: booking.StatusCompleted, second.ID: booking.StatusActive}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := f.reload(early); got.Taken != 1 {
		t.Errorf("taken of the completed booking's slot = %d, want 1: a completed booking keeps its place", got.Taken)
	}
	f.checkTaken("after completion")
}

func testScreen(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceVideo, "", at(0, 10, 0), 5)
	p := patient(1)
	f.mustBook(p, booker(1), sl.ID)
	key, birth := f.prot.PatientKey(p.Document), f.prot.BirthKey(p.Document, p.DateOfBirth)
	wrongDOB := f.prot.BirthKey(p.Document, booking.Date{Year: 1980, Month: time.May, Day: 18})
	lim := booking.Limits{MaxFailures: 3, FailureWindow: 15 * time.Minute}
	screen := func(b booking.Booker, patient booking.PatientKey, birth string, when time.Time) error {
		return f.store.Screen(f.ctx, booking.Screening{Booker: b, Patient: patient, BirthKey: birth, At: when, Limits: lim})
	}
	tests := []struct {
		name    string
		patient booking.PatientKey
		birth   string
		at      time.Time
		want    error
		failed  bool // a failed verification is recorded
	}{
		{"RightBirthKey", key, birth, at(0, 9, 1), booking.ErrAlreadyBooked, false},
		{"WrongBirthKey", key, wrongDOB, at(0, 9, 2), booking.ErrAlreadyBooked, true},
		{"OtherPatient", f.prot.PatientKey(patient(2).Document), birth, at(0, 9, 3), nil, false},
	}
	var already error
	for _, tc := range tests {
		err := screen(booker(2), tc.patient, tc.birth, tc.at)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("Screen(%s) = %v, want %v", tc.name, err, tc.want)
			continue
		}
		// The same error, to the letter, whether the date was right.
		if err != nil && already != nil && err.Error() != already.Error() {
			t.Errorf("Screen(%s) = %q, want %q as for the right date of birth", tc.name, err, already)
		}
		if err != nil {
			already = err
		}
		records, err := f.store.Audit(f.ctx, tc.at)
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		var actions []booking.AuditAction
		for _, r := range records {
			actions = append(actions, r.Action)
		}
		want := []booking.AuditAction{booking.AuditLookup}
		if tc.failed {
			want = append(want, booking.AuditVerifyFailed)
		}
		if diff := cmp.Diff(want, actions); diff != "" {
			t.Errorf("Screen(%s) recorded (-want +got):\n%s", tc.name, diff)
		}
	}
	// Two more wrong dates: the third failure starts the cool-down, and a
	// refused screening records the look-up alone.
	for _, when := range []time.Time{at(0, 9, 4), at(0, 9, 5)} {
		if err := screen(booker(3), key, wrongDOB, when); !errors.Is(err, booking.ErrAlreadyBooked) {
			t.Fatalf("Screen(wrong DOB) = %v, want ErrAlreadyBooked", err)
		}
	}
	err := screen(booker(4), key, birth, at(0, 9, 6))
	wantCooldown(t, "Screen(patient cooling down)", err, at(0, 9, 17))
	if records, err := f.store.Audit(f.ctx, at(0, 9, 6)); err != nil || len(records) != 1 || records[0].Action != booking.AuditLookup {
		t.Errorf("Audit after a refused screening = %v, %v, want the look-up alone", records, err)
	}
	// Once the appointment has ended the patient may be booked again.
	if err := screen(booker(4), key, wrongDOB, at(0, 10, 15)); err != nil {
		t.Errorf("Screen(booking ended) = %v, want nil", err)
	}
}

func testBookingsFilters(t *testing.T, f *fixture) {
	a10 := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 5)
	k11 := f.slot(booking.ServiceClinic, kwunTong, at(0, 11, 0), 5)
	v12 := f.slot(booking.ServiceVideo, "", at(1, 12, 0), 5)
	// Booked out of start order, so that order by start is visible.
	bv := f.mustBook(patient(1), booker(1), v12.ID)
	bk := f.mustBook(patient(2), booker(2), k11.ID)
	ba := f.mustBook(patient(3), booker(3), a10.ID)
	bc := f.mustBook(patient(4), booker(4), a10.ID)
	cancelled, err := f.svc.Cancel(f.ctx, lookup(patient(4), booker(4), a10), bc.Reference)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	ids := func(bs []booking.Booking) []booking.BookingID {
		var out []booking.BookingID
		for _, b := range bs {
			out = append(out, b.ID)
		}
		return out
	}
	tests := []struct {
		name string
		q    booking.BookingQuery
		want []booking.BookingID
	}{
		{"All", booking.BookingQuery{}, []booking.BookingID{ba.ID, cancelled.ID, bk.ID, bv.ID}},
		{"Clinic", booking.BookingQuery{ClinicID: aberdeen}, []booking.BookingID{ba.ID, cancelled.ID}},
		{"Service", booking.BookingQuery{Service: booking.ServiceVideo}, []booking.BookingID{bv.ID}},
		{"From", booking.BookingQuery{From: at(0, 11, 0)}, []booking.BookingID{bk.ID, bv.ID}},
		{"To", booking.BookingQuery{To: at(0, 11, 0)}, []booking.BookingID{ba.ID, cancelled.ID}},
		{"Active", booking.BookingQuery{Status: booking.StatusActive}, []booking.BookingID{ba.ID, bk.ID, bv.ID}},
		{"Cancelled", booking.BookingQuery{Status: booking.StatusCancelled}, []booking.BookingID{cancelled.ID}},
		{"Combined", booking.BookingQuery{Service: booking.ServiceClinic, From: at(0, 10, 0), To: at(1, 0, 0), Status: booking.StatusActive}, []booking.BookingID{ba.ID, bk.ID}},
		{"None", booking.BookingQuery{ClinicID: tuenMun}, nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, ids(f.bookings(tc.q))); diff != "" {
			t.Errorf("Bookings(%s) mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	all := f.bookings(booking.BookingQuery{Status: booking.StatusCancelled})
	if diff := cmp.Diff([]booking.Booking{cancelled}, all); diff != "" {
		t.Errorf("cancelled booking as listed (-want +got):\n%s", diff)
	}
}

func testComplete(t *testing.T, f *fixture) {
	old := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 5) // ends 10:15
	recent := f.slot(booking.ServiceClinic, aberdeen, at(2, 10, 0), 5)
	ended := f.mustBook(patient(1), booker(1), old.ID)
	cancelled := f.mustBook(patient(2), booker(2), old.ID)
	if _, err := f.svc.Cancel(f.ctx, lookup(patient(2), booker(2), old), cancelled.Reference); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	coming := f.mustBook(patient(3), booker(3), recent.ID)

	if n, err := f.store.Complete(f.ctx, at(0, 10, 14)); err != nil || n != 0 {
		t.Errorf("Complete(before the old slot's end) = %d, %v, want 0", n, err)
	}
	if n, err := f.store.Complete(f.ctx, at(0, 10, 15)); err != nil || n != 1 {
		t.Fatalf("Complete(at the old slot's end) = %d, %v, want 1", n, err)
	}
	if n, err := f.store.Complete(f.ctx, at(1, 0, 0)); err != nil || n != 0 {
		t.Errorf("Complete again = %d, %v, want 0", n, err)
	}
	got := map[booking.BookingID]booking.Booking{}
	for _, b := range f.bookings(booking.BookingQuery{}) {
		got[b.ID] = b
	}
	if b := got[ended.ID]; b.Status != booking.StatusCompleted || b.PatientMasked != ended.PatientMasked {
		t.Errorf("ended booking = status %s, masked %q; want completed, personal data kept until purge", b.Status, b.PatientMasked)
	}
	if b := got[cancelled.ID]; b.Status != booking.StatusCancelled {
		t.Errorf("cancelled booking = status %s, want cancelled", b.Status)
	}
	if diff := cmp.Diff(coming, got[coming.ID]); diff != "" {
		t.Errorf("booking still to come changed by Complete (-want +got):\n%s", diff)
	}
	active := f.bookings(booking.BookingQuery{Status: booking.StatusActive})
	if len(active) != 1 || active[0].ID != coming.ID {
		t.Errorf("active bookings after Complete = %d, want only the one still to come", len(active))
	}
	// The place stays taken: the appointment happened.
	if s, err := f.store.Slot(f.ctx, old.ID); err != nil || s.Taken != 1 {
		t.Errorf("old slot taken = %d, %v; want 1 (the completed booking's place)", s.Taken, err)
	}
}

func testPurge(t *testing.T, f *fixture) {
	old := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 5)
	recent := f.slot(booking.ServiceClinic, aberdeen, at(2, 10, 0), 5)
	oldActive := f.mustBook(patient(1), booker(1), old.ID)
	oldCancelled := f.mustBook(patient(2), booker(2), old.ID)
	if _, err := f.svc.Cancel(f.ctx, lookup(patient(2), booker(2), old), oldCancelled.Reference); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	keep := f.mustBook(patient(3), booker(3), recent.ID)
	// A failed verification and a look-up name no booking: they go with
	// the retention too, counted by the time they were made.
	if _, err := f.svc.Enquire(f.ctx, lookup(patient(4), booker(4), old)); !errors.Is(err, booking.ErrNotFound) {
		t.Fatalf("Enquire(no booking) = %v, want ErrNotFound", err)
	}
	if err := f.svc.Screen(f.ctx, booker(4), patient(4)); err != nil {
		t.Fatalf("Screen = %v", err)
	}

	n, err := f.store.Purge(f.ctx, at(0, 10, 15))
	if err != nil || n != 0 {
		t.Errorf("Purge(at the old slot's end) = %d, %v, want 0: only slots ended before", n, err)
	}
	n, err = f.store.Purge(f.ctx, at(1, 0, 0))
	if err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v, want 2", n, err)
	}
	if n, err := f.store.Purge(f.ctx, at(1, 0, 0)); err != nil || n != 0 {
		t.Errorf("Purge again = %d, %v, want 0", n, err)
	}

	got := map[booking.BookingID]booking.Booking{}
	for _, b := range f.bookings(booking.BookingQuery{}) {
		got[b.ID] = b
	}
	if b := got[oldActive.ID]; b.PatientMasked != "" || b.Booker.ID != "" || b.Status != booking.StatusCompleted {
		t.Errorf("purged active booking = masked %q, booker %q, status %s; want no patient, no booker, completed", b.PatientMasked, b.Booker.ID, b.Status)
	}
	if b := got[oldCancelled.ID]; b.PatientMasked != "" || b.Booker.ID != "" || b.Status != booking.StatusCancelled {
		t.Errorf("purged cancelled booking = masked %q, booker %q, status %s; want no patient, no booker, cancelled", b.PatientMasked, b.Booker.ID, b.Status)
	}
	if diff := cmp.Diff(keep, got[keep.ID]); diff != "" {
		t.Errorf("recent booking changed by Purge (-want +got):\n%s", diff)
	}
	p3 := patient(3)
	records, err := f.store.Audit(f.ctx, time.Time{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	for _, r := range records {
		purged := r.BookingID == oldActive.ID || r.BookingID == oldCancelled.ID
		if purged && (r.Patient != "" || r.Booker.ID != "") {
			t.Errorf("audit %s of purged booking %d still names the patient or the booker", r.Action, r.BookingID)
		}
		if r.BookingID == 0 {
			t.Errorf("audit %s naming no booking, made %v, outlived the purge", r.Action, r.At)
		}
		if r.BookingID == keep.ID && r.Patient != f.prot.PatientKey(p3.Document) {
			t.Errorf("audit %s of kept booking lost its patient key", r.Action)
		}
	}
	if err := f.svc.Screen(f.ctx, booker(9), p3); !errors.Is(err, booking.ErrAlreadyBooked) {
		t.Errorf("Screen(recent) after Purge = %v, want ErrAlreadyBooked", err)
	}
	// The purged patient may book again.
	f.clock.Set(at(1, 9, 0))
	f.mustBook(patient(1), booker(1), recent.ID)
}

func testFailedVerifications(t *testing.T, f *fixture) {
	p1, p2 := f.prot.PatientKey(patient(1).Document), f.prot.PatientKey(patient(2).Document)
	fail := func(b booking.Booker, p booking.PatientKey, when time.Time) {
		t.Helper()
		v := booking.Verification{Patient: p, BirthKey: "wrong", Service: booking.ServiceVideo, Booker: b, Action: booking.AuditEnquire, At: when}
		if _, err := f.store.Verify(f.ctx, v); !errors.Is(err, booking.ErrNotFound) {
			t.Fatalf("Verify(no booking) = %v, want ErrNotFound", err)
		}
	}
	fail(booker(1), p1, at(0, 9, 0))
	fail(booker(1), p2, at(0, 9, 1))
	fail(booker(2), p1, at(0, 9, 2))
	fail(booker(1), p1, at(0, 9, 3))
	fail(booking.Booker{Channel: booking.ChannelWhatsApp, ID: booker(1).ID}, p2, at(0, 9, 4))

	byBooker, byPatient, err := f.store.FailedVerifications(f.ctx, booker(1), p1, at(0, 9, 1))
	if err != nil {
		t.Fatalf("FailedVerifications: %v", err)
	}
	if diff := cmp.Diff([]time.Time{at(0, 9, 3), at(0, 9, 1)}, byBooker); diff != "" {
		t.Errorf("by booker (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Time{at(0, 9, 3), at(0, 9, 2)}, byPatient); diff != "" {
		t.Errorf("for patient (-want +got):\n%s", diff)
	}
	byBooker, byPatient, err = f.store.FailedVerifications(f.ctx, booker(3), f.prot.PatientKey(patient(3).Document), time.Time{})
	if err != nil || len(byBooker) != 0 || len(byPatient) != 0 {
		t.Errorf("FailedVerifications(nobody) = %v, %v, %v, want none", byBooker, byPatient, err)
	}
	records, err := f.store.Audit(f.ctx, at(0, 9, 3))
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	want := []booking.AuditRecord{
		{At: at(0, 9, 3), Action: booking.AuditVerifyFailed, Booker: booker(1), Patient: p1},
		{At: at(0, 9, 4), Action: booking.AuditVerifyFailed, Booker: booking.Booker{Channel: booking.ChannelWhatsApp, ID: booker(1).ID}, Patient: p2},
	}
	if diff := cmp.Diff(want, records, cmpopts.IgnoreFields(booking.AuditRecord{}, "ID")); diff != "" {
		t.Errorf("Audit(since 09:03) (-want +got):\n%s", diff)
	}
}

func testPingClose(t *testing.T, f *fixture) {
	if err := f.store.Ping(f.ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
	if err := f.store.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func testBindKey(t *testing.T, f *fixture) {
	ks, err := f.store.KeyState(f.ctx)
	if err != nil {
		t.Fatalf("KeyState = %v", err)
	}
	if diff := cmp.Diff(booking.KeyState{}, ks); diff != "" {
		t.Errorf("KeyState of a new store (-want +got):\n%s", diff)
	}
	mine := f.prot.Fingerprint()
	if err := f.store.BindKey(f.ctx, mine, start); err != nil {
		t.Fatalf("BindKey(first) = %v", err)
	}
	if err := f.store.BindKey(f.ctx, mine, start.Add(time.Hour)); err != nil {
		t.Errorf("BindKey(same key again) = %v, want nil", err)
	}
	if err := f.store.BindKey(f.ctx, NewProtector(t).Fingerprint(), start.Add(time.Hour)); !errors.Is(err, booking.ErrKeyMismatch) {
		t.Errorf("BindKey(another key) = %v, want ErrKeyMismatch", err)
	}

	sl := f.slot(booking.ServiceClinic, kwunTong, at(0, 10, 0), 1)
	if _, err := f.store.Book(f.ctx, f.newBooking(patient(1), booker(1), sl.ID, "ABC-2345")); err != nil {
		t.Fatalf("Book: %v", err)
	}
	ks, err = f.store.KeyState(f.ctx)
	if err != nil {
		t.Fatalf("KeyState = %v", err)
	}
	if ks.Fingerprint != mine || !ks.Bookings {
		t.Errorf("KeyState after a booking = %+v, want fingerprint %s and bookings", ks, mine)
	}
	if err := f.prot.CheckKey(booking.KeyState{Sealed: ks.Sealed}); err != nil {
		t.Errorf("KeyState.Sealed does not open with the key it was sealed under: %v", err)
	}
	other := NewProtector(t)
	if err := other.CheckKey(booking.KeyState{Bookings: true, Sealed: ks.Sealed}); !errors.Is(err, booking.ErrKeyMismatch) {
		t.Errorf("CheckKey(another key, by the sealed mobile) = %v, want ErrKeyMismatch", err)
	}
}

// testBindKeyConcurrent binds two keys at once, as two replicas starting
// together with different keys would: exactly one is recorded, and the other
// is refused.
func testBindKeyConcurrent(t *testing.T, f *fixture) {
	fps := []string{f.prot.Fingerprint(), NewProtector(t).Fingerprint()}
	errs := make([]error, len(fps))
	var wg sync.WaitGroup
	for i, fp := range fps {
		wg.Go(func() { errs[i] = f.store.BindKey(f.ctx, fp, start) })
	}
	wg.Wait()
	ks, err := f.store.KeyState(f.ctx)
	if err != nil {
		t.Fatalf("KeyState = %v", err)
	}
	for i, fp := range fps {
		switch {
		case fp == ks.Fingerprint && errs[i] != nil:
			t.Errorf("BindKey(recorded key) = %v, want nil", errs[i])
		case fp != ks.Fingerprint && !errors.Is(errs[i], booking.ErrKeyMismatch):
			t.Errorf("BindKey(key not recorded) = %v, want ErrKeyMismatch", errs[i])
		}
	}
}

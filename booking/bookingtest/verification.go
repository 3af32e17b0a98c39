package bookingtest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clinicbot/clinicbot/booking"
)

// verificationCases check enquiry, cancel, the cool-down and the audit
// trail through booking.Service.
var verificationCases = []testCase{
	{"EnquireMatches", testEnquireMatches},
	{"EnquireMismatchIsNotFound", testEnquireMismatch},
	{"CancelReturnsPlace", testCancel},
	{"CancelIsIdempotent", testCancelIdempotent},
	{"CancelMismatchIsNotFound", testCancelMismatch},
	{"CancelAfterStartRefused", testCancelStarted},
	{"CooldownByBooker", testCooldownByBooker},
	{"CooldownForPatient", testCooldownForPatient},
	{"AuditTrail", testAuditTrail},
	{"NoClearPersonalData", testNoClearPersonalData},
}

func testEnquireMatches(t *testing.T, f *fixture) {
	cl := f.slot(booking.ServiceClinic, kwunTong, at(1, 10, 0), 2)
	v := f.slot(booking.ServiceVideo, "", at(1, 11, 0), 2)
	bc := f.mustBook(patient(1), booker(1), cl.ID)
	bv := f.mustBook(patient(2), booker(2), v.ID)

	tests := []struct {
		name   string
		lookup booking.Lookup
		want   booking.Booking
	}{
		{"Clinic", lookup(patient(1), booker(3), cl), bc},
		{"Video", lookup(patient(2), booker(3), v), bv},
		// A video lookup ignores any clinic given with it.
		{"VideoWithClinic", booking.Lookup{Booker: booker(3), Document: patient(2).Document, DateOfBirth: patient(2).DateOfBirth, Service: booking.ServiceVideo, ClinicID: aberdeen}, bv},
	}
	for _, tc := range tests {
		got, err := f.svc.Enquire(f.ctx, tc.lookup)
		if err != nil {
			t.Errorf("Enquire(%s) = %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Enquire(%s) mismatch (-want +got):\n%s", tc.name, diff)
		}
		got, err = f.svc.VerifyForCancel(f.ctx, tc.lookup)
		if err != nil || got.ID != tc.want.ID {
			t.Errorf("VerifyForCancel(%s) = %+v, %v, want booking %d", tc.name, got, err, tc.want.ID)
		}
	}
}

func testEnquireMismatch(t *testing.T, f *fixture) {
	cl := f.slot(booking.ServiceClinic, kwunTong, at(1, 10, 0), 2)
	gone := f.slot(booking.ServiceClinic, kwunTong, at(1, 11, 0), 2)
	p, q := patient(1), patient(2)
	f.mustBook(p, booker(1), cl.ID)
	bq := f.mustBook(q, booker(2), gone.ID)
	if _, err := f.svc.Cancel(f.ctx, lookup(q, booker(2), gone), bq.Reference); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	right := lookup(p, booker(3), cl)
	with := func(change func(l *booking.Lookup)) booking.Lookup {
		l := right
		change(&l)
		return l
	}
	tests := []struct {
		name   string
		lookup booking.Lookup
	}{
		{"WrongDocument", with(func(l *booking.Lookup) { l.Document = patient(3).Document })},
		{"WrongDocumentType", with(func(l *booking.Lookup) { l.Document.Type = booking.DocumentOther })},
		{"WrongDateOfBirth", with(func(l *booking.Lookup) { l.DateOfBirth.Day++ })},
		{"WrongClinic", with(func(l *booking.Lookup) { l.ClinicID = aberdeen })},
		{"WrongService", with(func(l *booking.Lookup) { l.Service, l.ClinicID = booking.ServiceVideo, "" })},
		{"CancelledBooking", lookup(q, booker(3), gone)},
	}
	var first error
	for i, tc := range tests {
		// Each attempt in a new quarter hour, so that no cool-down starts.
		f.clock.Set(start.Add(time.Duration(i) * 16 * time.Minute))
		_, err := f.svc.Enquire(f.ctx, tc.lookup)
		if !errors.Is(err, booking.ErrNotFound) {
			t.Errorf("Enquire(%s) = %v, want ErrNotFound", tc.name, err)
			continue
		}
		// The same error whichever part was wrong: nothing to tell them apart.
		if first == nil {
			first = err
		} else if err.Error() != first.Error() {
			t.Errorf("Enquire(%s) = %q, want the same error as the others, %q", tc.name, err, first)
		}
	}
	records, err := f.store.Audit(f.ctx, start)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	failed := 0
	for _, r := range records {
		if r.Action == booking.AuditVerifyFailed {
			failed++
			if r.BookingID != 0 || r.Booker != booker(3) {
				t.Errorf("failed verification record %+v: want booker 3 and no booking", r)
			}
		}
	}
	if failed != len(tests) {
		t.Errorf("%d failed verifications recorded, want %d", failed, len(tests))
	}
	// After the appointment has ended, nothing is found either.
	f.clock.Set(at(1, 10, 15))
	if _, err := f.svc.Enquire(f.ctx, right); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("Enquire(after the appointment) = %v, want ErrNotFound", err)
	}
}

func testCancel(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, wanChai, at(0, 11, 0), 1)
	p := patient(1)
	b := f.mustBook(p, booker(1), sl.ID)
	if _, err := f.book(patient(2), booker(2), sl.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Fatalf("Book(full) = %v, want ErrSlotTaken", err)
	}
	f.clock.Set(at(0, 9, 30))
	l := lookup(p, booker(3), sl) // another booker may cancel for the patient
	shown, err := f.svc.VerifyForCancel(f.ctx, l)
	if err != nil || shown.Reference != b.Reference {
		t.Fatalf("VerifyForCancel = %+v, %v, want booking %s", shown, err, b.Reference)
	}
	got, err := f.svc.Cancel(f.ctx, l, shown.Reference)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	want := b
	want.Status = booking.StatusCancelled
	want.CancelledAt = at(0, 9, 30)
	want.Slot.Taken = 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Cancel mismatch (-want +got):\n%s", diff)
	}
	// The place is back at once.
	if got := f.reload(sl); got.Taken != 0 {
		t.Errorf("taken after cancel = %d, want 0", got.Taken)
	}
	f.mustBook(patient(2), booker(2), sl.ID)
	// The patient may book again.
	other := f.slot(booking.ServiceClinic, wanChai, at(0, 12, 0), 1)
	f.mustBook(p, booker(1), other.ID)
	f.checkTaken("after cancel and rebook")
}

func testCancelIdempotent(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceVideo, "", at(0, 11, 0), 3)
	p := patient(1)
	b := f.mustBook(p, booker(1), sl.ID)
	f.mustBook(patient(2), booker(2), sl.ID)
	l := lookup(p, booker(1), sl)
	first, err := f.svc.Cancel(f.ctx, l, b.Reference)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	f.clock.Advance(5 * time.Minute)
	again, err := f.svc.Cancel(f.ctx, l, b.Reference)
	if err != nil {
		t.Fatalf("Cancel(again) = %v", err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("second cancel changed the booking (-want +got):\n%s", diff)
	}
	if got := f.reload(sl); got.Taken != 1 {
		t.Errorf("taken after two cancels = %d, want 1: the place is returned once", got.Taken)
	}
	// Even once the slot has started, a cancelled booking reads back as it is.
	f.clock.Set(at(0, 11, 5))
	if again, err := f.svc.Cancel(f.ctx, l, b.Reference); err != nil || again.Status != booking.StatusCancelled {
		t.Errorf("Cancel(cancelled, after start) = %+v, %v, want it unchanged", again, err)
	}
	records, err := f.store.Audit(f.ctx, time.Time{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	cancels := 0
	for _, r := range records {
		if r.Action == booking.AuditCancel {
			cancels++
		}
	}
	if cancels != 1 {
		t.Errorf("%d cancel records, want 1", cancels)
	}
	f.checkTaken("after repeated cancels")
}

func testCancelMismatch(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, aberdeen, at(1, 11, 0), 3)
	p, q := patient(1), patient(2)
	bp := f.mustBook(p, booker(1), sl.ID)
	bq := f.mustBook(q, booker(2), sl.ID)
	wrongDOB := lookup(p, booker(3), sl)
	wrongDOB.DateOfBirth.Year--
	wrongClinic := lookup(p, booker(4), sl)
	wrongClinic.ClinicID = wanChai
	tests := []struct {
		name   string
		lookup booking.Lookup
		ref    booking.Reference
	}{
		{"WrongDateOfBirth", wrongDOB, bp.Reference},
		{"WrongClinic", wrongClinic, bp.Reference},
		{"OtherPatientsReference", lookup(p, booker(5), sl), bq.Reference},
		{"UnknownReference", lookup(p, booker(6), sl), "ZZZZ-ZZZZ"},
	}
	for i, tc := range tests {
		// Each attempt in a new quarter hour, so that no cool-down starts.
		f.clock.Set(start.Add(time.Duration(i) * 16 * time.Minute))
		if _, err := f.svc.Cancel(f.ctx, tc.lookup, tc.ref); !errors.Is(err, booking.ErrNotFound) {
			t.Errorf("Cancel(%s) = %v, want ErrNotFound", tc.name, err)
		}
	}
	for _, b := range f.bookings(booking.BookingQuery{}) {
		if b.Status != booking.StatusActive {
			t.Errorf("booking %s is %s after refused cancels, want active", b.Reference, b.Status)
		}
	}
	if got := f.reload(sl); got.Taken != 2 {
		t.Errorf("taken after refused cancels = %d, want 2", got.Taken)
	}
	_, byPatient, err := f.store.FailedVerifications(f.ctx, booker(1), f.prot.PatientKey(p.Document), start)
	if err != nil || len(byPatient) != len(tests) {
		t.Errorf("FailedVerifications for the patient = %v, %v, want %d", byPatient, err, len(tests))
	}
}

func testCancelStarted(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, aberdeen, at(0, 11, 0), 3)
	p := patient(1)
	b := f.mustBook(p, booker(1), sl.ID)
	l := lookup(p, booker(1), sl)
	for _, now := range []time.Time{at(0, 11, 0), at(0, 11, 10)} {
		f.clock.Set(now)
		if _, err := f.svc.Cancel(f.ctx, l, b.Reference); !errors.Is(err, booking.ErrAppointmentStarted) {
			t.Errorf("Cancel(at %v) = %v, want ErrAppointmentStarted", now, err)
		}
	}
	f.clock.Set(at(0, 11, 20))
	if _, err := f.svc.Cancel(f.ctx, l, b.Reference); !errors.Is(err, booking.ErrAppointmentStarted) {
		t.Errorf("Cancel(after the end) = %v, want ErrAppointmentStarted", err)
	}
	if got := f.reload(sl); got.Taken != 1 {
		t.Errorf("taken = %d, want 1", got.Taken)
	}
	if bs := f.bookings(booking.BookingQuery{Status: booking.StatusCancelled}); len(bs) != 0 {
		t.Errorf("cancelled bookings = %+v, want none", bs)
	}
	// A minute before the start it could still be cancelled.
	f.clock.Set(at(0, 10, 59))
	if _, err := f.svc.Cancel(f.ctx, l, b.Reference); err != nil {
		t.Errorf("Cancel(a minute before) = %v", err)
	}
}

// wantCooldown fails unless err is a *CooldownError until until.
func wantCooldown(t *testing.T, what string, err error, until time.Time) {
	t.Helper()
	var ce *booking.CooldownError
	if !errors.As(err, &ce) || !errors.Is(err, booking.ErrTooManyAttempts) {
		t.Errorf("%s = %v, want *CooldownError", what, err)
		return
	}
	if !ce.Until.Equal(until) {
		t.Errorf("%s: cool-down until %v, want %v", what, ce.Until, until)
	}
}

func testCooldownByBooker(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, aberdeen, at(1, 10, 0), 5)
	target := patient(9)
	b := f.mustBook(target, booker(9), sl.ID)
	fail := func(i int, when time.Time) {
		t.Helper()
		f.clock.Set(when)
		if _, err := f.svc.Enquire(f.ctx, lookup(patient(i), booker(1), sl)); !errors.Is(err, booking.ErrNotFound) {
			t.Fatalf("Enquire(no booking) = %v, want ErrNotFound", err)
		}
	}
	// Three failures by one booker, for three different patients.
	fail(1, at(0, 9, 0))
	fail(2, at(0, 9, 5))
	fail(3, at(0, 9, 10))

	f.clock.Set(at(0, 9, 11))
	l := lookup(target, booker(1), sl) // right this time
	_, err := f.svc.Enquire(f.ctx, l)
	wantCooldown(t, "Enquire", err, at(0, 9, 15))
	_, err = f.svc.VerifyForCancel(f.ctx, l)
	wantCooldown(t, "VerifyForCancel", err, at(0, 9, 15))
	_, err = f.svc.Cancel(f.ctx, l, b.Reference)
	wantCooldown(t, "Cancel", err, at(0, 9, 15))
	if got := f.reload(sl); got.Taken != 1 {
		t.Errorf("a refused cancel returned the place: taken %d", got.Taken)
	}
	// Refused attempts are not verifications: they do not prolong it.
	byBooker, _, err := f.store.FailedVerifications(f.ctx, booker(1), "", at(0, 9, 0))
	if err != nil || len(byBooker) != 3 {
		t.Errorf("failures by booker = %v, %v, want 3", byBooker, err)
	}
	// Another booker is not held up.
	if _, err := f.svc.Enquire(f.ctx, lookup(target, booker(2), sl)); err != nil {
		t.Errorf("Enquire(another booker) = %v", err)
	}

	f.clock.Set(at(0, 9, 15).Add(-time.Second))
	_, err = f.svc.Enquire(f.ctx, l)
	wantCooldown(t, "Enquire(a second before the end)", err, at(0, 9, 15))

	// It lifts when the oldest failure is 15 minutes old.
	f.clock.Set(at(0, 9, 15))
	if got, err := f.svc.Enquire(f.ctx, l); err != nil || got.ID != b.ID {
		t.Errorf("Enquire(cool-down over) = %+v, %v, want booking %d", got, err, b.ID)
	}
	// One more failure: three within 15 minutes again, from 09:05.
	fail(4, at(0, 9, 16))
	f.clock.Set(at(0, 9, 17))
	_, err = f.svc.Enquire(f.ctx, l)
	wantCooldown(t, "Enquire(after a new failure)", err, at(0, 9, 20))
}

func testCooldownForPatient(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, aberdeen, at(1, 10, 0), 5)
	p := patient(1)
	b := f.mustBook(p, booker(1), sl.ID)
	other := patient(2)
	bo := f.mustBook(other, booker(1), sl.ID)
	// Three bookers each get the date of birth wrong once.
	for i, when := range []time.Time{at(0, 9, 0), at(0, 9, 1), at(0, 9, 2)} {
		f.clock.Set(when)
		l := lookup(p, booker(10+i), sl)
		l.DateOfBirth.Month++
		if _, err := f.svc.Enquire(f.ctx, l); !errors.Is(err, booking.ErrNotFound) {
			t.Fatalf("Enquire(wrong DOB) = %v, want ErrNotFound", err)
		}
	}
	f.clock.Set(at(0, 9, 3))
	_, err := f.svc.Enquire(f.ctx, lookup(p, booker(20), sl))
	wantCooldown(t, "Enquire(patient under cool-down, new booker)", err, at(0, 9, 15))
	_, err = f.svc.Cancel(f.ctx, lookup(p, booker(1), sl), b.Reference)
	wantCooldown(t, "Cancel(patient under cool-down, own booker)", err, at(0, 9, 15))
	// Another patient is not held up, even by the same new booker.
	if got, err := f.svc.Enquire(f.ctx, lookup(other, booker(20), sl)); err != nil || got.ID != bo.ID {
		t.Errorf("Enquire(other patient) = %+v, %v", got, err)
	}
	f.clock.Set(at(0, 9, 15))
	if _, err := f.svc.Cancel(f.ctx, lookup(p, booker(1), sl), b.Reference); err != nil {
		t.Errorf("Cancel(cool-down over) = %v", err)
	}
}

func testAuditTrail(t *testing.T, f *fixture) {
	sl := f.slot(booking.ServiceClinic, tuenMun, at(1, 10, 0), 5)
	p := patient(1)
	family := booker(1)
	carer := booking.Booker{Channel: booking.ChannelWhatsApp, ID: "85260001111"}
	key := f.prot.PatientKey(p.Document)

	b := f.mustBook(p, family, sl.ID)
	f.clock.Set(at(0, 9, 1))
	if _, err := f.svc.Enquire(f.ctx, lookup(p, carer, sl)); err != nil {
		t.Fatalf("Enquire: %v", err)
	}
	f.clock.Set(at(0, 9, 2))
	wrong := lookup(p, carer, sl)
	wrong.ClinicID = aberdeen
	if _, err := f.svc.Enquire(f.ctx, wrong); !errors.Is(err, booking.ErrNotFound) {
		t.Fatalf("Enquire(wrong clinic) = %v", err)
	}
	f.clock.Set(at(0, 9, 3))
	if _, err := f.svc.VerifyForCancel(f.ctx, lookup(p, family, sl)); err != nil {
		t.Fatalf("VerifyForCancel: %v", err)
	}
	f.clock.Set(at(0, 9, 4))
	if _, err := f.svc.Cancel(f.ctx, lookup(p, family, sl), b.Reference); err != nil {
		t.Fatalf("Cancel: %v", err)
	}

	got, err := f.store.Audit(f.ctx, time.Time{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	want := []booking.AuditRecord{
		{At: at(0, 9, 0), Action: booking.AuditBook, Booker: family, Patient: key, BookingID: b.ID},
		{At: at(0, 9, 1), Action: booking.AuditEnquire, Booker: carer, Patient: key, BookingID: b.ID},
		{At: at(0, 9, 2), Action: booking.AuditVerifyFailed, Booker: carer, Patient: key},
		{At: at(0, 9, 3), Action: booking.AuditVerify, Booker: family, Patient: key, BookingID: b.ID},
		{At: at(0, 9, 4), Action: booking.AuditCancel, Booker: family, Patient: key, BookingID: b.ID},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(booking.AuditRecord{}, "ID")); diff != "" {
		t.Errorf("Audit mismatch (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID == got[i-1].ID {
			t.Errorf("audit records %d and %d share ID %d", i-1, i, got[i].ID)
		}
	}
	since, err := f.store.Audit(f.ctx, at(0, 9, 3))
	if err != nil {
		t.Fatalf("Audit(since): %v", err)
	}
	if diff := cmp.Diff(want[3:], since, cmpopts.IgnoreFields(booking.AuditRecord{}, "ID")); diff != "" {
		t.Errorf("Audit(since 09:03) mismatch (-want +got):\n%s", diff)
	}
}

func testNoClearPersonalData(t *testing.T, f *fixture) {
	secrets := personalScenario(t, f)
	var dump bytes.Buffer
	clinics, err := f.store.Clinics(f.ctx)
	if err != nil {
		t.Fatalf("Clinics: %v", err)
	}
	slots, err := f.store.Slots(f.ctx, booking.SlotQuery{})
	if err != nil {
		t.Fatalf("Slots: %v", err)
	}
	records, err := f.store.Audit(f.ctx, time.Time{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	fmt.Fprintf(&dump, "%#v\n%#v\n%#v\n%#v\n", clinics, slots, f.bookings(booking.BookingQuery{}), records)
	checkNoSecrets(t, "what the store returns", dump.Bytes(), secrets)
}

// The patient personalScenario books for, with data easy to search for.
var (
	secretDocument = hkid("K987654")
	secretDOB      = booking.Date{Year: 1975, Month: time.August, Day: 23}
	secretMobile   = booking.Mobile("61234567")
)

// personalScenario books, enquires, fails a verification, cancels and
// books again for one patient whose data is secret, and returns every clear
// form of that data that must not be stored.
func personalScenario(t *testing.T, f *fixture) [][]byte {
	t.Helper()
	p := booking.Patient{Document: secretDocument, DateOfBirth: secretDOB, Mobile: secretMobile}
	sl := f.slot(booking.ServiceClinic, aberdeen, at(1, 10, 0), 5)
	v := f.slot(booking.ServiceVideo, "", at(1, 10, 0), 5)
	b := f.mustBook(p, booker(1), sl.ID)
	if _, err := f.svc.Enquire(f.ctx, lookup(p, booker(1), sl)); err != nil {
		t.Fatalf("Enquire: %v", err)
	}
	wrong := lookup(p, booker(2), sl)
	wrong.DateOfBirth.Day++
	if _, err := f.svc.Enquire(f.ctx, wrong); !errors.Is(err, booking.ErrNotFound) {
		t.Fatalf("Enquire(wrong DOB) = %v", err)
	}
	if _, err := f.svc.Cancel(f.ctx, lookup(p, booker(1), sl), b.Reference); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	f.mustBook(p, booker(1), v.ID)

	num := p.Document.Number
	d := p.DateOfBirth
	var out [][]byte
	for _, s := range []string{
		num, p.Document.Display(), num[1:7], // the number, its display form, its digits
		string(p.Mobile), p.Mobile.Display(),
		d.String(),
		fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day),
		fmt.Sprintf("%02d/%02d/%04d", d.Day, d.Month, d.Year),
		fmt.Sprintf("%d/%d/%d", d.Year, d.Month, d.Day),
	} {
		out = append(out, []byte(s), []byte(strings.ToLower(s)), []byte(hex.EncodeToString([]byte(s))))
	}
	return out
}

// checkNoSecrets fails if dump holds any of secrets.
func checkNoSecrets(t *testing.T, where string, dump []byte, secrets [][]byte) {
	t.Helper()
	for _, s := range secrets {
		if i := bytes.Index(dump, s); i >= 0 {
			t.Errorf("%s holds personal data in clear: %q at byte %d", where, s, i)
		}
	}
}

// NoClearPersonalData books, enquires, fails a verification and cancels for
// a patient on the fresh, empty store s, then fails t if raw, which returns
// every value the store keeps (each table's rows, as the database holds
// them), contains the patient's document number, date of birth or mobile
// number in any usual clear form, or hex-encoded.
func NoClearPersonalData(t *testing.T, s booking.Store, raw func(t *testing.T) []byte) {
	t.Helper()
	f := newFixture(t, func(*testing.T) booking.Store { return s })
	secrets := personalScenario(t, f)
	dump := raw(t)
	if len(dump) == 0 {
		t.Fatalf("raw dump is empty")
	}
	if !bytes.Contains(dump, []byte(f.prot.PatientKey(secretDocument))) {
		t.Errorf("raw dump lacks the patient key: does it cover the bookings?")
	}
	checkNoSecrets(t, "the raw tables", dump, secrets)
}

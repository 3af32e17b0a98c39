package bookingtest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
)

// householdCases check what lets one chat book a household and look after
// it: the offer next to the previous booking, the chat's own bookings,
// and the patient's access log, which lives as long as the booking's
// personal data.
var householdCases = []testCase{
	{"OfferNearThePreviousBooking", testOfferNear},
	{"BookerBookingsAreTheChatsOwn", testBookerBookings},
	{"PatientLogNamesWhoActed", testPatientLog},
	{"PatientLogEndsWithRetention", testPatientLogPurged},
}

func testOfferNear(t *testing.T, f *fixture) {
	before := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 45), 1)
	prev := f.slot(booking.ServiceClinic, wanChai, at(0, 11, 0), 2)
	after := f.slot(booking.ServiceClinic, wanChai, at(0, 11, 15), 1)
	f.slot(booking.ServiceClinic, wanChai, at(0, 14, 0), 1)         // far, the same day
	f.slot(booking.ServiceClinic, aberdeen, at(0, 11, 15), 5)       // another clinic
	next := f.slot(booking.ServiceClinic, wanChai, at(1, 11, 0), 5) // another day
	bk := booker(1)
	f.mustBook(patient(1), bk, prev.ID)

	offer := func(want booking.SlotID) {
		t.Helper()
		sl, until, err := f.svc.OfferNear(f.ctx, bk, prev.ID)
		if err != nil || sl.ID != want || !until.Equal(f.clock.Now().Add(f.svc.Rules.Hold)) {
			t.Fatalf("OfferNear = slot %d until %v, %v; want slot %d held for %v", sl.ID, until, err, want, f.svc.Rules.Hold)
		}
	}
	offer(prev.ID) // the same time, while it has a place
	// The hold keeps the place from the others, and the booker's next
	// offer replaces it rather than counting it.
	if _, err := f.book(patient(9), booker(9), prev.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("Book(the held place, by another chat) = %v, want ErrSlotTaken", err)
	}
	offer(prev.ID)
	f.mustBook(patient(2), bk, prev.ID)
	offer(after.ID) // the slot after comes before the slot before
	f.mustBook(patient(3), bk, after.ID)
	offer(before.ID)
	f.mustBook(patient(4), bk, before.ID)
	far, _, err := f.svc.OfferNear(f.ctx, bk, prev.ID)
	if err != nil || far.Start != at(0, 14, 0) {
		t.Errorf("OfferNear(the neighbours full) = %v, %v; want the 14:00 slot that day", far.Start, err)
	}
	f.mustBook(patient(5), bk, far.ID) // the held place
	if _, _, err := f.svc.OfferNear(f.ctx, bk, prev.ID); !errors.Is(err, booking.ErrQuotaFull) {
		t.Errorf("OfferNear(the day full) = %v, want ErrQuotaFull; the next day (slot %d) is not near", err, next.ID)
	}
	if _, _, err := f.svc.OfferNear(f.ctx, bk, 999999); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("OfferNear(no such slot) = %v, want ErrNotFound", err)
	}
	f.checkTaken("after the household's offers")
}

func testBookerBookings(t *testing.T, f *fixture) {
	a := f.slot(booking.ServiceClinic, wanChai, at(0, 11, 0), 3)
	b := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 3)
	v := f.slot(booking.ServiceVideo, "", at(1, 9, 0), 3)
	bk, other := booker(1), booker(2)
	first := f.mustBook(patient(1), bk, a.ID)
	second := f.mustBook(patient(2), bk, b.ID)
	third := f.mustBook(patient(3), bk, v.ID)
	f.mustBook(patient(4), other, a.ID)
	sameID := booking.Booker{Channel: booking.ChannelWhatsApp, ID: bk.ID}
	f.mustBook(patient(5), sameID, a.ID)

	refs := func(who booking.Booker) []booking.Reference {
		t.Helper()
		bs, err := f.svc.BookerBookings(f.ctx, who)
		if err != nil {
			t.Fatalf("BookerBookings(%v) = %v", who, err)
		}
		var out []booking.Reference
		for _, x := range bs {
			if x.Booker != who || x.Status != booking.StatusActive || x.PatientMasked == "" {
				t.Errorf("BookerBookings(%v) lists %+v", who, x)
			}
			out = append(out, x.Reference)
		}
		return out
	}
	if diff := cmp.Diff([]booking.Reference{second.Reference, first.Reference, third.Reference}, refs(bk)); diff != "" {
		t.Errorf("BookerBookings, in time order (-want +got):\n%s", diff)
	}
	if _, err := f.svc.CancelBound(f.ctx, bk, first.Reference); err != nil {
		t.Fatalf("CancelBound = %v", err)
	}
	if diff := cmp.Diff([]booking.Reference{second.Reference, third.Reference}, refs(bk)); diff != "" {
		t.Errorf("BookerBookings after a cancel (-want +got):\n%s", diff)
	}
	f.clock.Set(at(0, 10, 15)) // the 10:00 appointment has ended
	if diff := cmp.Diff([]booking.Reference{third.Reference}, refs(bk)); diff != "" {
		t.Errorf("BookerBookings after an appointment ended (-want +got):\n%s", diff)
	}
	if got := refs(booking.Booker{Channel: booking.ChannelTelegram}); len(got) != 0 {
		t.Errorf("BookerBookings(no id) = %v, want none: a purged booking names no booker", got)
	}
	if _, err := f.store.Purge(f.ctx, at(2, 0, 0)); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if got := refs(bk); len(got) != 0 {
		t.Errorf("BookerBookings after Purge = %v, want none", got)
	}
}

// actions lists the actions of records, in their order.
func actions(records []booking.AuditRecord) []booking.AuditAction {
	var out []booking.AuditAction
	for _, r := range records {
		out = append(out, r.Action)
	}
	return out
}

func testPatientLog(t *testing.T, f *fixture) {
	a := f.slot(booking.ServiceClinic, wanChai, at(0, 11, 0), 3)
	b := f.slot(booking.ServiceClinic, wanChai, at(0, 11, 15), 3)
	p, bk, carer, stranger := patient(1), booker(1), booker(2), booker(3)
	made := f.mustBook(p, bk, a.ID)
	f.mustBook(patient(2), bk, a.ID) // another patient's records are not in the log
	f.clock.Advance(time.Minute)
	if _, err := f.svc.Enquire(f.ctx, lookup(p, carer, a)); err != nil {
		t.Fatalf("Enquire = %v", err)
	}
	f.clock.Advance(time.Minute)
	wrong := lookup(p, stranger, a)
	wrong.DateOfBirth.Year++
	for range 2 {
		if _, err := f.svc.Enquire(f.ctx, wrong); !errors.Is(err, booking.ErrNotFound) {
			t.Fatalf("Enquire(wrong date of birth) = %v, want ErrNotFound", err)
		}
	}
	failedAt := f.clock.Now()
	f.clock.Advance(time.Minute)
	if _, err := f.svc.MoveBound(f.ctx, bk, made.Reference, b.ID, time.Time{}); err != nil {
		t.Fatalf("MoveBound = %v", err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.svc.CancelBound(f.ctx, stranger, made.Reference); !errors.Is(err, booking.ErrNotFound) {
		t.Fatalf("CancelBound(another chat) = %v, want ErrNotFound", err)
	}
	if _, err := f.svc.CancelBound(f.ctx, bk, made.Reference); err != nil {
		t.Fatalf("CancelBound = %v", err)
	}

	log, err := f.svc.AccessLog(f.ctx, p.Document)
	if err != nil {
		t.Fatalf("AccessLog = %v", err)
	}
	want := []booking.AuditAction{booking.AuditCancel, booking.AuditMove, booking.AuditEnquire, booking.AuditBook}
	if diff := cmp.Diff(want, actions(log.Records)); diff != "" {
		t.Errorf("AccessLog records, newest first (-want +got):\n%s", diff)
	}
	if log.Total != 4 || log.Failed != 2 || !log.LastFailed.Equal(failedAt) {
		t.Errorf("AccessLog = total %d, failed %d at %v; want 4, 2 at %v (a bound check that failed names no patient)", log.Total, log.Failed, log.LastFailed, failedAt)
	}
	for _, r := range log.Records {
		wantBooker := bk
		if r.Action == booking.AuditEnquire {
			wantBooker = carer
		}
		if r.Booker != wantBooker || r.At.IsZero() || r.BookingID != made.ID {
			t.Errorf("AccessLog record %+v, want booker %v, a time and booking %d", r, wantBooker, made.ID)
		}
	}
	latest, err := f.store.PatientLog(f.ctx, f.prot.PatientKey(p.Document), 2)
	if err != nil || latest.Total != 4 || len(latest.Records) != 2 || latest.Records[0].Action != booking.AuditCancel {
		t.Errorf("PatientLog(limit 2) = %d records of %d (%v), %v; want the 2 latest of 4", len(latest.Records), latest.Total, actions(latest.Records), err)
	}
	if none, err := f.svc.AccessLog(f.ctx, patient(7).Document); err != nil || none.Total != 0 || none.Failed != 0 || len(none.Records) != 0 {
		t.Errorf("AccessLog(a patient never booked) = %+v, %v; want nothing", none, err)
	}
}

func testPatientLogPurged(t *testing.T, f *fixture) {
	old := f.slot(booking.ServiceClinic, wanChai, at(0, 10, 0), 3)
	recent := f.slot(booking.ServiceClinic, wanChai, at(2, 10, 0), 3)
	p := patient(1)
	f.mustBook(p, booker(1), old.ID)
	wrong := lookup(p, booker(2), old)
	wrong.DateOfBirth.Day++
	if _, err := f.svc.Enquire(f.ctx, wrong); !errors.Is(err, booking.ErrNotFound) {
		t.Fatalf("Enquire(wrong) = %v, want ErrNotFound", err)
	}
	if n, err := f.store.Purge(f.ctx, at(1, 0, 0)); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	log, err := f.svc.AccessLog(f.ctx, p.Document)
	if err != nil || log.Total != 0 || log.Failed != 0 || len(log.Records) != 0 || !log.LastFailed.IsZero() {
		t.Errorf("AccessLog after the booking's purge = %+v, %v; want nothing: the log lives as long as the personal data", log, err)
	}
	// A new booking starts a new log.
	f.clock.Set(at(1, 9, 0))
	if err := f.svc.Screen(f.ctx, booker(3), p); err != nil {
		t.Fatalf("Screen = %v", err)
	}
	f.mustBook(p, booker(3), recent.ID)
	log, err = f.svc.AccessLog(f.ctx, p.Document)
	if err != nil || log.Total != 2 || len(log.Records) != 2 || log.Records[0].Booker != booker(3) {
		t.Errorf("AccessLog after booking again = %+v, %v; want the look-up and the booking by booker 3", log, err)
	}
}

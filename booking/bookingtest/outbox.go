package bookingtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
)

// outboxCases check the outbox: notices written in the transaction of the
// change that causes them, claimed by one dispatcher at a time, settled
// only by their claim's owner.
var outboxCases = []testCase{
	{"ReminderWrittenWithBooking", testReminderWritten},
	{"FailedBookWritesNoNotice", testFailedBookNoNotice},
	{"ConcurrentClaimsTakeEachNoticeOnce", testConcurrentClaims},
	{"LapsedClaimIsUnknown", testLapsedClaim},
	{"RetryThenFail", testRetryThenFail},
	{"CancelTellsTheBookingChat", testCancelNotice},
	{"MoveReschedulesReminder", testMoveNotice},
	{"OperatorChangesTellTheBookingChat", testOperatorNotices},
}

// outbox is the fixture's store as an Outbox; every store is one. The
// fixture's service writes reminders a day ahead, at any hour.
func (f *fixture) outbox() booking.Outbox {
	f.t.Helper()
	ob, ok := f.store.(booking.Outbox)
	if !ok {
		f.t.Fatalf("%T does not implement booking.Outbox", f.store)
	}
	return ob
}

func (f *fixture) remindDayAhead() {
	f.svc.Reminders = booking.Reminders{Before: 24 * time.Hour, Location: hk}
}

// notices returns the kind and status of each notice of booking id.
func (f *fixture) notices(id booking.BookingID) []string {
	f.t.Helper()
	ns, err := f.outbox().Notices(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Notices(%d): %v", id, err)
	}
	var out []string
	for _, n := range ns {
		s := fmt.Sprintf("%s %s", n.Kind, n.Status)
		if n.By != "" {
			s += " by " + n.By
		}
		if n.Reason != "" {
			s += ": " + n.Reason
		}
		out = append(out, s)
	}
	return out
}

func (f *fixture) claim(owner string, when time.Time, limit int) []booking.Notice {
	f.t.Helper()
	ns, err := f.outbox().ClaimNotices(f.ctx, booking.NoticeClaim{Owner: owner, At: when, Lease: time.Minute, Limit: limit})
	if err != nil {
		f.t.Fatalf("ClaimNotices(%s at %v): %v", owner, when, err)
	}
	return ns
}

func (f *fixture) counts(when time.Time) booking.OutboxCounts {
	f.t.Helper()
	c, err := f.outbox().NoticeCounts(f.ctx, when)
	if err != nil {
		f.t.Fatalf("NoticeCounts: %v", err)
	}
	return c
}

func testReminderWritten(t *testing.T, f *fixture) {
	f.remindDayAhead()
	sl := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), 2)
	made := f.mustBook(patient(1), booker(1), sl.ID)
	if diff := cmp.Diff([]string{"reminder pending"}, f.notices(made.ID)); diff != "" {
		t.Errorf("notices after Book (-want +got):\n%s", diff)
	}
	if got := f.claim("a", at(0, 9, 59), 10); len(got) != 0 {
		t.Errorf("ClaimNotices a minute before due = %d notices, want 0", len(got))
	}
	got := f.claim("a", at(0, 10, 0), 10)
	if len(got) != 1 {
		t.Fatalf("ClaimNotices when due = %d notices, want 1", len(got))
	}
	n := got[0]
	if n.Kind != booking.NoticeReminder || n.Booking.Reference != made.Reference || n.Booking.Booker != booker(1) ||
		!n.Due.Equal(at(0, 10, 0)) || !n.Deadline.Equal(sl.Start) || n.Attempts != 1 || n.Unknown {
		t.Errorf("claimed %+v, want the reminder of %s due %v, deadline %v, attempt 1, known", n, made.Reference, at(0, 10, 0), sl.Start)
	}
	if again := f.claim("b", at(0, 10, 0), 10); len(again) != 0 {
		t.Errorf("a second claim within the lease took %d notices, want 0", len(again))
	}
	if err := f.outbox().NoticeSent(f.ctx, n.ID, "a", "msg-1", at(0, 10, 0)); err != nil {
		t.Fatalf("NoticeSent: %v", err)
	}
	rows, _ := f.outbox().Notices(f.ctx, made.ID)
	if len(rows) != 1 || rows[0].Status != booking.NoticeSent || rows[0].MessageID != "msg-1" {
		t.Errorf("after NoticeSent: %+v, want sent with message id msg-1", rows)
	}
	if c := f.counts(at(2, 0, 0)); c != (booking.OutboxCounts{Sent: 1}) {
		t.Errorf("NoticeCounts = %+v, want one sent", c)
	}
}

func testFailedBookNoNotice(t *testing.T, f *fixture) {
	f.remindDayAhead()
	sl := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), 1)
	f.mustBook(patient(1), booker(1), sl.ID)
	if _, err := f.book(patient(2), booker(2), sl.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Fatalf("Book(full slot) = %v, want ErrSlotTaken", err)
	}
	if _, err := f.book(patient(1), booker(3), sl.ID); err == nil {
		t.Fatalf("Book(patient booked) succeeded")
	}
	if c := f.counts(at(2, 0, 0)); c.Pending != 1 || c.Sent+c.Failed+c.Sending+c.Dropped != 0 {
		t.Errorf("NoticeCounts = %+v, want the one booking's reminder only", c)
	}
	// A booking made closer to its appointment than Before is reminded now.
	soon := f.slot(booking.ServiceClinic, kwunTong, at(0, 12, 0), 1)
	made := f.mustBook(patient(4), booker(4), soon.ID)
	if got := f.claim("a", start, 10); len(got) != 1 || got[0].Booking.ID != made.ID {
		t.Errorf("ClaimNotices at once = %d notices, want the reminder of the booking made 3h ahead", len(got))
	}
}

func testConcurrentClaims(t *testing.T, f *fixture) {
	f.remindDayAhead()
	const n = 24
	sl := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), n)
	for i := range n {
		f.mustBook(patient(i), booker(i), sl.ID)
	}
	var (
		mu    sync.Mutex
		seen  = map[booking.NoticeID]string{}
		wg    sync.WaitGroup
		twice []booking.NoticeID
	)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("replica-%d", w)
			for {
				ns, err := f.outbox().ClaimNotices(f.ctx, booking.NoticeClaim{Owner: owner, At: at(0, 10, 0), Lease: time.Minute, Limit: 3})
				if err != nil {
					t.Errorf("ClaimNotices(%s): %v", owner, err)
					return
				}
				if len(ns) == 0 {
					return
				}
				mu.Lock()
				for _, x := range ns {
					if _, dup := seen[x.ID]; dup {
						twice = append(twice, x.ID)
					}
					seen[x.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n || len(twice) != 0 {
		t.Errorf("claimed %d distinct notices, %v twice; want %d, none twice", len(seen), twice, n)
	}
	for id, owner := range seen {
		if err := f.outbox().NoticeSent(f.ctx, id, owner, "m", at(0, 10, 0)); err != nil {
			t.Errorf("NoticeSent(%d by its owner %s): %v", id, owner, err)
		}
	}
}

func testLapsedClaim(t *testing.T, f *fixture) {
	f.remindDayAhead()
	sl := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), 1)
	f.mustBook(patient(1), booker(1), sl.ID)
	first := f.claim("a", at(0, 10, 0), 10)
	if len(first) != 1 {
		t.Fatalf("first claim = %d notices, want 1", len(first))
	}
	if got := f.claim("b", at(0, 10, 0).Add(59*time.Second), 10); len(got) != 0 {
		t.Errorf("claim before the lease lapsed = %d notices, want 0", len(got))
	}
	// "a" stopped between sending and marking: its lease lapses.
	second := f.claim("b", at(0, 10, 1), 10)
	if len(second) != 1 || !second[0].Unknown || second[0].Attempts != 2 {
		t.Fatalf("claim after the lease lapsed = %+v, want the notice, unknown, attempt 2", second)
	}
	if err := f.outbox().NoticeSent(f.ctx, first[0].ID, "a", "late", at(0, 10, 2)); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("NoticeSent by the lapsed owner = %v, want ErrNotFound", err)
	}
	if err := f.outbox().NoticeSent(f.ctx, second[0].ID, "b", "m2", at(0, 10, 2)); err != nil {
		t.Errorf("NoticeSent by the new owner = %v", err)
	}
	if c := f.counts(at(0, 11, 0)); c != (booking.OutboxCounts{Sent: 1}) {
		t.Errorf("NoticeCounts = %+v, want one sent", c)
	}
}

func testRetryThenFail(t *testing.T, f *fixture) {
	f.remindDayAhead()
	sl := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), 1)
	f.mustBook(patient(1), booker(1), sl.ID)
	n := f.claim("a", at(0, 10, 0), 10)[0]
	if err := f.outbox().RetryNotice(f.ctx, n.ID, "a", at(0, 10, 5), "timeout"); err != nil {
		t.Fatalf("RetryNotice: %v", err)
	}
	if c := f.counts(at(0, 10, 1)); c.Pending != 1 || !c.OldestPending.Equal(at(0, 10, 0)) {
		t.Errorf("NoticeCounts after a retry = %+v, want 1 pending since %v", c, at(0, 10, 0))
	}
	if got := f.claim("a", at(0, 10, 4), 10); len(got) != 0 {
		t.Errorf("claim before the retry time = %d notices, want 0", len(got))
	}
	again := f.claim("b", at(0, 10, 5), 10)
	if len(again) != 1 || again[0].Unknown || again[0].Attempts != 2 {
		t.Fatalf("claim at the retry time = %+v, want the notice, known, attempt 2", again)
	}
	if err := f.outbox().NoticeFailed(f.ctx, n.ID, "b", at(0, 10, 5), "deadline"); err != nil {
		t.Fatalf("NoticeFailed: %v", err)
	}
	if c := f.counts(at(0, 11, 0)); c != (booking.OutboxCounts{Failed: 1}) {
		t.Errorf("NoticeCounts = %+v, want one failed", c)
	}
}

func testCancelNotice(t *testing.T, f *fixture) {
	f.remindDayAhead()
	sl := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), 2)
	p1, p2 := patient(1), patient(2)
	mine := f.mustBook(p1, booker(1), sl.ID)
	theirs := f.mustBook(p2, booker(1), sl.ID)
	if _, err := f.svc.CancelBound(f.ctx, booker(1), mine.Reference); err != nil {
		t.Fatalf("CancelBound: %v", err)
	}
	if _, err := f.svc.Cancel(f.ctx, lookup(p2, booker(2), sl), theirs.Reference); err != nil {
		t.Fatalf("Cancel(from another chat): %v", err)
	}
	if diff := cmp.Diff([]string{"reminder dropped", "cancelled pending by booker"}, f.notices(mine.ID)); diff != "" {
		t.Errorf("notices of the booking cancelled by its chat (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"reminder dropped", "cancelled pending by other"}, f.notices(theirs.ID)); diff != "" {
		t.Errorf("notices of the booking cancelled from another chat (-want +got):\n%s", diff)
	}
	ns := f.claim("a", start, 10)
	if len(ns) != 2 || ns[0].Sequence != 1 || ns[0].Booking.Status != booking.StatusCancelled || ns[0].Booking.Booker != booker(1) {
		t.Errorf("claimed %+v, want two cancel notices for booker 1, SEQUENCE 1", ns)
	}
}

func testMoveNotice(t *testing.T, f *fixture) {
	f.remindDayAhead()
	a := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), 1)
	b := f.slot(booking.ServiceClinic, wanChai, at(2, 16, 0), 1)
	made := f.mustBook(patient(1), booker(1), a.ID)
	if _, err := f.svc.MoveBound(f.ctx, booker(1), made.Reference, b.ID, time.Time{}); err != nil {
		t.Fatalf("MoveBound: %v", err)
	}
	if diff := cmp.Diff([]string{"reminder dropped", "moved pending by booker", "reminder pending"}, f.notices(made.ID)); diff != "" {
		t.Errorf("notices after a move (-want +got):\n%s", diff)
	}
	ns := f.claim("a", at(1, 16, 0), 10)
	if len(ns) != 2 || ns[0].Kind != booking.NoticeMoved || ns[0].Sequence != 1 || ns[1].Kind != booking.NoticeReminder ||
		!ns[1].Due.Equal(at(1, 16, 0)) || ns[1].Booking.Slot.ID != b.ID {
		t.Errorf("claimed %+v, want the move (SEQUENCE 1) and the reminder due %v for the new slot", ns, at(1, 16, 0))
	}
}

func testOperatorNotices(t *testing.T, f *fixture) {
	f.remindDayAhead()
	ss := f.staffStore()
	sl := f.slot(booking.ServiceClinic, wanChai, at(1, 10, 0), 2)
	other := f.slot(booking.ServiceClinic, kwunTong, at(1, 11, 0), 1)
	a := f.mustBook(patient(1), booker(1), sl.ID)
	b := f.mustBook(patient(2), booker(2), sl.ID)
	c := f.mustBook(patient(3), booker(3), other.ID)
	ops := booking.StaffActor{Name: "ops"}
	if _, err := ss.CloseSlot(f.ctx, booking.SlotChange{Actor: ops, SlotID: sl.ID, Reason: "typhoon", At: start}); err != nil {
		t.Fatalf("CloseSlot: %v", err)
	}
	if _, err := ss.StaffCancel(f.ctx, booking.BookingChange{Actor: ops, BookingID: c.ID, Reason: "doctor ill", At: start}); err != nil {
		t.Fatalf("StaffCancel: %v", err)
	}
	for _, tt := range []struct {
		id   booking.BookingID
		want []string
	}{
		{a.ID, []string{"reminder dropped", "closed pending by operator: typhoon"}},
		{b.ID, []string{"reminder dropped", "closed pending by operator: typhoon"}},
		{c.ID, []string{"reminder dropped", "cancelled pending by operator: doctor ill"}},
	} {
		if diff := cmp.Diff(tt.want, f.notices(tt.id)); diff != "" {
			t.Errorf("notices of booking %d (-want +got):\n%s", tt.id, diff)
		}
	}
	if c := f.counts(start); c.Pending != 3 || c.Dropped != 3 || !c.OldestPending.Equal(start) {
		t.Errorf("NoticeCounts = %+v, want 3 pending since %v and 3 dropped", c, start)
	}
}

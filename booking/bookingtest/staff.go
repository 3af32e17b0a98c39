package bookingtest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
)

// Durations the staff cases use.
const (
	minute = time.Minute
	hour   = time.Hour
)

// staffCases check the booking.StaffStore contract: accounts, sessions,
// lock-out counting, closing and reopening slots, staff cancels and the
// staff audit.
var staffCases = []testCase{
	{"Accounts", testStaffAccounts},
	{"LoginFailuresAndSessions", testStaffSessions},
	{"CloseAndReopenSlot", testCloseSlot},
	{"CloseSlotRefusals", testCloseSlotRefusals},
	{"StaffCancel", testStaffCancel},
	{"SaveSlotsKeepsClosedSlotsClosed", testSaveSlotsKeepsClosed},
	{"MarkAttendance", testMarkAttendance},
}

// staffStore is the fixture's store as a StaffStore; every store is one.
func (f *fixture) staffStore() booking.StaffStore {
	f.t.Helper()
	ss, ok := f.store.(booking.StaffStore)
	if !ok {
		f.t.Fatalf("%T does not implement booking.StaffStore", f.store)
	}
	return ss
}

// addStaff adds an account for clinic (empty: an admin).
func (f *fixture) addStaff(name string, clinic booking.ClinicID) booking.StaffAccount {
	f.t.Helper()
	a := booking.StaffAccount{Name: name, ClinicID: clinic, PasswordHash: "$argon2id$test$" + name, CreatedAt: f.clock.Now()}
	if err := f.staffStore().AddStaff(f.ctx, a); err != nil {
		f.t.Fatalf("AddStaff(%s): %v", name, err)
	}
	return a
}

// staffActions returns the staff audit's actions since the suite's start.
func (f *fixture) staffActions() []booking.StaffAuditAction {
	f.t.Helper()
	rs, err := f.staffStore().StaffAudit(f.ctx, start.AddDate(0, 0, -1))
	if err != nil {
		f.t.Fatalf("StaffAudit: %v", err)
	}
	var out []booking.StaffAuditAction
	for _, r := range rs {
		out = append(out, r.Action)
	}
	return out
}

func testStaffAccounts(t *testing.T, f *fixture) {
	ss := f.staffStore()
	nurse := f.addStaff("nurse", aberdeen)
	admin := f.addStaff("admin", "")
	if err := ss.AddStaff(f.ctx, nurse); !errors.Is(err, booking.ErrConflict) {
		t.Errorf("AddStaff(name in use) = %v, want ErrConflict", err)
	}
	if err := ss.AddStaff(f.ctx, booking.StaffAccount{Name: "x", ClinicID: "nowhere", PasswordHash: "h", CreatedAt: start}); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("AddStaff(unknown clinic) = %v, want ErrNotFound", err)
	}
	got, err := ss.StaffAccounts(f.ctx)
	if err != nil {
		t.Fatalf("StaffAccounts: %v", err)
	}
	if diff := cmp.Diff([]booking.StaffAccount{admin, nurse}, got); diff != "" {
		t.Errorf("StaffAccounts mismatch (-want +got):\n%s", diff)
	}
	if a, err := ss.StaffAccount(f.ctx, "admin"); err != nil || !a.Admin() || !a.Sees("") {
		t.Errorf("StaffAccount(admin) = %+v, %v; want an admin", a, err)
	}
	if _, err := ss.StaffAccount(f.ctx, "nobody"); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("StaffAccount(nobody) = %v, want ErrNotFound", err)
	}

	sess := booking.StaffSession{TokenHash: "h-nurse", Staff: "nurse", CreatedAt: start, ExpiresAt: start.Add(hour)}
	if err := ss.StartStaffSession(f.ctx, sess); err != nil {
		t.Fatalf("StartStaffSession: %v", err)
	}
	if err := ss.RemoveStaff(f.ctx, "nurse", start); err != nil {
		t.Fatalf("RemoveStaff: %v", err)
	}
	if _, _, err := ss.StaffSession(f.ctx, "h-nurse", start); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("StaffSession after RemoveStaff = %v, want ErrNotFound", err)
	}
	if err := ss.RemoveStaff(f.ctx, "nurse", start); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("RemoveStaff again = %v, want ErrNotFound", err)
	}
	want := []booking.StaffAuditAction{booking.StaffAuditAddAccount, booking.StaffAuditAddAccount,
		booking.StaffAuditLogin, booking.StaffAuditRemoveAccount}
	if diff := cmp.Diff(want, f.staffActions()); diff != "" {
		t.Errorf("staff audit mismatch (-want +got):\n%s", diff)
	}
}

func testStaffSessions(t *testing.T, f *fixture) {
	ss := f.staffStore()
	f.addStaff("nurse", aberdeen)
	if _, err := ss.StaffLoginFailed(f.ctx, "nobody", start); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("StaffLoginFailed(nobody) = %v, want ErrNotFound", err)
	}
	if _, err := ss.StaffLoginFailed(f.ctx, "nurse", start); err != nil {
		t.Fatalf("StaffLoginFailed: %v", err)
	}
	a, err := ss.StaffLoginFailed(f.ctx, "nurse", start.Add(minute))
	if err != nil || a.Failures != 2 || !a.LastFailureAt.Equal(start.Add(minute)) {
		t.Errorf("StaffLoginFailed twice = %d failures, last %v, %v; want 2 at %v", a.Failures, a.LastFailureAt, err, start.Add(minute))
	}

	sess := booking.StaffSession{TokenHash: "h1", Staff: "nurse", CreatedAt: start.Add(2 * minute), ExpiresAt: start.Add(hour)}
	if err := ss.StartStaffSession(f.ctx, sess); err != nil {
		t.Fatalf("StartStaffSession: %v", err)
	}
	got, acct, err := ss.StaffSession(f.ctx, "h1", start.Add(hour-minute))
	if err != nil || got != sess || acct.Name != "nurse" || acct.ClinicID != aberdeen || acct.Failures != 0 {
		t.Errorf("StaffSession = %+v, %+v, %v; want the session, its account with no failures", got, acct, err)
	}
	if _, _, err := ss.StaffSession(f.ctx, "h1", start.Add(hour)); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("StaffSession(at expiry) = %v, want ErrNotFound", err)
	}
	if _, _, err := ss.StaffSession(f.ctx, "other", start); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("StaffSession(unknown token) = %v, want ErrNotFound", err)
	}
	// A sign-in removes the sessions that expired by then: asked about a
	// time before its expiry, the old session is gone.
	old := booking.StaffSession{TokenHash: "h0", Staff: "nurse", CreatedAt: start.Add(-2 * hour), ExpiresAt: start.Add(-hour)}
	if err := ss.StartStaffSession(f.ctx, old); err != nil {
		t.Fatalf("StartStaffSession(old): %v", err)
	}
	if err := ss.StartStaffSession(f.ctx, booking.StaffSession{TokenHash: "h2", Staff: "nurse", CreatedAt: start.Add(2 * minute), ExpiresAt: start.Add(hour)}); err != nil {
		t.Fatalf("StartStaffSession(h2): %v", err)
	}
	if _, _, err := ss.StaffSession(f.ctx, "h0", start.Add(-2*hour)); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("StaffSession(expired, after a later sign-in) = %v, want ErrNotFound (removed)", err)
	}
	if err := ss.EndStaffSession(f.ctx, "h1", start.Add(3*minute)); err != nil {
		t.Fatalf("EndStaffSession: %v", err)
	}
	if _, _, err := ss.StaffSession(f.ctx, "h1", start.Add(3*minute)); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("StaffSession after EndStaffSession = %v, want ErrNotFound", err)
	}
	if err := ss.EndStaffSession(f.ctx, "h1", start.Add(3*minute)); err != nil {
		t.Errorf("EndStaffSession again = %v, want nil", err)
	}
	want := []booking.StaffAuditAction{booking.StaffAuditLogin, booking.StaffAuditAddAccount, booking.StaffAuditLoginFailed,
		booking.StaffAuditLoginFailed, booking.StaffAuditLogin, booking.StaffAuditLogin, booking.StaffAuditLogout}
	if diff := cmp.Diff(want, f.staffActions()); diff != "" {
		t.Errorf("staff audit mismatch (-want +got):\n%s", diff)
	}
}

func testCloseSlot(t *testing.T, f *fixture) {
	ss := f.staffStore()
	sl := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 3)
	other := f.slot(booking.ServiceClinic, aberdeen, at(0, 11, 0), 3)
	b1 := f.mustBook(patient(1), booker(1), sl.ID)
	b2 := f.mustBook(patient(2), booker(2), sl.ID)
	kept := f.mustBook(patient(3), booker(3), other.ID)
	nurse := booking.StaffActor{Name: "nurse", ClinicID: aberdeen}

	cancelled, err := ss.CloseSlot(f.ctx, booking.SlotChange{Actor: nurse, SlotID: sl.ID, Reason: "doctor ill", At: start})
	if err != nil {
		t.Fatalf("CloseSlot: %v", err)
	}
	if len(cancelled) != 2 || cancelled[0].ID != b1.ID || cancelled[1].ID != b2.ID ||
		cancelled[0].Status != booking.StatusCancelled || cancelled[1].Status != booking.StatusCancelled {
		t.Errorf("CloseSlot cancelled %+v, want bookings %d and %d cancelled", cancelled, b1.ID, b2.ID)
	}
	if got := f.reload(sl); got.Capacity != 0 || got.Taken != 0 {
		t.Errorf("closed slot capacity %d taken %d, want 0 and 0", got.Capacity, got.Taken)
	}
	if _, err := f.book(patient(4), booker(4), sl.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("Book(closed slot) = %v, want ErrSlotTaken", err)
	}
	if b := f.bookings(booking.BookingQuery{Status: booking.StatusActive}); len(b) != 1 || b[0].ID != kept.ID {
		t.Errorf("active bookings after CloseSlot = %v, want only the other slot's", b)
	}
	closures, err := ss.SlotClosures(f.ctx, at(0, 0, 0), at(1, 0, 0))
	want := []booking.SlotClosure{{SlotID: sl.ID, Capacity: 3, Reason: "doctor ill", Staff: "nurse", At: start}}
	if diff := cmp.Diff(want, closures); err != nil || diff != "" {
		t.Errorf("SlotClosures = %v (-want +got):\n%s", err, diff)
	}
	if again, err := ss.CloseSlot(f.ctx, booking.SlotChange{Actor: nurse, SlotID: sl.ID, Reason: "again", At: start}); err != nil || len(again) != 0 {
		t.Errorf("CloseSlot(closed) = %v, %v; want nothing changed", again, err)
	}
	f.checkTaken("after close")

	if err := ss.ReopenSlot(f.ctx, booking.SlotChange{Actor: nurse, SlotID: sl.ID, Reason: "doctor back", At: start}); err != nil {
		t.Fatalf("ReopenSlot: %v", err)
	}
	if got := f.reload(sl); got.Capacity != 3 || got.Taken != 0 {
		t.Errorf("reopened slot capacity %d taken %d, want 3 and 0", got.Capacity, got.Taken)
	}
	if cs, err := ss.SlotClosures(f.ctx, at(0, 0, 0), at(1, 0, 0)); err != nil || len(cs) != 0 {
		t.Errorf("SlotClosures after reopen = %v, %v; want none", cs, err)
	}
	f.mustBook(patient(4), booker(4), sl.ID)
	f.checkTaken("after reopen")

	// The booking audit says the staff member cancelled them.
	records, err := f.store.Audit(f.ctx, start)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	var byStaff int
	for _, r := range records {
		if r.Action == booking.AuditCancel && r.Booker == (booking.Booker{Channel: booking.ChannelStaff, ID: "nurse"}) {
			byStaff++
		}
	}
	if byStaff != 2 {
		t.Errorf("booking audit: %d cancels by staff nurse, want 2", byStaff)
	}
	wantActions := []booking.StaffAuditAction{booking.StaffAuditCancelBooking, booking.StaffAuditCancelBooking,
		booking.StaffAuditCloseSlot, booking.StaffAuditReopenSlot}
	if diff := cmp.Diff(wantActions, f.staffActions()); diff != "" {
		t.Errorf("staff audit mismatch (-want +got):\n%s", diff)
	}
}

func testCloseSlotRefusals(t *testing.T, f *fixture) {
	ss := f.staffStore()
	sl := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 3)
	f.mustBook(patient(1), booker(1), sl.ID)
	elsewhere := booking.StaffActor{Name: "nurse", ClinicID: wanChai}
	if _, err := ss.CloseSlot(f.ctx, booking.SlotChange{Actor: elsewhere, SlotID: sl.ID, Reason: "r", At: start}); !errors.Is(err, booking.ErrNotPermitted) {
		t.Errorf("CloseSlot(another clinic's slot) = %v, want ErrNotPermitted", err)
	}
	if err := ss.ReopenSlot(f.ctx, booking.SlotChange{Actor: elsewhere, SlotID: sl.ID, At: start}); !errors.Is(err, booking.ErrNotPermitted) {
		t.Errorf("ReopenSlot(another clinic's slot) = %v, want ErrNotPermitted", err)
	}
	admin := booking.StaffActor{Name: "admin"}
	if _, err := ss.CloseSlot(f.ctx, booking.SlotChange{Actor: admin, SlotID: sl.ID, Reason: "r", At: at(0, 10, 0)}); !errors.Is(err, booking.ErrAppointmentStarted) {
		t.Errorf("CloseSlot(at its start) = %v, want ErrAppointmentStarted", err)
	}
	if _, err := ss.CloseSlot(f.ctx, booking.SlotChange{Actor: admin, SlotID: 999999, Reason: "r", At: start}); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("CloseSlot(no such slot) = %v, want ErrNotFound", err)
	}
	if got := f.reload(sl); got.Capacity != 3 || got.Taken != 1 {
		t.Errorf("slot after refusals: capacity %d taken %d, want 3 and 1", got.Capacity, got.Taken)
	}
	if got := f.staffActions(); len(got) != 0 {
		t.Errorf("staff audit after refusals = %v, want nothing", got)
	}
}

func testStaffCancel(t *testing.T, f *fixture) {
	ss := f.staffStore()
	sl := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 3)
	b := f.mustBook(patient(1), booker(1), sl.ID)
	elsewhere := booking.StaffActor{Name: "other", ClinicID: wanChai}
	if _, err := ss.StaffCancel(f.ctx, booking.BookingChange{Actor: elsewhere, BookingID: b.ID, Reason: "r", At: start}); !errors.Is(err, booking.ErrNotPermitted) {
		t.Errorf("StaffCancel(another clinic's booking) = %v, want ErrNotPermitted", err)
	}
	if _, err := ss.StaffCancel(f.ctx, booking.BookingChange{Actor: elsewhere, BookingID: 999999, At: start}); !errors.Is(err, booking.ErrNotFound) {
		t.Errorf("StaffCancel(no such booking) = %v, want ErrNotFound", err)
	}
	nurse := booking.StaffActor{Name: "nurse", ClinicID: aberdeen}
	if _, err := ss.StaffCancel(f.ctx, booking.BookingChange{Actor: nurse, BookingID: b.ID, At: at(0, 10, 0)}); !errors.Is(err, booking.ErrAppointmentStarted) {
		t.Errorf("StaffCancel(at its start) = %v, want ErrAppointmentStarted", err)
	}
	got, err := ss.StaffCancel(f.ctx, booking.BookingChange{Actor: nurse, BookingID: b.ID, Reason: "patient phoned", At: start})
	if err != nil || got.Status != booking.StatusCancelled || !got.CancelledAt.Equal(start) {
		t.Fatalf("StaffCancel = %+v, %v; want cancelled at %v", got, err, start)
	}
	if s := f.reload(sl); s.Taken != 0 {
		t.Errorf("slot taken after StaffCancel = %d, want 0", s.Taken)
	}
	again, err := ss.StaffCancel(f.ctx, booking.BookingChange{Actor: nurse, BookingID: b.ID, Reason: "again", At: start.Add(minute)})
	if err != nil || again != got {
		t.Errorf("StaffCancel again = %+v, %v; want the cancelled booking unchanged", again, err)
	}
	if viaID, err := ss.StaffBooking(f.ctx, b.ID); err != nil || viaID != got {
		t.Errorf("StaffBooking = %+v, %v; want the cancelled booking", viaID, err)
	}
	f.checkTaken("after staff cancel")
	rs, err := ss.StaffAudit(f.ctx, start)
	if err != nil || len(rs) != 1 {
		t.Fatalf("StaffAudit = %d records, %v; want 1", len(rs), err)
	}
	want := booking.StaffAuditRecord{ID: rs[0].ID, At: start, Staff: "nurse", Action: booking.StaffAuditCancelBooking,
		ClinicID: aberdeen, SlotID: sl.ID, BookingID: b.ID, Detail: "patient phoned"}
	if diff := cmp.Diff(want, rs[0]); diff != "" {
		t.Errorf("staff audit record mismatch (-want +got):\n%s", diff)
	}
}

func testSaveSlotsKeepsClosed(t *testing.T, f *fixture) {
	ss := f.staffStore()
	sl := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 3)
	admin := booking.StaffActor{Name: "admin"}
	if _, err := ss.CloseSlot(f.ctx, booking.SlotChange{Actor: admin, SlotID: sl.ID, Reason: "r", At: start}); err != nil {
		t.Fatalf("CloseSlot: %v", err)
	}
	// The schedule is imported again, with a new capacity.
	f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 5)
	if got := f.reload(sl); got.Capacity != 0 {
		t.Errorf("closed slot's capacity after an import = %d, want 0 (still closed)", got.Capacity)
	}
	if _, err := f.book(patient(1), booker(1), sl.ID); !errors.Is(err, booking.ErrSlotTaken) {
		t.Errorf("Book(closed slot after an import) = %v, want ErrSlotTaken", err)
	}
	if err := ss.ReopenSlot(f.ctx, booking.SlotChange{Actor: admin, SlotID: sl.ID, At: start}); err != nil {
		t.Fatalf("ReopenSlot: %v", err)
	}
	if got := f.reload(sl); got.Capacity != 5 {
		t.Errorf("reopened capacity = %d, want 5 (the imported one)", got.Capacity)
	}
}

func testMarkAttendance(t *testing.T, f *fixture) {
	ss := f.staffStore()
	sl := f.slot(booking.ServiceClinic, aberdeen, at(0, 10, 0), 3)
	came := f.mustBook(patient(1), booker(1), sl.ID)
	cancelled := f.mustBook(patient(2), booker(2), sl.ID)
	if _, err := ss.StaffCancel(f.ctx, booking.BookingChange{Actor: booking.StaffActor{Name: "admin"}, BookingID: cancelled.ID, Reason: "r", At: start}); err != nil {
		t.Fatalf("StaffCancel: %v", err)
	}
	nurse := booking.StaffActor{Name: "nurse", ClinicID: aberdeen}
	mark := func(actor booking.StaffActor, id booking.BookingID, m booking.Attendance, when time.Time) error {
		return ss.MarkAttendance(f.ctx, booking.AttendanceMark{Actor: actor, BookingID: id, Mark: m, At: when})
	}
	for _, tt := range []struct {
		name  string
		actor booking.StaffActor
		id    booking.BookingID
		mark  booking.Attendance
		at    time.Time
		want  error
	}{
		{"BeforeTheStart", nurse, came.ID, booking.Attended, at(0, 9, 59), booking.ErrAppointmentNotStarted},
		{"AnotherClinic", booking.StaffActor{Name: "x", ClinicID: wanChai}, came.ID, booking.Attended, at(0, 10, 5), booking.ErrNotPermitted},
		{"Cancelled", nurse, cancelled.ID, booking.NoShow, at(0, 10, 5), booking.ErrNotFound},
		{"NoSuchBooking", nurse, 999999, booking.NoShow, at(0, 10, 5), booking.ErrNotFound},
	} {
		if err := mark(tt.actor, tt.id, tt.mark, tt.at); !errors.Is(err, tt.want) {
			t.Errorf("%s: MarkAttendance = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := mark(nurse, came.ID, "maybe", at(0, 10, 5)); !isValidation(err, "attendance") {
		t.Errorf("MarkAttendance(maybe) = %v, want a ValidationError for attendance", err)
	}
	if err := mark(nurse, came.ID, booking.NoShow, at(0, 10, 5)); err != nil {
		t.Fatalf("MarkAttendance(no-show): %v", err)
	}
	if err := mark(nurse, came.ID, booking.Attended, at(0, 10, 10)); err != nil {
		t.Fatalf("MarkAttendance(attended, a correction): %v", err)
	}
	got, err := ss.Attendance(f.ctx, at(0, 0, 0), at(1, 0, 0))
	want := []booking.AttendanceMark{{Actor: booking.StaffActor{Name: "nurse"}, BookingID: came.ID, Mark: booking.Attended, At: at(0, 10, 10)}}
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("Attendance = %v (-want +got):\n%s", err, diff)
	}
	if got, err := ss.Attendance(f.ctx, at(1, 0, 0), at(2, 0, 0)); err != nil || len(got) != 0 {
		t.Errorf("Attendance(the next day) = %v, %v; want none", got, err)
	}
}

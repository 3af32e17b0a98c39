package staff

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/locales"
)

// cheap are argon2id parameters that keep the tests fast; the hash records
// them, so checking works as with the real ones.
var cheap = argonParams{Memory: 64, Time: 1, Threads: 1}

var hk = booking.HongKong()

// testNow is the tests' "now": Monday 10 March 2025, 09:00 in Hong Kong.
var testNow = time.Date(2025, time.March, 10, 9, 0, 0, 0, hk)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Clinics, accounts and their passwords the tests use.
const (
	clinicA  booking.ClinicID = "clinic-a"
	clinicB  booking.ClinicID = "clinic-b"
	password                  = "correct horse battery"
)

// fixture is a console over a fresh SQLite store with two clinics, a day
// of slots at each, a booking at each, and three accounts: nurse-a (clinic
// A), nurse-b (clinic B) and admin.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	store    *sqlite.Store
	srv      *Server
	clock    *clock
	slotA    booking.Slot // 10:00 at clinic A, booked by patientA
	slotB    booking.Slot // 10:00 at clinic B, booked by patientB
	bookingA booking.Booking
	bookingB booking.Booking
}

// The patients' personal data, which no page may show in clear.
var (
	patientA = booking.Patient{Document: mustHKID("A123456"), DateOfBirth: booking.Date{Year: 1950, Month: 1, Day: 2}, Mobile: "91234567"}
	patientB = booking.Patient{Document: mustHKID("B765432"), DateOfBirth: booking.Date{Year: 1960, Month: 3, Day: 4}, Mobile: "98765432"}
)

func mustHKID(body string) booking.Document {
	for _, c := range "0123456789A" {
		if d, err := booking.ParseHKID(body + string(c)); err == nil {
			return d
		}
	}
	panic("no HKID for " + body)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "clinicbot.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{t: t, ctx: ctx, store: store, clock: &clock{now: testNow.UTC()}}
	var clinics []booking.Clinic
	for _, id := range []booking.ClinicID{clinicA, clinicB} {
		clinics = append(clinics, booking.Clinic{ID: id, Region: booking.RegionHongKong,
			Name: booking.Text{ZhHK: "診所 " + string(id), En: "Clinic " + string(id), ZhCN: "诊所 " + string(id)}})
	}
	if err := store.SaveClinics(ctx, clinics); err != nil {
		t.Fatalf("SaveClinics: %v", err)
	}
	var slots []booking.Slot
	for _, id := range []booking.ClinicID{clinicA, clinicB} {
		for _, h := range []int{10, 11} {
			start := time.Date(2025, time.March, 10, h, 0, 0, 0, hk)
			slots = append(slots, booking.Slot{Service: booking.ServiceClinic, ClinicID: id, Start: start.UTC(), End: start.Add(15 * time.Minute).UTC(), Capacity: 4})
		}
	}
	if _, err := store.SaveSlots(ctx, slots); err != nil {
		t.Fatalf("SaveSlots: %v", err)
	}
	prot, err := booking.NewProtector(bytes.Repeat([]byte("k"), booking.MinKeySize))
	if err != nil {
		t.Fatalf("NewProtector: %v", err)
	}
	svc := booking.NewService(store, prot)
	svc.Now = f.clock.Now
	f.slotA, f.slotB = f.findSlot(clinicA, 10), f.findSlot(clinicB, 10)
	for i, x := range []struct {
		p    booking.Patient
		slot booking.Slot
		out  *booking.Booking
	}{{patientA, f.slotA, &f.bookingA}, {patientB, f.slotB, &f.bookingB}} {
		*x.out, err = svc.Book(ctx, booking.BookRequest{Patient: x.p, SlotID: x.slot.ID, ConsentAt: f.clock.Now(),
			Booker: booking.Booker{Channel: booking.ChannelTelegram, ID: fmt.Sprint(1000 + i)}})
		if err != nil {
			t.Fatalf("Book: %v", err)
		}
	}
	for _, a := range []booking.StaffAccount{{Name: "nurse-a", ClinicID: clinicA}, {Name: "nurse-b", ClinicID: clinicB}, {Name: "admin"}} {
		a.PasswordHash, a.CreatedAt = hashPassword(password, cheap), f.clock.Now()
		if err := store.AddStaff(ctx, a); err != nil {
			t.Fatalf("AddStaff: %v", err)
		}
	}
	f.srv, err = New(Options{Store: store, Staff: store, Now: f.clock.Now, Insecure: true})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func (f *fixture) findSlot(clinic booking.ClinicID, hour int) booking.Slot {
	f.t.Helper()
	start := time.Date(2025, time.March, 10, hour, 0, 0, 0, hk).UTC()
	slots, err := f.store.Slots(f.ctx, booking.SlotQuery{ClinicID: clinic, From: start, To: start.Add(time.Minute)})
	if err != nil || len(slots) != 1 {
		f.t.Fatalf("Slots(%s, %d:00) = %v, %v; want one", clinic, hour, slots, err)
	}
	return slots[0]
}

// client is one browser: its cookies and the last CSRF token it saw.
type client struct {
	f       *fixture
	cookies map[string]*http.Cookie
	csrf    string
}

func (f *fixture) client() *client { return &client{f: f, cookies: map[string]*http.Cookie{}} }

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// do sends a request through the console and keeps what it sets.
func (c *client) do(req *http.Request) *httptest.ResponseRecorder {
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.f.srv.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	if m := csrfField.FindStringSubmatch(rec.Body.String()); m != nil {
		c.csrf = m[1]
	}
	return rec
}

func (c *client) get(path string) *httptest.ResponseRecorder {
	return c.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// post posts form; a "csrf" value given is sent as is, otherwise the
// client's token is added.
func (c *client) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// login signs in as name with pw and returns the answer.
func (c *client) login(name, pw string) *httptest.ResponseRecorder {
	c.get("/staff/login")
	return c.post("/staff/login", url.Values{"name": {name}, "password": {pw}})
}

// signedIn returns a client signed in as name.
func (f *fixture) signedIn(name string) *client {
	f.t.Helper()
	c := f.client()
	if rec := c.login(name, password); rec.Code != http.StatusSeeOther {
		f.t.Fatalf("login(%s) = %d, want 303\n%s", name, rec.Code, rec.Body)
	}
	c.get("/staff/day")
	return c
}

func (f *fixture) bookingStatus(id booking.BookingID) booking.Status {
	f.t.Helper()
	b, err := f.store.StaffBooking(f.ctx, id)
	if err != nil {
		f.t.Fatalf("StaffBooking(%d): %v", id, err)
	}
	return b.Status
}

func TestNoSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client()
	for _, path := range []string{"/staff/day", "/staff/quota", "/staff/schedule"} {
		if rec := c.get(path); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/staff/login" {
			t.Errorf("GET %s without a session = %d to %q, want 303 to /staff/login", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	form := url.Values{"reason": {"x"}, "csrf": {"0123"}}
	for _, path := range []string{
		fmt.Sprintf("/staff/bookings/%d/cancel", f.bookingA.ID),
		fmt.Sprintf("/staff/slots/%d/close", f.slotA.ID),
		"/staff/logout",
	} {
		if rec := c.post(path, form); rec.Code != http.StatusForbidden {
			t.Errorf("POST %s without a session = %d, want 403", path, rec.Code)
		}
	}
	// A made-up session cookie is no session.
	c.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: "forged"}
	if rec := c.post(fmt.Sprintf("/staff/bookings/%d/cancel", f.bookingA.ID), form); rec.Code != http.StatusForbidden {
		t.Errorf("POST cancel with a forged session = %d, want 403", rec.Code)
	}
	if got := f.bookingStatus(f.bookingA.ID); got != booking.StatusActive {
		t.Errorf("booking after refused posts = %s, want active", got)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nurse := f.signedIn("nurse-a")
	other := f.signedIn("nurse-a") // a second session of the same account
	path := fmt.Sprintf("/staff/bookings/%d/cancel", f.bookingA.ID)
	for _, tt := range []struct {
		name string
		form url.Values
	}{
		{"Missing", url.Values{"reason": {"phoned in"}}},
		{"Empty", url.Values{"reason": {"phoned in"}, "csrf": {""}}},
		{"Wrong", url.Values{"reason": {"phoned in"}, "csrf": {strings.Repeat("0", 64)}}},
		{"AnotherSessions", url.Values{"reason": {"phoned in"}, "csrf": {other.csrf}}},
	} {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(tt.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if rec := nurse.do(req); rec.Code != http.StatusForbidden {
			t.Errorf("%s: POST cancel = %d, want 403", tt.name, rec.Code)
		}
	}
	if got := f.bookingStatus(f.bookingA.ID); got != booking.StatusActive {
		t.Fatalf("booking after refused posts = %s, want active", got)
	}
	// The login form needs its token too.
	c := f.client()
	c.get("/staff/login")
	if rec := c.post("/staff/login", url.Values{"name": {"nurse-a"}, "password": {password}, "csrf": {"bad"}}); rec.Code != http.StatusForbidden {
		t.Errorf("POST login with a wrong token = %d, want 403", rec.Code)
	}
	if _, ok := c.cookies[sessionCookie]; ok {
		t.Errorf("login with a wrong token set a session cookie")
	}

	rec := nurse.post(path, url.Values{"reason": {"phoned in"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("POST cancel with the token = %d, want 200\n%s", rec.Code, rec.Body)
	}
	if got := f.bookingStatus(f.bookingA.ID); got != booking.StatusCancelled {
		t.Errorf("booking after cancel = %s, want cancelled", got)
	}
	if body := rec.Body.String(); !strings.Contains(body, text(locales.ZhHK, "result.notified")) {
		t.Errorf("cancel confirmation does not say the booker is being told:\n%s", body)
	}
}

func TestWrongClinic(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nurse := f.signedIn("nurse-a")
	if rec := nurse.get("/staff/day?clinic=" + string(clinicB)); rec.Code != http.StatusForbidden {
		t.Errorf("GET day of another clinic = %d, want 403", rec.Code)
	}
	form := url.Values{"reason": {"not mine"}}
	for _, path := range []string{
		fmt.Sprintf("/staff/bookings/%d/cancel", f.bookingB.ID),
		fmt.Sprintf("/staff/slots/%d/close", f.slotB.ID),
		fmt.Sprintf("/staff/slots/%d/reopen", f.slotB.ID),
	} {
		if rec := nurse.post(path, form); rec.Code != http.StatusForbidden {
			t.Errorf("POST %s (clinic B) as nurse-a = %d, want 403", path, rec.Code)
		}
	}
	if rec := nurse.post("/staff/day/close", url.Values{"reason": {"x"}, "clinic": {string(clinicB)}, "date": {"2025-03-10"}}); rec.Code != http.StatusForbidden {
		t.Errorf("POST close day of clinic B as nurse-a = %d, want 403", rec.Code)
	}
	if got := f.bookingStatus(f.bookingB.ID); got != booking.StatusActive {
		t.Errorf("clinic B's booking = %s, want active", got)
	}
	if sl, _ := f.store.Slot(f.ctx, f.slotB.ID); sl.Capacity != 4 {
		t.Errorf("clinic B's slot capacity = %d, want 4 (not closed)", sl.Capacity)
	}
	// The day page shows only the nurse's clinic.
	body := nurse.get("/staff/day").Body.String()
	if !strings.Contains(body, string(f.bookingA.Reference)) || strings.Contains(body, string(f.bookingB.Reference)) {
		t.Errorf("nurse-a's day page: want booking %s and not %s", f.bookingA.Reference, f.bookingB.Reference)
	}
	// An upload with another clinic's rows is refused whole.
	rec := nurse.upload("week.csv", "service,clinic,date,start,end,capacity\nclinic,clinic-a,2025-03-11,09:00,09:15,4\nclinic,clinic-b,2025-03-11,09:00,09:15,4\n")
	if rec.Code != http.StatusForbidden {
		t.Errorf("upload with clinic B's rows = %d, want 403", rec.Code)
	}
	if slots, _ := f.store.Slots(f.ctx, booking.SlotQuery{From: time.Date(2025, 3, 11, 0, 0, 0, 0, hk)}); len(slots) != 0 {
		t.Errorf("refused upload stored %d slot(s), want none", len(slots))
	}
	// The admin sees both.
	admin := f.signedIn("admin")
	body = admin.get("/staff/day").Body.String()
	if !strings.Contains(body, string(f.bookingA.Reference)) || !strings.Contains(body, string(f.bookingB.Reference)) {
		t.Errorf("admin's day page: want both bookings")
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client()
	for i := range 5 {
		if rec := c.login("nurse-a", "wrong password!"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d = %d, want 401", i+1, rec.Code)
		}
	}
	rec := c.login("nurse-a", password)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), text(locales.ZhHK, "login.failed")) {
		t.Fatalf("right password on a locked account = %d, want 401 with the refusal", rec.Code)
	}
	if _, ok := c.cookies[sessionCookie]; ok {
		t.Fatalf("a locked account got a session cookie")
	}
	// Another account is not locked by them.
	if rec := f.client().login("nurse-b", password); rec.Code != http.StatusSeeOther {
		t.Errorf("login of another account = %d, want 303", rec.Code)
	}
	// The lock lifts LockFor after the last failure.
	f.clock.Advance(15 * time.Minute)
	if rec := c.login("nurse-a", password); rec.Code != http.StatusSeeOther {
		t.Errorf("login after the lock-out = %d, want 303", rec.Code)
	}
	// Unknown names are refused the same way and not recorded.
	if rec := f.client().login("nobody", password); rec.Code != http.StatusUnauthorized {
		t.Errorf("login of an unknown name = %d, want 401", rec.Code)
	}
	audit, err := f.store.StaffAudit(f.ctx, testNow)
	if err != nil {
		t.Fatalf("StaffAudit: %v", err)
	}
	failed := 0
	for _, r := range audit {
		if r.Action == booking.StaffAuditLoginFailed {
			failed++
			if r.Staff != "nurse-a" {
				t.Errorf("failed login recorded for %q, want only nurse-a", r.Staff)
			}
		}
	}
	if failed != 6 {
		t.Errorf("failed logins audited = %d, want 6", failed)
	}
}

func TestCookies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	secure, err := New(Options{Store: f.store, Staff: f.store, Now: f.clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, tt := range []struct {
		name       string
		srv        *Server
		wantSecure bool
	}{{"Loopback", f.srv, false}, {"Default", secure, true}} {
		f.srv = tt.srv
		c := f.client()
		rec := c.login("admin", password)
		var session *http.Cookie
		for _, ck := range rec.Result().Cookies() {
			if ck.Name == sessionCookie {
				session = ck
			}
		}
		if session == nil {
			t.Fatalf("%s: login set no session cookie", tt.name)
		}
		if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure != tt.wantSecure {
			t.Errorf("%s: session cookie HttpOnly %v SameSite %v Secure %v; want true, Strict, %v",
				tt.name, session.HttpOnly, session.SameSite, session.Secure, tt.wantSecure)
		}
		// The store keeps only the token's hash.
		if _, _, err := f.store.StaffSession(f.ctx, session.Value, f.clock.Now()); err == nil {
			t.Errorf("%s: the session token itself finds a session; want only its hash stored", tt.name)
		}
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.signedIn("nurse-a")
	token := c.cookies[sessionCookie].Value
	if rec := c.post("/staff/logout", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("logout = %d, want 303", rec.Code)
	}
	if _, _, err := f.store.StaffSession(f.ctx, tokenHash(token), f.clock.Now()); err == nil {
		t.Errorf("session still stored after logout")
	}
	c.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: token}
	if rec := c.get("/staff/day"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET day with the old token = %d, want 303 to login", rec.Code)
	}
}

func TestDayPageMasksPatients(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	admin := f.signedIn("admin")
	for _, lang := range locales.Languages() {
		rec := admin.get("/staff/day?date=2025-03-10&lang=" + lang)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: day page = %d", lang, rec.Code)
		}
		for _, p := range []booking.Patient{patientA, patientB} {
			if !strings.Contains(body, p.Document.Masked()) {
				t.Errorf("%s: day page lacks the masked document %s", lang, p.Document.Masked())
			}
			for _, clear := range []string{p.Document.Number, string(p.Mobile), p.Document.Number[:7]} {
				if strings.Contains(body, clear) {
					t.Errorf("%s: day page shows %q in clear", lang, clear)
				}
			}
		}
		if !strings.Contains(body, `lang="`+lang+`"`) || !strings.Contains(body, text(lang, "day.reference")) {
			t.Errorf("%s: day page not in %s", lang, lang)
		}
	}
}

func TestCloseSlotAndReopen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nurse := f.signedIn("nurse-a")
	path := fmt.Sprintf("/staff/slots/%d/close", f.slotA.ID)
	for _, why := range []string{"  ", strings.Repeat("醫", maxReason+1)} {
		if rec := nurse.post(path, url.Values{"reason": {why}}); rec.Code != http.StatusBadRequest {
			t.Errorf("close with a reason of %d characters = %d, want 400", len([]rune(why)), rec.Code)
		}
	}
	rec := nurse.post(path, url.Values{"reason": {strings.Repeat("醫", maxReason-len(" doctor ill")) + " doctor ill"}, "date": {"2025-03-10"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("close = %d\n%s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if !strings.Contains(body, text(locales.ZhHK, "result.closed", 1, 1)) || !strings.Contains(body, text(locales.ZhHK, "result.notified")) ||
		!strings.Contains(body, patientA.Document.Masked()) {
		t.Errorf("close confirmation lacks the count, the masked patient or the notice:\n%s", body)
	}
	if got := f.bookingStatus(f.bookingA.ID); got != booking.StatusCancelled {
		t.Errorf("booking on the closed slot = %s, want cancelled", got)
	}
	// The page's word is kept: the booking chat's notice is in the outbox.
	if ns, err := f.store.Notices(f.ctx, f.bookingA.ID); err != nil || len(ns) == 0 ||
		ns[len(ns)-1].Kind != booking.NoticeClosed || ns[len(ns)-1].Status != booking.NoticePending {
		t.Errorf("outbox after the close = %+v, %v; want the booking's closed notice pending", ns, err)
	}
	if !strings.Contains(nurse.get("/staff/day?date=2025-03-10").Body.String(), "doctor ill") {
		t.Errorf("day page does not show the closed slot's reason")
	}
	if rec := nurse.post(fmt.Sprintf("/staff/slots/%d/reopen", f.slotA.ID), url.Values{"reason": {"doctor back"}}); rec.Code != http.StatusOK {
		t.Fatalf("reopen = %d", rec.Code)
	}
	if sl, _ := f.store.Slot(f.ctx, f.slotA.ID); sl.Capacity != 4 {
		t.Errorf("reopened capacity = %d, want 4", sl.Capacity)
	}
}

func TestCloseDay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nurse := f.signedIn("nurse-a")
	rec := nurse.post("/staff/day/close", url.Values{"reason": {"typhoon"}, "clinic": {string(clinicA)}, "date": {"2025-03-10"}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), text(locales.ZhHK, "result.closed", 2, 1)) {
		t.Fatalf("close day = %d, want 2 slots closed and 1 booking cancelled\n%s", rec.Code, rec.Body)
	}
	for _, h := range []int{10, 11} {
		if sl := f.findSlot(clinicA, h); sl.Capacity != 0 {
			t.Errorf("clinic A %d:00 capacity = %d, want 0", h, sl.Capacity)
		}
	}
	if sl := f.findSlot(clinicB, 10); sl.Capacity != 4 {
		t.Errorf("clinic B's slot capacity = %d, want 4", sl.Capacity)
	}
	// Closing it again closes nothing more, and says so.
	rec = nurse.post("/staff/day/close", url.Values{"reason": {"typhoon"}, "clinic": {string(clinicA)}, "date": {"2025-03-10"}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), text(locales.ZhHK, "result.closed", 0, 0)) {
		t.Errorf("close the closed day = %d, want 0 slots closed\n%s", rec.Code, rec.Body)
	}
}

// upload posts a schedule file.
func (c *client) upload(name, content string) *httptest.ResponseRecorder {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", c.csrf)
	fw, _ := mw.CreateFormFile("file", name)
	io.WriteString(fw, content)
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/staff/schedule", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func TestUpload(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nurse := f.signedIn("nurse-a")
	nurse.get("/staff/schedule")
	bad := "service,clinic,date,start,end,capacity\n" +
		"clinic,clinic-a,2025-03-12,09:00,09:15,4\n" +
		"clinic,nowhere,2025-03-12,09:00,09:15,4\n" +
		"clinic,clinic-a,2025-03-12,10:00,09:15,4\n"
	rec := nurse.upload("bad.csv", bad)
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "line 3") || !strings.Contains(body, "line 4") || strings.Contains(body, "line 2:") {
		t.Errorf("bad upload = %d, want 422 naming lines 3 and 4 only\n%s", rec.Code, body)
	}
	day := time.Date(2025, 3, 12, 0, 0, 0, 0, hk)
	if slots, _ := f.store.Slots(f.ctx, booking.SlotQuery{From: day}); len(slots) != 0 {
		t.Errorf("bad upload stored %d slot(s), want none", len(slots))
	}
	rec = nurse.upload("good.csv", "service,clinic,date,start,end,capacity\nclinic,clinic-a,2025-03-12,09:00,09:15,4\n")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), text(locales.ZhHK, "schedule.done", 1, 1, 0, 0)) {
		t.Errorf("good upload = %d\n%s", rec.Code, rec.Body)
	}
	if rec := nurse.upload("notes.txt", "x"); rec.Code != http.StatusBadRequest {
		t.Errorf("upload of a .txt = %d, want 400", rec.Code)
	}
}

func TestQuota(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := f.signedIn("nurse-a").get("/staff/quota?date=2025-03-10")
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `<meter min="0" max="8" value="1"`) || strings.Contains(body, "clinic-b") {
		t.Errorf("quota = %d, want clinic A's bar 1 of 8 and no clinic B\n%s", rec.Code, body)
	}
}

func TestMessagesComplete(t *testing.T) {
	t.Parallel()
	verbs := regexp.MustCompile(`%[a-z]`)
	def := messages[locales.Default]
	for _, lang := range locales.Languages() {
		m, ok := messages[lang]
		if !ok {
			t.Errorf("no catalog for %s", lang)
			continue
		}
		for key, v := range def {
			got, ok := m[key]
			if !ok || strings.TrimSpace(got) == "" {
				t.Errorf("%s: %s missing", lang, key)
				continue
			}
			if a, b := verbs.FindAllString(v, -1), verbs.FindAllString(got, -1); strings.Join(a, "") != strings.Join(b, "") {
				t.Errorf("%s: %s has verbs %v, %s has %v", lang, key, b, locales.Default, a)
			}
		}
		for key := range m {
			if _, ok := def[key]; !ok {
				t.Errorf("%s: %s is not in %s", lang, key, locales.Default)
			}
		}
	}
	if len(messages) != len(locales.Languages()) {
		t.Errorf("catalogs for %d languages, want %d", len(messages), len(locales.Languages()))
	}
}

// TestTemplatesUseKnownKeys keeps a template from naming a key that is in no
// catalog (it would show the key itself).
func TestTemplatesUseKnownKeys(t *testing.T) {
	t.Parallel()
	key := regexp.MustCompile(`\.T "([a-z_.]+)"`)
	entries, err := assets.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := assets.ReadFile("templates/" + e.Name())
		for _, m := range key.FindAllStringSubmatch(string(data), -1) {
			if _, ok := messages[locales.Default][m[1]]; !ok {
				t.Errorf("%s: key %q is in no catalog", e.Name(), m[1])
			}
		}
	}
}

func TestPassword(t *testing.T) {
	t.Parallel()
	if _, err := HashPassword("short"); err == nil {
		t.Errorf("HashPassword(short) = nil error, want ErrWeakPassword")
	}
	h := hashPassword(password, cheap)
	for _, tt := range []struct {
		pw   string
		want bool
	}{{password, true}, {password + " ", false}, {"", false}} {
		if ok, err := checkPassword(h, tt.pw); ok != tt.want || err != nil {
			t.Errorf("checkPassword(%q) = %v, %v; want %v", tt.pw, ok, err, tt.want)
		}
	}
	if _, err := checkPassword("plain", password); err == nil {
		t.Errorf("checkPassword(not a hash) = nil error")
	}
	if a, b := NewPassword(), NewPassword(); len(a) != 20 || a == b {
		t.Errorf("NewPassword = %q, %q; want two different 20-character passwords", a, b)
	}
}

func TestAttendance(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nurse := f.signedIn("nurse-a")
	path := fmt.Sprintf("/staff/bookings/%d/attendance", f.bookingA.ID)
	if rec := nurse.post(path, url.Values{"mark": {"attended"}}); rec.Code != http.StatusConflict {
		t.Errorf("mark before the slot starts = %d, want 409", rec.Code)
	}
	if strings.Contains(nurse.get("/staff/day").Body.String(), path) {
		t.Errorf("day page offers attendance marks before the slot starts")
	}
	f.clock.Advance(time.Hour + 5*time.Minute) // 10:05, the 10:00 slot has started
	if rec := nurse.post(fmt.Sprintf("/staff/bookings/%d/attendance", f.bookingB.ID), url.Values{"mark": {"attended"}}); rec.Code != http.StatusForbidden {
		t.Errorf("mark another clinic's booking = %d, want 403", rec.Code)
	}
	if rec := nurse.post(path, url.Values{"mark": {"maybe"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("mark maybe = %d, want 400", rec.Code)
	}
	rec := nurse.post(path, url.Values{"mark": {"no_show"}, "date": {"2025-03-10"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("mark no-show = %d, want 303", rec.Code)
	}
	back, _, _ := strings.Cut(rec.Header().Get("Location"), "#") // a browser keeps the fragment to itself
	body := nurse.get(back).Body.String()
	if !strings.Contains(body, `value="no_show" aria-pressed="true"`) || !strings.Contains(body, text(locales.ZhHK, "attendance.no_show")) {
		t.Errorf("day page does not show the no-show mark")
	}
	marks, err := f.store.Attendance(f.ctx, testNow, testNow.Add(24*time.Hour))
	if err != nil || len(marks) != 1 || marks[0].Mark != booking.NoShow || marks[0].Actor.Name != "nurse-a" {
		t.Errorf("Attendance = %+v, %v; want nurse-a's no-show", marks, err)
	}
}

func TestCancelStarted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nurse := f.signedIn("nurse-a")
	f.clock.Advance(time.Hour) // 10:00: the slot starts
	rec := nurse.post(fmt.Sprintf("/staff/bookings/%d/cancel", f.bookingA.ID), url.Values{"reason": {"too late"}})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), text(locales.ZhHK, "error.started")) {
		t.Errorf("cancel at the slot's start = %d, want 409 saying it has started", rec.Code)
	}
	if got := f.bookingStatus(f.bookingA.ID); got != booking.StatusActive {
		t.Errorf("booking after a refused cancel = %s, want active", got)
	}
	if strings.Contains(nurse.get("/staff/day").Body.String(), fmt.Sprintf("/staff/bookings/%d/cancel", f.bookingA.ID)) {
		t.Errorf("day page offers to cancel a booking whose slot has started")
	}
}

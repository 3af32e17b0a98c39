// Package bookingtest is the conformance suite every booking.Store passes.
//
// A store's own test runs it:
//
//	func TestStore(t *testing.T) {
//		bookingtest.Exercise(t, func(t *testing.T) booking.Store { return openTestStore(t) })
//	}
//
// Exercise checks each Store method against the contract in booking/store.go
// and, through booking.Service with a fake clock and a test Protector key,
// the booking rules that rest on the store: quota, the booking window, video
// eligibility, one active booking per patient, idempotency, verification and
// its cool-down, cancellation, the audit trail, purging and concurrency.
// NoClearPersonalData lets a store scan its raw tables for personal data.
package bookingtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// Clock is a fake clock for booking.Service.Now, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// CloseOnCleanup closes s when tb ends and fails tb if that fails: every
// store's test opens its store this way.
func CloseOnCleanup(tb testing.TB, s booking.Store) {
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
}

// NewProtector returns a Protector over a fresh random key, for tests that
// need one of their own (two of them never open each other's values).
func NewProtector(tb testing.TB) *booking.Protector {
	tb.Helper()
	key := make([]byte, booking.MinKeySize)
	rand.Read(key)
	p, err := booking.NewProtector(key)
	if err != nil {
		tb.Fatalf("NewProtector: %v", err)
	}
	return p
}

// TestKey is the Protector master key the suite uses.
var TestKey = bytes.Repeat([]byte("clinicbot-test-key/"), 2)

// hk is the clinics' time zone.
var hk = booking.HongKong()

// at returns the time h:m in Hong Kong on day days after Monday
// 10 March 2025, in UTC.
func at(day, h, m int) time.Time {
	return time.Date(2025, time.March, 10+day, h, m, 0, 0, hk).UTC()
}

// start is the suite's "now": Monday 10 March 2025, 09:00 in Hong Kong.
var start = at(0, 9, 0)

// testClinics are saved by every fixture, deliberately out of order.
var testClinics = []booking.Clinic{
	clinic("kwun-tong", booking.RegionKowloon, 22.3133, 114.2253),
	clinic("wan-chai", booking.RegionHongKong, 22.2783, 114.1747),
	clinic("tuen-mun", booking.RegionNewTerritories, 22.3908, 113.9725),
	clinic("aberdeen", booking.RegionHongKong, 22.2480, 114.1530),
}

// Clinic IDs the cases use.
const (
	aberdeen booking.ClinicID = "aberdeen"
	wanChai  booking.ClinicID = "wan-chai"
	kwunTong booking.ClinicID = "kwun-tong"
	tuenMun  booking.ClinicID = "tuen-mun"
)

func clinic(id booking.ClinicID, r booking.Region, lat, lng float64) booking.Clinic {
	return booking.Clinic{
		ID:       id,
		Region:   r,
		District: booking.Text{ZhHK: "區 " + string(id), En: "District " + string(id), ZhCN: "区 " + string(id)},
		Name:     booking.Text{ZhHK: "診所 " + string(id), En: "Clinic " + string(id), ZhCN: "诊所 " + string(id)},
		Address:  booking.Text{ZhHK: "地址 " + string(id), En: "Address " + string(id), ZhCN: "地址 " + string(id)},
		Location: booking.Coordinates{Lat: lat, Lng: lng},
		Source:   "bookingtest",
	}
}

// fixture is one case's fresh store, with a Service over it.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store booking.Store
	svc   *booking.Service
	clock *Clock
	prot  *booking.Protector
}

func newFixture(t *testing.T, open func(t *testing.T) booking.Store) *fixture {
	t.Helper()
	prot, err := booking.NewProtector(TestKey)
	if err != nil {
		t.Fatalf("NewProtector: %v", err)
	}
	store := open(t)
	clock := NewClock(start)
	f := &fixture{
		t:     t,
		ctx:   t.Context(),
		store: store,
		clock: clock,
		prot:  prot,
		svc:   &booking.Service{Store: store, Protector: prot, Rules: booking.DefaultRules(), Now: clock.Now},
	}
	if err := store.SaveClinics(f.ctx, testClinics); err != nil {
		t.Fatalf("SaveClinics: %v", err)
	}
	return f
}

// slot adds a slot of service at clinic (empty for video) from begin, 15
// minutes long, and returns it as stored.
func (f *fixture) slot(service booking.ServiceKind, clinic booking.ClinicID, begin time.Time, capacity int) booking.Slot {
	f.t.Helper()
	if _, err := f.store.SaveSlots(f.ctx, []booking.Slot{{
		Service: service, ClinicID: clinic, Start: begin, End: begin.Add(15 * time.Minute), Capacity: capacity,
	}}); err != nil {
		f.t.Fatalf("SaveSlots: %v", err)
	}
	return f.find(service, clinic, begin)
}

// find returns the stored slot of service at clinic starting at begin.
func (f *fixture) find(service booking.ServiceKind, clinic booking.ClinicID, begin time.Time) booking.Slot {
	f.t.Helper()
	slots, err := f.store.Slots(f.ctx, booking.SlotQuery{Service: service, ClinicID: clinic, From: begin, To: begin.Add(time.Microsecond)})
	if err != nil {
		f.t.Fatalf("Slots: %v", err)
	}
	if len(slots) != 1 {
		f.t.Fatalf("Slots(%s, %q, %v) = %d slots, want 1", service, clinic, begin, len(slots))
	}
	return slots[0]
}

// reload returns slot as it is now.
func (f *fixture) reload(sl booking.Slot) booking.Slot {
	f.t.Helper()
	got, err := f.store.Slot(f.ctx, sl.ID)
	if err != nil {
		f.t.Fatalf("Slot(%d): %v", sl.ID, err)
	}
	return got
}

// patient returns the i-th test patient: an HKID holder born on 17 May 1980.
func patient(i int) booking.Patient {
	return booking.Patient{
		Document:    hkid(fmt.Sprintf("Z%06d", i)),
		DateOfBirth: booking.Date{Year: 1980, Month: time.May, Day: 17},
		Mobile:      booking.Mobile(fmt.Sprintf("9%07d", i)),
	}
}

// hkid returns the HKID with body (letters and six digits) and the right
// check character.
func hkid(body string) booking.Document {
	for _, c := range "0123456789A" {
		if d, err := booking.ParseHKID(body + string(c)); err == nil {
			return d
		}
	}
	panic("bookingtest: no check character makes " + body + " an HKID")
}

// booker returns the i-th test booker, on Telegram.
func booker(i int) booking.Booker {
	return booking.Booker{Channel: booking.ChannelTelegram, ID: strconv.Itoa(100000 + i)}
}

// book books slot for p by b through the Service, consenting now.
func (f *fixture) book(p booking.Patient, b booking.Booker, slot booking.SlotID) (booking.Booking, error) {
	return f.svc.Book(f.ctx, booking.BookRequest{Patient: p, Booker: b, SlotID: slot, ConsentAt: f.clock.Now()})
}

// mustBook is book that must succeed.
func (f *fixture) mustBook(p booking.Patient, b booking.Booker, slot booking.SlotID) booking.Booking {
	f.t.Helper()
	bk, err := f.book(p, b, slot)
	if err != nil {
		f.t.Fatalf("Book(slot %d) = %v, want a booking", slot, err)
	}
	return bk
}

// lookup is what b gives to find p's booking at the slot's service and clinic.
func lookup(p booking.Patient, b booking.Booker, sl booking.Slot) booking.Lookup {
	return booking.Lookup{Booker: b, Document: p.Document, DateOfBirth: p.DateOfBirth, Service: sl.Service, ClinicID: sl.ClinicID}
}

// bookings returns the bookings of q.
func (f *fixture) bookings(q booking.BookingQuery) []booking.Booking {
	f.t.Helper()
	bs, err := f.store.Bookings(f.ctx, q)
	if err != nil {
		f.t.Fatalf("Bookings: %v", err)
	}
	return bs
}

// checkTaken fails the test unless every slot's places taken equals its
// bookings that hold a place (active or completed), as seen through Slots
// and Bookings.
func (f *fixture) checkTaken(step string) {
	f.t.Helper()
	slots, err := f.store.Slots(f.ctx, booking.SlotQuery{})
	if err != nil {
		f.t.Fatalf("%s: Slots: %v", step, err)
	}
	holding := make(map[booking.SlotID]int)
	for _, b := range f.bookings(booking.BookingQuery{}) {
		if b.Status != booking.StatusCancelled {
			holding[b.Slot.ID]++
		}
	}
	for _, sl := range slots {
		if sl.Taken != holding[sl.ID] || sl.Taken > sl.Capacity {
			f.t.Errorf("%s: slot %d: taken %d, capacity %d, bookings holding a place %d",
				step, sl.ID, sl.Taken, sl.Capacity, holding[sl.ID])
		}
	}
}

// Exercise runs the conformance suite. open returns a fresh, empty,
// migrated store for one case and arranges its Close and removal with
// t.Cleanup; cases run in parallel.
func Exercise(t *testing.T, open func(t *testing.T) booking.Store) {
	t.Helper()
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Store", storeCases},
		{"Service", serviceCases},
		{"Verification", verificationCases},
		{"Concurrency", concurrencyCases},
		{"Staff", staffCases},
		{"Hold", holdCases},
		{"Household", householdCases},
		{"Outbox", outboxCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, newFixture(t, open))
				})
			}
		})
	}
}

// testCase is one case of the suite, run on a fresh fixture.
type testCase struct {
	name string
	run  func(t *testing.T, f *fixture)
}

// isValidation reports whether err is a *booking.ValidationError for field.
func isValidation(err error, field string) bool {
	var ve *booking.ValidationError
	return errors.As(err, &ve) && ve.Field == field
}

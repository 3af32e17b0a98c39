package booking_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/booking"
)

// countingStore answers Clinics and QuotaCounts from fields and counts the
// calls; every other Store method is left to the nil embedded interface.
type countingStore struct {
	booking.Store
	clinicCalls, quotaCalls atomic.Int64
	mu                      sync.Mutex
	clinics                 []booking.Clinic
	taken                   int
	fail                    error
}

func (s *countingStore) Clinics(context.Context) ([]booking.Clinic, error) {
	s.clinicCalls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	return append([]booking.Clinic(nil), s.clinics...), nil
}

// Slots answers that no slot has room: the quota has run out since it was
// cached.
func (s *countingStore) Slots(context.Context, booking.SlotQuery) ([]booking.Slot, error) {
	return nil, nil
}

func (s *countingStore) QuotaCounts(context.Context, time.Time, time.Time, time.Time) ([]booking.QuotaCount, error) {
	s.quotaCalls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	return []booking.QuotaCount{{Service: booking.ServiceVideo, Capacity: 10, Taken: s.taken}}, nil
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newCachingService(ttl time.Duration) (*booking.Service, *countingStore, *fakeClock) {
	store := &countingStore{clinics: []booking.Clinic{{ID: "c1", Region: "hk"}, {ID: "c2", Region: "kln"}}}
	clock := &fakeClock{now: time.Date(2025, 3, 4, 1, 0, 0, 0, time.UTC)}
	svc := &booking.Service{Store: store, Rules: booking.DefaultRules(), Now: clock.Now, ClinicsTTL: ttl, QuotaTTL: ttl}
	return svc, store, clock
}

// TestServiceCacheTTL: with a TTL, the clinic list and the quota are read
// from the store again only once the TTL has passed by the service's clock;
// without one, every call reads the store.
func TestServiceCacheTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ttl   time.Duration
		steps []time.Duration // clock moves before each of the calls after the first
		want  int64           // store reads of each kind
	}{
		{name: "no_cache", ttl: 0, steps: []time.Duration{0, 0, time.Hour}, want: 4},
		{name: "within_ttl", ttl: time.Second, steps: []time.Duration{0, 999 * time.Millisecond}, want: 1},
		{name: "ttl_passed", ttl: time.Second, steps: []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 0}, want: 2},
		{name: "clock_set_back", ttl: time.Minute, steps: []time.Duration{-time.Second}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, store, clock := newCachingService(tt.ttl)
			ctx := context.Background()
			for i := range len(tt.steps) + 1 {
				if i > 0 {
					clock.Add(tt.steps[i-1])
				}
				if _, err := svc.Clinics(ctx, ""); err != nil {
					t.Fatalf("Clinics = %v", err)
				}
				if _, err := svc.Quota(ctx); err != nil {
					t.Fatalf("Quota = %v", err)
				}
			}
			if got := store.clinicCalls.Load(); got != tt.want {
				t.Errorf("store Clinics calls = %d, want %d", got, tt.want)
			}
			if got := store.quotaCalls.Load(); got != tt.want {
				t.Errorf("store QuotaCounts calls = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestServiceCacheServesNewValues: once the TTL has passed, callers see
// what the store holds now, and a failed read is not cached.
func TestServiceCacheServesNewValues(t *testing.T) {
	t.Parallel()
	svc, store, clock := newCachingService(time.Second)
	ctx := context.Background()
	if q, err := svc.Quota(ctx); err != nil || q.Video.Remaining != 10 {
		t.Fatalf("Quota = %+v, %v; want 10 remaining", q.Video, err)
	}
	store.mu.Lock()
	store.taken = 10
	store.mu.Unlock()
	if q, _ := svc.Quota(ctx); q.Video.Remaining != 10 {
		t.Errorf("Quota within the TTL = %+v, want the cached 10 remaining", q.Video)
	}
	clock.Add(time.Second)
	if q, _ := svc.Quota(ctx); q.Video.Level != booking.QuotaFull {
		t.Errorf("Quota after the TTL = %+v, want full", q.Video)
	}

	errDown := errors.New("store down")
	store.mu.Lock()
	store.fail = errDown
	store.mu.Unlock()
	clock.Add(time.Second)
	if _, err := svc.Clinic(ctx, "c1"); !errors.Is(err, errDown) {
		t.Fatalf("Clinic with the store down = %v, want %v", err, errDown)
	}
	store.mu.Lock()
	store.fail = nil
	store.mu.Unlock()
	c, err := svc.Clinic(ctx, "c2")
	if err != nil {
		t.Fatalf("Clinic after the store recovered = %v", err)
	}
	if diff := cmp.Diff(booking.Clinic{ID: "c2", Region: "kln"}, c); diff != "" {
		t.Errorf("Clinic(c2) (-want +got):\n%s", diff)
	}
}

// TestServiceCacheDroppedWhenFull: when a search finds no room, the cached
// quota status, which still showed room, is dropped at once rather than
// sending bookers round a full clinic until the TTL passes.
func TestServiceCacheDroppedWhenFull(t *testing.T) {
	t.Parallel()
	svc, store, _ := newCachingService(time.Minute)
	ctx := context.Background()
	if q, err := svc.Quota(ctx); err != nil || q.Video.Remaining != 10 {
		t.Fatalf("Quota = %+v, %v; want 10 remaining", q.Video, err)
	}
	store.mu.Lock()
	store.taken = 10
	store.mu.Unlock()
	if _, err := svc.EarliestSlot(ctx, booking.ServiceVideo, ""); !errors.Is(err, booking.ErrQuotaFull) {
		t.Fatalf("EarliestSlot = %v, want %v", err, booking.ErrQuotaFull)
	}
	if q, _ := svc.Quota(ctx); q.Video.Level != booking.QuotaFull {
		t.Errorf("Quota after EarliestSlot found no room = %+v, want full", q.Video)
	}
	if got := store.quotaCalls.Load(); got != 2 {
		t.Errorf("store QuotaCounts calls = %d, want 2", got)
	}
}

// TestServiceCacheCallersCannotChangeIt: what Clinics returns is the
// caller's own.
func TestServiceCacheCallersCannotChangeIt(t *testing.T) {
	t.Parallel()
	svc, _, _ := newCachingService(time.Minute)
	ctx := context.Background()
	all, err := svc.Clinics(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	all[0].ID = "changed"
	again, err := svc.Clinics(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if again[0].ID != "c1" {
		t.Errorf("Clinics after a caller changed its copy = %v, want c1 first", again[0].ID)
	}
}

// TestServiceCacheConcurrent: concurrent callers on a stale cache share one
// store read (run with -race).
func TestServiceCacheConcurrent(t *testing.T) {
	t.Parallel()
	svc, store, _ := newCachingService(time.Minute)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := svc.Clinic(context.Background(), "c1"); err != nil {
				t.Errorf("Clinic = %v", err)
			}
		})
	}
	wg.Wait()
	if got := store.clinicCalls.Load(); got != 1 {
		t.Errorf("store Clinics calls = %d, want 1", got)
	}
}

// TestServiceCacheKeptWhenAlreadyFull: a search that finds no room keeps a
// cached quota status that already shows none, so a crowd meeting a full
// service does not make every caller wait for a fresh load.
func TestServiceCacheKeptWhenAlreadyFull(t *testing.T) {
	t.Parallel()
	svc, store, _ := newCachingService(time.Minute)
	store.mu.Lock()
	store.taken = 10
	store.mu.Unlock()
	ctx := context.Background()
	if q, err := svc.Quota(ctx); err != nil || q.Video.Level != booking.QuotaFull {
		t.Fatalf("Quota = %+v, %v; want full", q.Video, err)
	}
	for range 3 {
		if _, err := svc.EarliestSlot(ctx, booking.ServiceVideo, ""); !errors.Is(err, booking.ErrQuotaFull) {
			t.Fatalf("EarliestSlot = %v, want %v", err, booking.ErrQuotaFull)
		}
		if _, err := svc.Quota(ctx); err != nil {
			t.Fatalf("Quota = %v", err)
		}
	}
	if got := store.quotaCalls.Load(); got != 1 {
		t.Errorf("store QuotaCounts calls = %d, want 1", got)
	}
}

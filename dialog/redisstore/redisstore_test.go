package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/booking/bookingtest"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

type fixture struct {
	store  *redisstore.Store
	client *redis.Client
	prefix string
	trips  *testenv.RoundTrips
}

// newFixture returns a Store under a prefix unique to the test, whose keys
// are deleted when the test ends.
func newFixture(t testing.TB, opts redisstore.Options) *fixture {
	t.Helper()
	o, err := redisstore.ClientOptions(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	prefix := testenv.RedisPrefix(t)
	client := redis.NewClient(o)
	t.Cleanup(func() { client.Close() })
	trips := &testenv.RoundTrips{}
	client.AddHook(trips)
	opts.Prefix = prefix
	if opts.Sealer == nil {
		opts.Sealer = bookingtest.NewProtector(t)
	}
	return &fixture{store: redisstore.New(client, opts), client: client, prefix: prefix, trips: trips}
}

// midFlow is a typical session in the middle of flow A: patient identified,
// consent given, choosing a slot, with the /back history so far.
func midFlow() *dialog.Session {
	consent := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	a := dialog.Answers{Flow: "book", DocType: "hkid", DocNumber: "A1234563", BirthYear: 1950, BirthMon: 7, BirthDay: 1, Mobile: "91234567"}
	var history []dialog.Frame
	for _, st := range []string{"menu", "doc_type", "doc_number", "birth_date", "mobile", "consent", "service", "region", "clinic"} {
		history = append(history, dialog.Frame{State: st, Answers: a})
	}
	a.ConsentAt = consent
	a.Service, a.Region, a.ClinicID, a.SlotID = "clinic", "kln", "yau-ma-tei", 12345
	return &dialog.Session{
		Lang:    "zh-HK",
		State:   "offer",
		Nonce:   "k3J9x2",
		Answers: a,
		History: history[len(history)-8:],
	}
}

var ignoreTimes = cmpopts.IgnoreFields(dialog.Session{}, "UpdatedAt")

func TestStoreSaveLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	f := newFixture(t, redisstore.Options{Now: func() time.Time { return now }})

	got, err := f.store.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatalf("Load(new) = %v", err)
	}
	if diff := cmp.Diff(&dialog.Session{}, got); diff != "" {
		t.Errorf("Load(new) mismatch (-want +got):\n%s", diff)
	}

	s := midFlow()
	for want := int64(1); want <= 3; want++ {
		if err := f.store.Save(ctx, "telegram:1", s); err != nil {
			t.Fatalf("Save = %v", err)
		}
		if s.Version != want {
			t.Errorf("after Save, Version = %d, want %d", s.Version, want)
		}
	}
	got, err = f.store.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
	if !got.UpdatedAt.Equal(now) {
		t.Errorf("UpdatedAt = %v, want the store clock's %v", got.UpdatedAt, now)
	}
	other, err := f.store.Load(ctx, "telegram:2")
	if err != nil || other.Version != 0 {
		t.Errorf("Load(other booker) = %+v, %v; want a new session", other, err)
	}
}

func TestStoreSaveStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	if err := f.store.Save(ctx, "telegram:1", midFlow()); err != nil {
		t.Fatal(err)
	}
	first, err := f.store.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.store.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatal(err)
	}
	first.State = "written-by-first"
	if err := f.store.Save(ctx, "telegram:1", first); err != nil {
		t.Fatalf("Save(first) = %v", err)
	}
	second.State = "written-by-second"
	if err := f.store.Save(ctx, "telegram:1", second); !errors.Is(err, dialog.ErrStale) {
		t.Fatalf("Save(stale) = %v, want %v", err, dialog.ErrStale)
	}
	if second.Version != 1 {
		t.Errorf("stale Save changed Version to %d, want 1", second.Version)
	}
	got, err := f.store.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, got, ignoreTimes); diff != "" {
		t.Errorf("after a stale Save, stored session mismatch (-want +got):\n%s", diff)
	}

	// A new session (Version 0) may not overwrite a stored one.
	if err := f.store.Save(ctx, "telegram:1", &dialog.Session{}); !errors.Is(err, dialog.ErrStale) {
		t.Errorf("Save(new over stored) = %v, want %v", err, dialog.ErrStale)
	}
}

func TestStoreSlidingExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idle := 10 * time.Minute
	f := newFixture(t, redisstore.Options{Idle: idle})
	s := midFlow()
	if err := f.store.Save(ctx, "telegram:1", s); err != nil {
		t.Fatal(err)
	}
	key := f.prefix + "sess:{telegram:1}"
	if ttl := f.client.PTTL(ctx, key).Val(); ttl <= idle-time.Minute || ttl > idle {
		t.Fatalf("PTTL after Save = %v, want about %v", ttl, idle)
	}
	// Time passes: only a second of the idle period is left.
	if err := f.client.PExpire(ctx, key, time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Save(ctx, "telegram:1", s); err != nil {
		t.Fatal(err)
	}
	if ttl := f.client.PTTL(ctx, key).Val(); ttl <= idle-time.Minute {
		t.Errorf("PTTL after a second Save = %v, want it slid back to about %v", ttl, idle)
	}
	seen := f.prefix + "seen:{telegram:1}"
	if ttl := f.client.PTTL(ctx, seen).Val(); ttl <= 29*24*time.Hour {
		t.Errorf("marker PTTL = %v, want about 30 days", ttl)
	}
}

func TestStoreTimedOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		session *dialog.Session
		want    *dialog.Session
	}{
		{"FlowOpen", midFlow(), &dialog.Session{Lang: "zh-HK", TimedOut: true}},
		{"NoFlow", &dialog.Session{Lang: "en", State: "menu"}, &dialog.Session{Lang: "en"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, redisstore.Options{Idle: 50 * time.Millisecond})
			if err := f.store.Save(ctx, "whatsapp:85291234567", tt.session); err != nil {
				t.Fatal(err)
			}
			key := f.prefix + "sess:{whatsapp:85291234567}"
			for f.client.Exists(ctx, key).Val() == 1 {
				time.Sleep(10 * time.Millisecond)
			}
			got, err := f.store.Load(ctx, "whatsapp:85291234567")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load after expiry mismatch (-want +got):\n%s", diff)
			}
			// The greeting afresh is saved: the flag does not repeat.
			if err := f.store.Save(ctx, "whatsapp:85291234567", got); err != nil {
				t.Fatalf("Save(afresh) = %v", err)
			}
			f.client.Del(ctx, key)
			again, err := f.store.Load(ctx, "whatsapp:85291234567")
			if err != nil {
				t.Fatal(err)
			}
			if again.TimedOut {
				t.Errorf("Load after a closed session expired: TimedOut = true, want false")
			}
		})
	}
}

// TestStoreIdleByClock: the store's clock expires a session too, as
// dialog.MemoryStore does, so that transcripts with a fake clock run.
func TestStoreIdleByClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	f := newFixture(t, redisstore.Options{Now: clock, Idle: 15 * time.Minute})
	s := midFlow()
	if err := f.store.Save(ctx, "telegram:1", s); err != nil {
		t.Fatal(err)
	}
	advance(14 * time.Minute)
	got, err := f.store.Load(ctx, "telegram:1")
	if err != nil || got.State != s.State || got.TimedOut {
		t.Fatalf("Load 14 minutes on = %+v, %v; want the session", got, err)
	}
	// A save slides the deadline.
	if err := f.store.Save(ctx, "telegram:1", got); err != nil {
		t.Fatal(err)
	}
	advance(14 * time.Minute)
	if got, err = f.store.Load(ctx, "telegram:1"); err != nil || got.State != s.State {
		t.Fatalf("Load 14 minutes after the second save = %+v, %v; want the session", got, err)
	}
	advance(time.Minute)
	got, err = f.store.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&dialog.Session{Version: 2, Lang: "zh-HK", TimedOut: true}, got); diff != "" {
		t.Errorf("Load 15 minutes after the last save mismatch (-want +got):\n%s", diff)
	}
	if err := f.store.Save(ctx, "telegram:1", got); err != nil {
		t.Errorf("Save over the expired session = %v", err)
	}
	// Begin sees the same.
	advance(time.Hour)
	bs, _, err := f.store.Begin(ctx, "telegram:1", "1", "tok", time.Minute)
	if err != nil || bs.Version != 3 || bs.TimedOut {
		t.Errorf("Begin an hour after a closed session = %+v, %v; want a new session at version 3, not timed out", bs, err)
	}
}

func TestStoreSealsAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	s := midFlow()
	if err := f.store.Save(ctx, "telegram:1", s); err != nil {
		t.Fatal(err)
	}
	raw := f.client.HGetAll(ctx, f.prefix+"sess:{telegram:1}").Val()
	for field, v := range raw {
		for _, secret := range []string{"A1234563", "A123456", "91234567", "1950"} {
			if strings.Contains(v, secret) {
				t.Errorf("stored field %s contains %q in clear", field, secret)
			}
		}
	}
	if raw["v"] != "1" {
		t.Errorf("stored version = %q, want \"1\"", raw["v"])
	}

	// A blob moved under another booker's key does not open there.
	if err := f.client.HSet(ctx, f.prefix+"sess:{telegram:2}", "v", "1", "d", raw["d"]).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.Load(ctx, "telegram:2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Answers.DocNumber != "" || !got.TimedOut || got.Version != 1 {
		t.Errorf("Load(moved blob) = %+v, want a fresh TimedOut session at version 1", got)
	}
	if err := f.store.Save(ctx, "telegram:2", got); err != nil {
		t.Errorf("Save over an unreadable session = %v, want it replaced", err)
	}
}

func TestStoreDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	if err := f.store.Save(ctx, "telegram:1", midFlow()); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Delete(ctx, "telegram:1"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	got, err := f.store.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&dialog.Session{}, got); diff != "" {
		t.Errorf("Load after Delete mismatch (-want +got):\n%s", diff)
	}
}

// TestSessionSize measures what a typical mid-flow session costs in Redis.
func TestSessionSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	s := midFlow()
	if err := f.store.Save(ctx, "telegram:1", s); err != nil {
		t.Fatal(err)
	}
	plain, _ := s.MarshalBinary()
	blob := f.client.HGet(ctx, f.prefix+"sess:{telegram:1}", "d").Val()
	usage := f.client.MemoryUsage(ctx, f.prefix+"sess:{telegram:1}").Val()
	t.Logf("mid-flow session: %d bytes JSON, %d bytes sealed value, MEMORY USAGE %d bytes", len(plain), len(blob), usage)
	if len(blob) >= 2048 {
		t.Errorf("sealed session is %d bytes, want well under 2048", len(blob))
	}
}

func TestBeginCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	const key = "telegram:1"

	s, dup, err := f.store.Begin(ctx, key, "100", "tok-a", time.Minute)
	if err != nil || dup {
		t.Fatalf("Begin = %v, %v, %v; want a session", s, dup, err)
	}
	if ttl := f.client.PTTL(ctx, f.prefix+"lock:{"+key+"}").Val(); ttl <= 50*time.Second {
		t.Errorf("lock PTTL = %v, want about a minute", ttl)
	}
	s.State = "menu"
	if err := f.store.Commit(ctx, key, "100", "tok-a", s); err != nil {
		t.Fatalf("Commit = %v", err)
	}
	if s.Version != 1 {
		t.Errorf("after Commit, Version = %d, want 1", s.Version)
	}
	if n := f.client.Exists(ctx, f.prefix+"lock:{"+key+"}").Val(); n != 0 {
		t.Errorf("lock still held after Commit")
	}

	// The same update again is a duplicate, and leaves the lock free.
	s2, dup, err := f.store.Begin(ctx, key, "100", "tok-b", time.Minute)
	if err != nil || !dup || s2 != nil {
		t.Fatalf("Begin(same update) = %v, %v, %v; want a duplicate", s2, dup, err)
	}
	s3, dup, err := f.store.Begin(ctx, key, "101", "tok-c", time.Minute)
	if err != nil || dup {
		t.Fatalf("Begin(next update) = %v, %v, %v; want the session", s3, dup, err)
	}
	if s3.State != "menu" || s3.Version != 1 {
		t.Errorf("Begin loaded %+v, want the committed session", s3)
	}
	if ttl := f.client.PTTL(ctx, f.prefix+"upd:{"+key+"}").Val(); ttl <= 23*time.Hour {
		t.Errorf("update ids PTTL = %v, want about 24 hours", ttl)
	}

	// An aborted update is not marked: its redelivery runs.
	if err := f.store.Abort(ctx, key, "tok-c"); err != nil {
		t.Fatalf("Abort = %v", err)
	}
	if _, dup, err := f.store.Begin(ctx, key, "101", "tok-d", time.Minute); err != nil || dup {
		t.Fatalf("Begin(aborted update again) = %v, %v; want it to run", dup, err)
	}
	if err := f.store.Abort(ctx, key, "tok-d"); err != nil {
		t.Fatal(err)
	}

	// An update without an id is never a duplicate.
	for range 2 {
		s, dup, err := f.store.Begin(ctx, key, "", "tok-e", time.Minute)
		if err != nil || dup {
			t.Fatalf("Begin(no id) = %v, %v", dup, err)
		}
		if err := f.store.Commit(ctx, key, "", "tok-e", s); err != nil {
			t.Fatalf("Commit(no id) = %v", err)
		}
	}
}

func TestBeginLockIsExclusive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	const key = "telegram:1"
	if _, _, err := f.store.Begin(ctx, key, "1", "holder", time.Minute); err != nil {
		t.Fatal(err)
	}
	tryBegin := func(token string) error {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, _, err := f.store.Begin(ctx, key, "2", token, time.Minute)
		return err
	}
	if err := tryBegin("other"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Begin while locked = %v, want %v", err, context.DeadlineExceeded)
	}
	// Only the holder's token releases the lock.
	if err := f.store.Abort(ctx, key, "other"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Commit(ctx, key, "2", "other", &dialog.Session{}); !errors.Is(err, redisstore.ErrNotHeld) {
		t.Errorf("Commit by a non-holder = %v, want %v", err, redisstore.ErrNotHeld)
	}
	if err := tryBegin("other"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Begin after a non-holder's Abort = %v, want %v", err, context.DeadlineExceeded)
	}
	if err := f.store.Abort(ctx, key, "holder"); err != nil {
		t.Fatal(err)
	}
	if err := tryBegin("other"); err != nil {
		t.Fatalf("Begin after the holder's Abort = %v", err)
	}
}

// TestBeginAfterCrashedHolder: a lock whose holder never ends it expires by
// its TTL, and a waiting Begin then proceeds; the crashed holder's late
// Commit stores nothing.
func TestBeginAfterCrashedHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	const key = "telegram:1"
	crashed, _, err := f.store.Begin(ctx, key, "1", "crashed", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, dup, err := f.store.Begin(waitCtx, key, "1", "next", time.Minute)
	if err != nil || dup {
		t.Fatalf("Begin after the holder crashed = %v, %v", dup, err)
	}
	crashed.State = "late"
	if err := f.store.Commit(ctx, key, "1", "crashed", crashed); !errors.Is(err, redisstore.ErrNotHeld) {
		t.Errorf("late Commit by the crashed holder = %v, want %v", err, redisstore.ErrNotHeld)
	}
	if err := f.store.Commit(ctx, key, "1", "next", s); err != nil {
		t.Errorf("Commit by the new holder = %v", err)
	}
}

func TestCommitStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	const key = "telegram:1"
	s, _, err := f.store.Begin(ctx, key, "1", "tok", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// A writer that ignores the lock wins the race.
	if err := f.store.Save(ctx, key, &dialog.Session{State: "other"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Commit(ctx, key, "1", "tok", s); !errors.Is(err, dialog.ErrStale) {
		t.Fatalf("Commit(stale) = %v, want %v", err, dialog.ErrStale)
	}
	if n := f.client.Exists(ctx, f.prefix+"lock:{"+key+"}", f.prefix+"upd:{"+key+"}:1").Val(); n != 0 {
		t.Errorf("after a stale Commit, %d of lock and update mark exist, want 0", n)
	}
}

// TestRoundTrips: one update costs one request to Begin and one to Commit
// once the scripts are cached by the server.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, redisstore.Options{})
	update := func(id string) int64 {
		before := f.trips.N()
		s, _, err := f.store.Begin(ctx, "telegram:1", id, "tok-"+id, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.Commit(ctx, "telegram:1", id, "tok-"+id, s); err != nil {
			t.Fatal(err)
		}
		return f.trips.N() - before
	}
	first := update("1")
	for i := 2; i <= 5; i++ {
		if n := update(fmt.Sprint(i)); n != 2 {
			t.Errorf("update %d took %d round trips, want 2", i, n)
		}
	}
	t.Logf("round trips per update: first %d (a new connection's handshake, and +1 per script the server has not cached), then 2", first)
	before := f.trips.N()
	if _, dup, err := f.store.Begin(ctx, "telegram:1", "3", "tok", time.Minute); err != nil || !dup {
		t.Fatalf("Begin(duplicate) = %v, %v", dup, err)
	}
	if n := f.trips.N() - before; n != 1 {
		t.Errorf("a duplicate took %d round trips, want 1", n)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	o, err := redisstore.ClientOptions("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(o)
	defer client.Close()
	store := redisstore.New(client, redisstore.Options{Sealer: bookingtest.NewProtector(t)})
	ctx := context.Background()
	if _, err := store.Load(ctx, "telegram:1"); err == nil {
		t.Errorf("Load from an unreachable Redis = nil error")
	}
	if _, _, err := store.Begin(ctx, "telegram:1", "1", "tok", time.Minute); err == nil {
		t.Errorf("Begin on an unreachable Redis = nil error")
	}
	if err := store.Save(ctx, "telegram:1", &dialog.Session{}); err == nil {
		t.Errorf("Save to an unreachable Redis = nil error")
	}
}

func TestClientOptions(t *testing.T) {
	tests := []struct {
		url  string
		dial time.Duration
		pool int
	}{
		{"redis://127.0.0.1:6379/0", 500 * time.Millisecond, redisstore.DefaultPoolSize},
		{"redis://127.0.0.1:6379/0?dial_timeout=2s&pool_size=7", 2 * time.Second, 7},
	}
	for _, tt := range tests {
		o, err := redisstore.ClientOptions(tt.url)
		if err != nil {
			t.Fatalf("ClientOptions(%q) = %v", tt.url, err)
		}
		if o.DialTimeout != tt.dial || o.ReadTimeout != 500*time.Millisecond || !o.ContextTimeoutEnabled || o.PoolSize != tt.pool {
			t.Errorf("ClientOptions(%q) = dial %v read %v ctx %v pool %d, want dial %v read 500ms ctx true pool %d",
				tt.url, o.DialTimeout, o.ReadTimeout, o.ContextTimeoutEnabled, o.PoolSize, tt.dial, tt.pool)
		}
	}
	if _, err := redisstore.ClientOptions("http://x"); err == nil {
		t.Errorf("ClientOptions(http://x) = nil error")
	}
}

// BenchmarkBeginCommit is one update's session work against the test Redis:
// lock, dedupe check and load, then save, mark and unlock.
func BenchmarkBeginCommit(b *testing.B) {
	store := newFixture(b, redisstore.Options{}).store
	ctx := context.Background()
	mid := midFlow()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := strconv.Itoa(i)
		s, _, err := store.Begin(ctx, "telegram:1", id, id, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		v := s.Version
		*s = *mid
		s.Version = v
		if err := store.Commit(ctx, "telegram:1", id, id, s); err != nil {
			b.Fatal(err)
		}
	}
}

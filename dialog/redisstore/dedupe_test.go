package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/dialog/redisstore"
)

// dedupeFixture is a Store on a fake clock, with helpers that take one
// update of one booker through Begin and Commit.
type dedupeFixture struct {
	*fixture
	t   *testing.T
	now time.Time
	key string
}

func newDedupeFixture(t *testing.T, max int) *dedupeFixture {
	d := &dedupeFixture{t: t, now: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC), key: "telegram:1"}
	d.fixture = newFixture(t, redisstore.Options{DedupeMax: max, Now: func() time.Time { return d.now }})
	return d
}

// take begins update id and, unless it is a duplicate, commits it. It
// reports whether it was a duplicate.
func (d *dedupeFixture) take(id string) (duplicate bool) {
	d.t.Helper()
	ctx := context.Background()
	s, dup, err := d.store.Begin(ctx, d.key, id, "tok", time.Minute)
	if err != nil {
		d.t.Fatalf("Begin(%q) = %v", id, err)
	}
	if dup {
		return true
	}
	if err := d.store.Commit(ctx, d.key, id, "tok", s); err != nil {
		d.t.Fatalf("Commit(%q) = %v", id, err)
	}
	return false
}

// seen begins update id and aborts it: it reports whether the id would be
// a duplicate, without marking it.
func (d *dedupeFixture) seen(id string) bool {
	d.t.Helper()
	ctx := context.Background()
	_, dup, err := d.store.Begin(ctx, d.key, id, "tok", time.Minute)
	if err != nil {
		d.t.Fatalf("Begin(%q) = %v", id, err)
	}
	if !dup {
		if err := d.store.Abort(ctx, d.key, "tok"); err != nil {
			d.t.Fatalf("Abort = %v", err)
		}
	}
	return dup
}

func (d *dedupeFixture) members() int64 {
	d.t.Helper()
	n, err := d.client.ZCard(context.Background(), d.prefix+"upd:{"+d.key+"}").Result()
	if err != nil {
		d.t.Fatalf("ZCARD = %v", err)
	}
	return n
}

// TestDedupeWindow: an update id is recognised for 24 hours after its
// commit by the store's clock, and forgotten after.
func TestDedupeWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		after time.Duration
		want  bool
	}{
		{name: "at_once", after: 0, want: true},
		{name: "within_a_day", after: 24*time.Hour - time.Millisecond, want: true},
		{name: "a_day_later", after: 24 * time.Hour, want: false},
		{name: "two_days_later", after: 48 * time.Hour, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDedupeFixture(t, 0)
			if d.take("100") {
				t.Fatalf("first delivery of 100 taken as a duplicate")
			}
			d.now = d.now.Add(tt.after)
			if got := d.seen("100"); got != tt.want {
				t.Errorf("Begin(100) %v after its commit: duplicate = %v, want %v", tt.after, got, tt.want)
			}
		})
	}
}

// TestDedupeTrimsOldIDs: a commit drops the ids older than 24 hours from
// the booker's set, and refreshes the set's expiry.
func TestDedupeTrimsOldIDs(t *testing.T) {
	t.Parallel()
	d := newDedupeFixture(t, 0)
	for _, id := range []string{"1", "2", "3"} {
		d.take(id)
	}
	d.now = d.now.Add(25 * time.Hour)
	if d.take("4") {
		t.Fatalf("4 taken as a duplicate")
	}
	if n := d.members(); n != 1 {
		t.Errorf("after a commit 25 hours later, ZCARD = %d, want 1", n)
	}
	if ttl := d.client.PTTL(context.Background(), d.prefix+"upd:{"+d.key+"}").Val(); ttl <= 23*time.Hour {
		t.Errorf("update ids PTTL = %v, want about 24 hours", ttl)
	}
	if !d.seen("4") {
		t.Errorf("Begin(4) right after its commit is not a duplicate")
	}
}

// TestDedupeCap: beyond DedupeMax ids, the oldest are forgotten first.
func TestDedupeCap(t *testing.T) {
	t.Parallel()
	d := newDedupeFixture(t, 5)
	for i := range 8 {
		d.now = d.now.Add(time.Second)
		if d.take(strconv.Itoa(i)) {
			t.Fatalf("first delivery of %d taken as a duplicate", i)
		}
	}
	if n := d.members(); n != 5 {
		t.Errorf("ZCARD = %d, want 5", n)
	}
	for i := range 8 {
		if got, want := d.seen(strconv.Itoa(i)), i >= 3; got != want {
			t.Errorf("Begin(%d) duplicate = %v, want %v", i, got, want)
		}
	}
}

// TestDedupeManyIDs: a booker's many ids, random and restarting, are all
// recognised within the day, past the size where Redis changes the set's
// encoding.
func TestDedupeManyIDs(t *testing.T) {
	t.Parallel()
	d := newDedupeFixture(t, 0)
	var ids []string
	for i := range 300 {
		// Ids that restart and jump, as a reinstalled client's would.
		id := strconv.Itoa((i%100)*7919 + i/100)
		ids = append(ids, id)
		d.now = d.now.Add(time.Minute)
		if d.take(id) {
			t.Fatalf("first delivery of %s taken as a duplicate", id)
		}
	}
	if n := d.members(); n != 300 {
		t.Errorf("ZCARD = %d, want 300", n)
	}
	for _, id := range ids {
		if !d.seen(id) {
			t.Errorf("Begin(%s) within the day is not a duplicate", id)
		}
	}
	if d.seen("not-sent") {
		t.Errorf("Begin(not-sent) is a duplicate")
	}
}

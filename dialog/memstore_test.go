package dialog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

func TestMemoryStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := dialogtest.NewClock(dialogtest.Start)
	st := dialog.NewMemoryStore(clock.Now, 15*time.Minute)

	s, err := st.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if diff := cmp.Diff(&dialog.Session{}, s); diff != "" {
		t.Errorf("Load(new) (-want +got):\n%s", diff)
	}
	s.State = "a_birth"
	s.Lang = "en"
	s.Answers = dialog.Answers{Flow: "book", DocType: "hkid", DocNumber: "A1234563"}
	s.History = []dialog.Frame{{State: "a_doc_number", Answers: dialog.Answers{Flow: "book", DocType: "hkid"}}}
	if err := st.Save(ctx, "telegram:1", s); err != nil {
		t.Fatalf("Save() = %v", err)
	}
	if s.Version != 1 {
		t.Errorf("Version after Save = %d, want 1", s.Version)
	}
	s.History[0].State = "changed after save"
	got, err := st.Load(ctx, "telegram:1")
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	want := &dialog.Session{Version: 1, State: "a_birth", Lang: "en", Answers: dialog.Answers{Flow: "book", DocType: "hkid", DocNumber: "A1234563"},
		History: []dialog.Frame{{State: "a_doc_number", Answers: dialog.Answers{Flow: "book", DocType: "hkid"}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load() (-want +got):\n%s", diff)
	}
}

func TestMemoryStoreCompareAndSet(t *testing.T) {
	ctx := context.Background()
	clock := dialogtest.NewClock(dialogtest.Start)
	st := dialog.NewMemoryStore(clock.Now, 15*time.Minute)
	a, _ := st.Load(ctx, "k")
	b, _ := st.Load(ctx, "k")
	if err := st.Save(ctx, "k", a); err != nil {
		t.Fatalf("first Save() = %v", err)
	}
	if err := st.Save(ctx, "k", b); !errors.Is(err, dialog.ErrStale) {
		t.Errorf("second Save() of version 0 = %v, want ErrStale", err)
	}
	if b.Version != 0 {
		t.Errorf("a refused Save changed Version to %d", b.Version)
	}
}

func TestMemoryStoreExpiry(t *testing.T) {
	tests := []struct {
		name         string
		flow         string
		wait         time.Duration
		wantState    string
		wantTimedOut bool
	}{
		{name: "active", flow: "book", wait: 14 * time.Minute, wantState: "a_birth"},
		{name: "expired_in_flow", flow: "book", wait: 15 * time.Minute, wantTimedOut: true},
		{name: "expired_outside_flow", flow: "", wait: 16 * time.Minute},
		{name: "marker_lapses", flow: "book", wait: 31 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := dialogtest.NewClock(dialogtest.Start)
			st := dialog.NewMemoryStore(clock.Now, 15*time.Minute)
			s := &dialog.Session{State: "a_birth", Answers: dialog.Answers{Flow: tt.flow, DocNumber: "A1234563"}}
			if err := st.Save(ctx, "k", s); err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.wait)
			got, err := st.Load(ctx, "k")
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}
			if got.State != tt.wantState || got.TimedOut != tt.wantTimedOut {
				t.Errorf("Load() after %v = state %q timed out %v, want %q %v", tt.wait, got.State, got.TimedOut, tt.wantState, tt.wantTimedOut)
			}
			if got.State == "" && got.Answers.DocNumber != "" {
				t.Errorf("an expired session kept its answers")
			}
			if tt.wantTimedOut {
				// Saving the fresh session clears the time-out.
				if err := st.Save(ctx, "k", got); err != nil {
					t.Fatalf("Save() = %v", err)
				}
				again, _ := st.Load(ctx, "k")
				if again.TimedOut {
					t.Errorf("TimedOut still set after a Save")
				}
			}
		})
	}
}

func TestMemoryStoreSlidingExpiry(t *testing.T) {
	ctx := context.Background()
	clock := dialogtest.NewClock(dialogtest.Start)
	st := dialog.NewMemoryStore(clock.Now, 15*time.Minute)
	s := &dialog.Session{State: "a_birth", Answers: dialog.Answers{Flow: "book"}}
	for i := range 4 {
		if err := st.Save(ctx, "k", s); err != nil {
			t.Fatalf("Save %d = %v", i, err)
		}
		clock.Advance(10 * time.Minute)
	}
	got, _ := st.Load(ctx, "k")
	if got.State != "a_birth" || got.Version != 4 {
		t.Errorf("Load() after saves 10 minutes apart = %q v%d, want a_birth v4", got.State, got.Version)
	}
}

func TestMemoryStoreSweeps(t *testing.T) {
	ctx := context.Background()
	clock := dialogtest.NewClock(dialogtest.Start)
	st := dialog.NewMemoryStore(clock.Now, 15*time.Minute)
	for i := range 100 {
		s := &dialog.Session{State: "menu"}
		if i%2 == 0 {
			s.Answers.Flow = "book"
		}
		if err := st.Save(ctx, fmt.Sprint(i), s); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(16 * time.Minute)
	if _, err := st.Load(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if got := st.Len(); got != 50 {
		t.Errorf("Len() after expiry = %d, want 50 time-out markers", got)
	}
	clock.Advance(15 * time.Minute)
	if _, err := st.Load(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if got := st.Len(); got != 0 {
		t.Errorf("Len() after the markers lapse = %d, want 0", got)
	}
}

func TestMemoryStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	clock := dialogtest.NewClock(dialogtest.Start)
	st := dialog.NewMemoryStore(clock.Now, 15*time.Minute)
	const writers, rounds = 8, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	saved := 0
	for range writers {
		wg.Go(func() {
			for range rounds {
				for {
					s, err := st.Load(ctx, "k")
					if err != nil {
						t.Error(err)
						return
					}
					s.Failures++
					err = st.Save(ctx, "k", s)
					if errors.Is(err, dialog.ErrStale) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					saved++
					mu.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	got, _ := st.Load(ctx, "k")
	want := &dialog.Session{Version: writers * rounds, Failures: writers * rounds}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(dialog.Session{}, "UpdatedAt")); diff != "" || saved != writers*rounds {
		t.Errorf("after %d concurrent increments (-want +got):\n%s", saved, diff)
	}
}

// TestMemoryStoreRunSweepsUnused: a session left with a flow open is
// dropped once it expires, though nobody loads or saves anything: the
// terminal chat's one booker walking away leaves no personal data behind.
func TestMemoryStoreRunSweepsUnused(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clock := dialogtest.NewClock(dialogtest.Start)
	st := dialog.NewMemoryStore(clock.Now, 15*time.Minute)
	s := &dialog.Session{State: "a_birth", Answers: dialog.Answers{Flow: "book", DocType: "hkid", DocNumber: "A1234563"}}
	if err := st.Save(ctx, "console:local", s); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, "telegram:2", &dialog.Session{State: "menu"}); err != nil {
		t.Fatal(err)
	}
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { defer close(done); st.Run(ctx, tick) }()
	clock.Advance(16 * time.Minute)
	tick <- clock.Now()
	tick <- clock.Now() // taken once the first sweep is over
	if got := st.Len(); got != 1 {
		t.Errorf("Len() after expiry, unused = %d, want 1 (the time-out marker, no session)", got)
	}
	clock.Advance(15 * time.Minute)
	tick <- clock.Now()
	tick <- clock.Now()
	if got := st.Len(); got != 0 {
		t.Errorf("Len() after the marker lapses, unused = %d, want 0", got)
	}
	cancel()
	<-done
}

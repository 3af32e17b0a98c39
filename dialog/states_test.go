package dialog

import (
	"context"
	"testing"
)

// TestFireReusesMachinesSafely: pooled machines start from the state they
// are given, and one left mid-transition by an ended context is never
// handed out again (it would refuse every later event).
func TestFireReusesMachinesSafely(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 200 {
		if _, err := fire(ended, stMenu, evBook); err == nil {
			t.Fatalf("fire with an ended context = nil error, want one")
		}
		got, err := fire(context.Background(), stMenu, evEnquire)
		if err != nil || got != stEnqDocType {
			t.Fatalf("round %d: fire(menu, enquire) = %q, %v; want %q", i, got, err, stEnqDocType)
		}
		got, err = fire(context.Background(), stMenu, evBook)
		if err != nil || got != stBookDocType {
			t.Fatalf("round %d: fire(menu, book) = %q, %v; want %q", i, got, err, stBookDocType)
		}
	}
	if _, err := fire(context.Background(), stBookDocType, evEnquire); err == nil {
		t.Errorf("fire(book doc type, enquire) = nil error, want the flow graph's refusal")
	}
}

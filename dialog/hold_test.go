package dialog_test

import (
	"context"
	"testing"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

// heldAt returns the places held at Wan Tsui now, as the store counts them.
func heldAt(t *testing.T, env *dialogtest.Env) int {
	t.Helper()
	slots, err := env.Service.Store.Slots(context.Background(), booking.SlotQuery{
		Service: booking.ServiceClinic, ClinicID: "wan-tsui", At: env.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sl := range slots {
		n += sl.Held
	}
	return n
}

// TestHoldReleased: the offer holds one place; declining, /back, /exit and
// /start give it back at once, a new offer replaces it, and accepting spends
// it; no update leaves a place held that the booker is not being offered.
func TestHoldReleased(t *testing.T) {
	tests := []struct {
		name  string
		then  []string
		state string
		held  int
	}{
		{"Offer", nil, "a_offer", 1},
		{"Decline", []string{"[decline]"}, "", 0},
		{"Back", []string{"/back"}, "a_clinic", 0},
		{"BackToTheOfferAgain", []string{"/back", "[c:wan-tsui]"}, "a_offer", 1},
		{"Exit", []string{"/exit"}, "menu", 0},
		{"Start", []string{"/start"}, "menu", 0},
		{"Accept", []string{"[accept]"}, "a_booked", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
			e := env.NewEngine(t)
			s := &dialog.Session{}
			say(t, e, s, toOffer...)
			say(t, e, s, tt.then...)
			if tt.state != "" && s.State != tt.state {
				t.Errorf("state = %q, want %q", s.State, tt.state)
			}
			if got := heldAt(t, env); got != tt.held {
				t.Errorf("places held after %v = %d, want %d", tt.then, got, tt.held)
			}
			if tt.held == 0 && !s.Answers.HoldUntil.IsZero() {
				t.Errorf("session still says a place is held until %v", s.Answers.HoldUntil)
			}
		})
	}
}

// TestLostHoldReleasedAtFlowEnd: a hold the session does not know of (the
// update that made it lost its answer, so the saved session is the one
// before the offer) is given back when the booking flow ends.
func TestLostHoldReleasedAtFlowEnd(t *testing.T) {
	env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
	e := env.NewEngine(t)
	s := &dialog.Session{}
	say(t, e, s, toOffer[:len(toOffer)-1]...)
	saved := *s
	say(t, e, s, toOffer[len(toOffer)-1])
	if got := heldAt(t, env); got != 1 {
		t.Fatalf("places held at the offer = %d, want 1", got)
	}
	lost := saved // the offer's session was never saved
	say(t, e, &lost, "/exit")
	if got := heldAt(t, env); got != 0 {
		t.Errorf("places held after the flow ended = %d, want 0", got)
	}
}

// TestChangeHoldReleased: changing a booking's time holds the new place
// like any offer; leaving the offer gives it back, and confirming moves
// the booking: one place taken at Wan Tsui, none held.
func TestChangeHoldReleased(t *testing.T) {
	toChange := append(append([]string{}, toOffer...), "[accept]", "[exit]",
		"[enq]", "[hkid]", "A123456(3)", "1970", "[yes]", "[c:wan-tsui]", "[ok]", "[chg]", "[same]")
	tests := []struct {
		name  string
		then  []string
		state string
		held  int
	}{
		{"Offer", nil, "d_offer", 1},
		{"Decline", []string{"[decline]"}, "d_days", 0},
		{"Exit", []string{"/exit"}, "menu", 0},
		{"Start", []string{"/start"}, "menu", 0},
		{"Confirm", []string{"[accept]"}, "d_moved", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
			e := env.NewEngine(t)
			s := &dialog.Session{}
			say(t, e, s, toChange...)
			say(t, e, s, tt.then...)
			if s.State != tt.state {
				t.Errorf("state = %q, want %q", s.State, tt.state)
			}
			if got := heldAt(t, env); got != tt.held {
				t.Errorf("places held after %v = %d, want %d", tt.then, got, tt.held)
			}
			taken := 0
			slots, err := env.Service.Store.Slots(context.Background(), booking.SlotQuery{Service: booking.ServiceClinic, ClinicID: "wan-tsui"})
			if err != nil {
				t.Fatal(err)
			}
			for _, sl := range slots {
				taken += sl.Taken
			}
			if taken != 1 {
				t.Errorf("places booked at Wan Tsui = %d, want 1 (the booking, moved or not)", taken)
			}
		})
	}
}

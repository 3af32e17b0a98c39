package dialog_test

import (
	"testing"

	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

// toNextOffer is flow A booked at Wan Tsui, then the household's next
// patient up to the offer next to that booking.
var toNextOffer = append(append([]string{}, toOffer...),
	"[accept]", "[next]", "[hkid]", "C234567(4)", "1975", "[yes]", "[same]", "[ok]")

// TestHouseholdHold: the household's offer holds one place like any offer;
// declining, /back, /exit and /start give it back, and accepting spends it
// in the booking flow's steps, which the household joins.
func TestHouseholdHold(t *testing.T) {
	tests := []struct {
		name  string
		then  []string
		state string
		held  int
	}{
		{"Offer", nil, "h_offer", 1},
		{"Decline", []string{"[decline]"}, "a_search", 0},
		{"Back", []string{"/back"}, "h_consent", 0},
		{"Exit", []string{"/exit"}, "menu", 0},
		{"Start", []string{"/start"}, "menu", 0},
		{"Accept", []string{"[accept]"}, "a_booked", 0},
		{"DeclineAndPick", []string{"[decline]", "[ok]", "1", "1", "1"}, "a_accept", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
			e := env.NewEngine(t)
			s := &dialog.Session{}
			say(t, e, s, toNextOffer...)
			say(t, e, s, tt.then...)
			if s.State != tt.state {
				t.Errorf("state = %q, want %q", s.State, tt.state)
			}
			if got := heldAt(t, env); got != tt.held {
				t.Errorf("places held after %v = %d, want %d", tt.then, got, tt.held)
			}
		})
	}
}

// TestBookedKeepsOnlyWhatTheNextPatientNeeds: past the booked step the
// session keeps the service, clinic, slot and mobile for "book for another
// person", and none of the patient's identity; leaving the screen drops
// everything.
func TestBookedKeepsOnlyWhatTheNextPatientNeeds(t *testing.T) {
	env := dialogtest.NewEnv(t, sqliteConfig, dialogtest.DefaultSchedule())
	e := env.NewEngine(t)
	s := &dialog.Session{}
	say(t, e, s, toOffer...)
	say(t, e, s, "[accept]")
	a := s.Answers
	if s.State != "a_booked" || s.InFlow() || a.DocNumber != "" || a.DocType != "" || a.BirthYear != 0 || a.ConsentAt != (dialog.Answers{}).ConsentAt {
		t.Errorf("booked: state %q, answers %+v; want no flow open and no identity kept", s.State, a)
	}
	if a.Mobile != "91234567" || a.Service != "clinic" || a.ClinicID != "wan-tsui" || a.Near == 0 || a.Reference == "" {
		t.Errorf("booked: answers %+v; want the mobile, service, clinic, slot and reference kept", a)
	}
	say(t, e, s, "[exit]")
	if s.Answers != (dialog.Answers{}) {
		t.Errorf("after leaving the booked screen, answers = %+v, want none", s.Answers)
	}
}

package booking

import (
	"fmt"
	"sort"
	"time"
)

// Limits are the rules a Store applies in the same transaction as what
// they guard, so that bookers racing on several replicas cannot get past
// them: a check made before the transaction would let every racer through
// (forty parallel guesses once got twenty-three verifications past a limit
// of three). A zero field switches its limit off.
type Limits struct {
	// MaxFailures failed verifications within FailureWindow, by one booker
	// or for one patient, refuse further verifications of them until the
	// oldest counted is FailureWindow old.
	MaxFailures   int
	FailureWindow time.Duration
	// MaxActive is the most active bookings one booker may hold.
	MaxActive int
	// MaxPatients is the most distinct patients one booker may look up in
	// the booking flow within PatientWindow.
	MaxPatients   int
	PatientWindow time.Duration
}

// Cooldown returns a *CooldownError while the failures of any list (times
// of failed verifications, at most FailureWindow old at now) reach
// MaxFailures, and nil otherwise. It sorts the lists.
func (l Limits) Cooldown(now time.Time, failures ...[]time.Time) error {
	var until time.Time
	for _, times := range failures {
		if n := l.MaxFailures; n > 0 && len(times) >= n {
			sort.Slice(times, func(i, j int) bool { return times[i].After(times[j]) })
			if u := times[n-1].Add(l.FailureWindow); u.After(until) {
				until = u
			}
		}
	}
	// The cool-down lifts the moment the oldest counted failure is
	// FailureWindow old, even though a store still counts it then (since
	// is inclusive).
	if until.After(now) {
		return &CooldownError{Until: until}
	}
	return nil
}

// BookerLimit returns a *LimitError when a booker holding active bookings,
// who looked up the patients of lookups (each at its latest look-up within
// PatientWindow of now), may not look up patient: they hold MaxActive
// bookings, or patient is new to them and they have looked up MaxPatients
// others. An empty patient asks whether any new patient may be looked up.
func (l Limits) BookerLimit(now time.Time, active int, lookups map[PatientKey]time.Time, patient PatientKey) error {
	if l.MaxActive > 0 && active >= l.MaxActive {
		return &LimitError{Limit: LimitActive, Max: l.MaxActive}
	}
	if _, seen := lookups[patient]; (seen && patient != "") || l.MaxPatients <= 0 || len(lookups) < l.MaxPatients {
		return nil
	}
	latest := make([]time.Time, 0, len(lookups))
	for _, at := range lookups {
		latest = append(latest, at)
	}
	sort.Slice(latest, func(i, j int) bool { return latest[i].After(latest[j]) })
	until := latest[l.MaxPatients-1].Add(l.PatientWindow)
	if !until.After(now) {
		return nil
	}
	return &LimitError{Limit: LimitPatients, Max: l.MaxPatients, Until: until}
}

// LimitKind names a limit on what one booker may do.
type LimitKind string

// The limits on one booker.
const (
	LimitActive   LimitKind = "active"   // active bookings held
	LimitPatients LimitKind = "patients" // patients looked up per window
)

// LimitError says which limit a booker reached and, for a limit over a
// window, when it lifts. It matches ErrBookerLimit.
type LimitError struct {
	Limit LimitKind
	Max   int
	Until time.Time // zero for LimitActive: it lifts when a booking ends
}

func (e *LimitError) Error() string {
	if e.Until.IsZero() {
		return fmt.Sprintf("booker limit %s (%d) reached", e.Limit, e.Max)
	}
	return fmt.Sprintf("booker limit %s (%d) reached until %s", e.Limit, e.Max, e.Until.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrBookerLimit) hold.
func (e *LimitError) Is(target error) bool { return target == ErrBookerLimit }

// Screening is the booking flow's look-up of a patient, before any service
// is chosen, for Store.Screen. It holds no personal data in clear.
type Screening struct {
	Booker   Booker
	Patient  PatientKey
	BirthKey string
	At       time.Time
	Limits   Limits
}

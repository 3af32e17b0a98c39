package booking

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// Rules are the tunable parts of the booking rules.
type Rules struct {
	// Lead is how long after now a slot must start to be offered.
	Lead time.Duration
	// WindowDays is how many calendar days (Hong Kong) are bookable:
	// 3 means today and the next 2 days.
	WindowDays int
	// Location is the clinics' time zone; it decides where a day begins.
	Location *time.Location
	// MaxFailures failed verifications within FailureWindow, by one booker or
	// for one patient, start a cool-down until the oldest of them is
	// FailureWindow old.
	MaxFailures   int
	FailureWindow time.Duration
	// MaxActivePerBooker is the most active bookings one booker may hold;
	// MaxPatientsPerHour the most distinct patients one booker may look up
	// in the booking flow within an hour. Zero: no limit.
	MaxActivePerBooker int
	MaxPatientsPerHour int
	// LimitedBelow is the fraction of places remaining below which a quota
	// reads "limited" rather than "available".
	LimitedBelow float64
	// VideoMinAge is the minimum age on the slot's date for video consultation.
	VideoMinAge int
	// Hold is how long an offered slot keeps a place for the booker
	// (Offer, HoldSlot); zero holds nothing, and accepting then races
	// everyone else for the place.
	Hold time.Duration
}

// DefaultRules are the rules of the seed and of our product decisions.
func DefaultRules() Rules {
	return Rules{
		Lead:               30 * time.Minute,
		WindowDays:         3,
		Location:           HongKong(),
		MaxFailures:        3,
		FailureWindow:      15 * time.Minute,
		MaxActivePerBooker: 4,
		MaxPatientsPerHour: 6,
		LimitedBelow:       0.2,
		VideoMinAge:        18,
		Hold:               3 * time.Minute,
	}
}

// HongKong returns the Asia/Hong_Kong location. Programs embed the tz
// database (import _ "time/tzdata" in main) so it is always found; should it
// still be missing, a fixed UTC+8 zone (Hong Kong has no daylight saving)
// stands in.
func HongKong() *time.Location {
	loc, err := time.LoadLocation("Asia/Hong_Kong")
	if err != nil {
		return time.FixedZone("HKT", 8*60*60)
	}
	return loc
}

// QuotaLevel is the seed's "for reference" quota status: a status word, not
// a promise. Only Book may claim a place.
type QuotaLevel string

// Quota levels.
const (
	QuotaAvailable QuotaLevel = "available"
	QuotaLimited   QuotaLevel = "limited"
	QuotaFull      QuotaLevel = "full"
)

// QuotaStatus is the quota of one service, or of one clinic.
type QuotaStatus struct {
	Level     QuotaLevel
	Remaining int
	Capacity  int
}

// Bookable reports whether a place remains.
func (q QuotaStatus) Bookable() bool { return q.Remaining > 0 }

// Quota is the quota status of both services and of every clinic over the
// booking window.
type Quota struct {
	Clinic  QuotaStatus // all designated clinics together
	Video   QuotaStatus
	Clinics map[ClinicID]QuotaStatus
}

// Service applies the booking rules over a Store. Its fields are set once
// before use; it is safe for concurrent use. Do not copy a Service after
// first use.
type Service struct {
	Store     Store
	Protector *Protector
	Rules     Rules
	// Now is the clock. Domain code never calls time.Now.
	Now func() time.Time
	// ClinicsTTL is how long, by Now, the clinic list read from the store
	// is reused by Clinics and Clinic. Clinics change only by an operator's
	// import, so a minute is harmless; zero reads the store every time.
	ClinicsTTL time.Duration
	// QuotaTTL is how long, by Now, a quota status is reused by Quota. The
	// status is "for reference" (only Book claims a place), so a second is
	// harmless under load; zero reads the store every time. A booking or
	// search that finds no room drops the cached status at once if it still
	// shows room there, so a booker is not sent round a full clinic again.
	QuotaTTL time.Duration
	// Reminders is when a booking's reminder is written to the outbox
	// (Book, Move); the zero value writes none.
	Reminders Reminders

	clinics cached[[]Clinic]
	quota   cached[Quota]
}

// NewService returns a Service with the default rules and the system clock.
func NewService(store Store, p *Protector) *Service {
	return &Service{Store: store, Protector: p, Rules: DefaultRules(), Now: time.Now, Reminders: DefaultReminders()}
}

// Window returns the bookable period at now: from now plus the lead time to
// the end of the last bookable day in Hong Kong.
func (s *Service) Window() (from, to time.Time) {
	now := s.Now()
	local := now.In(s.Rules.Location)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.Rules.Location)
	return now.Add(s.Rules.Lead).UTC(), midnight.AddDate(0, 0, s.Rules.WindowDays).UTC()
}

// Quota returns the quota status of each service and clinic over the
// window, as of at most QuotaTTL ago.
func (s *Service) Quota(ctx context.Context) (Quota, error) {
	q, err := s.quota.get(ctx, s.Now, s.QuotaTTL, s.loadQuota)
	if err != nil {
		return Quota{}, err
	}
	q.Clinics = maps.Clone(q.Clinics) // the cached map stays the cache's
	return q, nil
}

func (s *Service) loadQuota(ctx context.Context) (Quota, error) {
	from, to := s.Window()
	counts, err := s.Store.QuotaCounts(ctx, from, to, s.Now().UTC())
	if err != nil {
		return Quota{}, fmt.Errorf("booking: quota: %w", err)
	}
	var clinicCap, clinicTaken, videoCap, videoTaken int
	q := Quota{Clinics: make(map[ClinicID]QuotaStatus)}
	for _, c := range counts {
		switch c.Service {
		case ServiceVideo:
			videoCap += c.Capacity
			videoTaken += c.Taken
		case ServiceClinic:
			clinicCap += c.Capacity
			clinicTaken += c.Taken
			q.Clinics[c.ClinicID] = s.level(c.Capacity, c.Taken)
		}
	}
	q.Clinic = s.level(clinicCap, clinicTaken)
	q.Video = s.level(videoCap, videoTaken)
	return q, nil
}

func (s *Service) level(capacity, taken int) QuotaStatus {
	remaining := max(capacity-taken, 0)
	st := QuotaStatus{Remaining: remaining, Capacity: capacity}
	switch {
	case remaining == 0:
		st.Level = QuotaFull
	case float64(remaining) < s.Rules.LimitedBelow*float64(capacity):
		st.Level = QuotaLimited
	default:
		st.Level = QuotaAvailable
	}
	return st
}

// Clinics returns the clinics of a region, or of every region when region
// is empty, in a stable order.
func (s *Service) Clinics(ctx context.Context, region Region) ([]Clinic, error) {
	all, err := s.allClinics(ctx)
	if err != nil {
		return nil, fmt.Errorf("booking: clinics: %w", err)
	}
	if region == "" {
		return slices.Clone(all), nil
	}
	var out []Clinic
	for _, c := range all {
		if c.Region == region {
			out = append(out, c)
		}
	}
	return out, nil
}

// Clinic returns one clinic, or ErrNotFound.
func (s *Service) Clinic(ctx context.Context, id ClinicID) (Clinic, error) {
	all, err := s.allClinics(ctx)
	if err != nil {
		return Clinic{}, fmt.Errorf("booking: clinic %s: %w", id, err)
	}
	for _, c := range all {
		if c.ID == id {
			return c, nil
		}
	}
	return Clinic{}, fmt.Errorf("booking: clinic %s: %w", id, ErrNotFound)
}

// allClinics is the store's clinic list, as of at most ClinicsTTL ago.
// Callers must not modify it.
func (s *Service) allClinics(ctx context.Context) ([]Clinic, error) {
	return s.clinics.get(ctx, s.Now, s.ClinicsTTL, s.Store.Clinics)
}

func (s *Service) slotQuery(service ServiceKind, clinic ClinicID) (SlotQuery, error) {
	if !service.Valid() {
		return SlotQuery{}, &ValidationError{Field: "service", Reason: ReasonFormat}
	}
	if service == ServiceVideo {
		clinic = ""
	} else if clinic == "" {
		return SlotQuery{}, &ValidationError{Field: "clinic", Reason: ReasonEmpty}
	}
	from, to := s.Window()
	return SlotQuery{Service: service, ClinicID: clinic, From: from, To: to, OpenOnly: true, At: s.Now().UTC()}, nil
}

// EarliestSlot returns the earliest slot with a place left in the window,
// or ErrQuotaFull.
func (s *Service) EarliestSlot(ctx context.Context, service ServiceKind, clinic ClinicID) (Slot, error) {
	q, err := s.slotQuery(service, clinic)
	if err != nil {
		return Slot{}, err
	}
	q.Limit = 1
	slots, err := s.Store.Slots(ctx, q)
	if err != nil {
		return Slot{}, fmt.Errorf("booking: earliest slot: %w", err)
	}
	if len(slots) == 0 {
		// The cached status may still say there is room: it is stale now.
		s.forgetRoom(service, clinic)
		return Slot{}, ErrQuotaFull
	}
	return slots[0], nil
}

// forgetRoom drops the cached quota status if it still shows room for
// service (at clinic): the store has just been found to have less. A
// status that already shows none is kept, so that a crowd meeting a full
// clinic does not make every caller of Quota wait for a fresh load.
func (s *Service) forgetRoom(service ServiceKind, clinic ClinicID) {
	s.quota.forgetIf(func(q Quota) bool {
		if service == ServiceVideo {
			return q.Video.Bookable()
		}
		return q.Clinics[clinic].Bookable()
	})
}

// Offer holds the earliest slot with a place left in the window for the
// booker (Rules.Hold), in place of any hold they had, and returns it with
// the time the hold lapses; a zero Hold rule holds nothing. A place taken
// between the search and the hold sends it on to the next slot. No place
// left anywhere is ErrQuotaFull.
func (s *Service) Offer(ctx context.Context, b Booker, service ServiceKind, clinic ClinicID) (Slot, time.Time, error) {
	return s.OfferInstead(ctx, b, service, clinic, 0)
}

// OfferInstead is Offer for a booking changing time: the slot it has,
// instead, is never offered (0: none).
func (s *Service) OfferInstead(ctx context.Context, b Booker, service ServiceKind, clinic ClinicID, instead SlotID) (Slot, time.Time, error) {
	q, err := s.slotQuery(service, clinic)
	if err != nil {
		return Slot{}, time.Time{}, err
	}
	if s.Rules.Hold > 0 {
		// The booker's own hold (an offer they left without a word, an
		// update that failed after holding) would hide its place from
		// this search.
		if err := s.Store.Release(ctx, b); err != nil {
			return Slot{}, time.Time{}, fmt.Errorf("booking: offer: %w", err)
		}
	}
	// Most bookers meet the same earliest slots: a few at a time are tried,
	// and the search is made again while the crowd fills them.
	q.Limit = 4
	for range 8 {
		slots, err := s.Store.Slots(ctx, q)
		if err != nil {
			return Slot{}, time.Time{}, fmt.Errorf("booking: offer: %w", err)
		}
		slots = slices.DeleteFunc(slots, func(sl Slot) bool { return sl.ID == instead })
		if len(slots) == 0 {
			break
		}
		if s.Rules.Hold <= 0 {
			return slots[0], time.Time{}, nil
		}
		for _, sl := range slots {
			held, until, err := s.hold(ctx, b, sl.ID)
			switch {
			case err == nil:
				return held, until, nil
			case !errors.Is(err, ErrSlotTaken):
				return Slot{}, time.Time{}, fmt.Errorf("booking: offer: %w", err)
			}
		}
	}
	s.forgetRoom(service, clinic)
	return Slot{}, time.Time{}, ErrQuotaFull
}

// HoldSlot holds slot id for the booker, in place of any hold they had,
// and returns it with the time the hold lapses (zero when the Hold rule
// holds nothing). A slot outside the window is ErrSlotUnavailable, one
// without a place ErrSlotTaken.
func (s *Service) HoldSlot(ctx context.Context, b Booker, id SlotID) (Slot, time.Time, error) {
	sl, err := s.Store.Slot(ctx, id)
	if err != nil {
		return Slot{}, time.Time{}, fmt.Errorf("booking: hold slot %d: %w", id, err)
	}
	if from, to := s.Window(); sl.Start.Before(from) || !sl.Start.Before(to) {
		return Slot{}, time.Time{}, ErrSlotUnavailable
	}
	if s.Rules.Hold <= 0 {
		return sl, time.Time{}, nil
	}
	held, until, err := s.hold(ctx, b, id)
	if errors.Is(err, ErrSlotTaken) {
		s.forgetRoom(sl.Service, sl.ClinicID)
	}
	return held, until, err
}

func (s *Service) hold(ctx context.Context, b Booker, id SlotID) (Slot, time.Time, error) {
	now := s.Now().UTC()
	until := now.Add(s.Rules.Hold)
	sl, err := s.Store.Hold(ctx, Hold{SlotID: id, Booker: b, Until: until}, now)
	if err != nil {
		return Slot{}, time.Time{}, err
	}
	return sl, until, nil
}

// Release gives back the place held for the booker, if any: the booker
// declined the offer or left it.
func (s *Service) Release(ctx context.Context, b Booker) error {
	if err := s.Store.Release(ctx, b); err != nil {
		return fmt.Errorf("booking: release hold: %w", err)
	}
	return nil
}

// DayPlaces is a day of the booking window and the places left on it.
type DayPlaces struct {
	Day    Date // in the clinics' time zone
	Places int
}

// OpenDays returns the days of the window on which service at clinic has
// a place left, in order, each with how many (places held for bookers
// considering an offer not counted).
func (s *Service) OpenDays(ctx context.Context, service ServiceKind, clinic ClinicID) ([]DayPlaces, error) {
	q, err := s.slotQuery(service, clinic)
	if err != nil {
		return nil, err
	}
	slots, err := s.Store.Slots(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("booking: open days: %w", err)
	}
	var days []DayPlaces
	for _, sl := range slots {
		d := DateOf(sl.Start, s.Rules.Location)
		if n := len(days); n == 0 || days[n-1].Day != d {
			days = append(days, DayPlaces{Day: d})
		}
		days[len(days)-1].Places += sl.Remaining()
	}
	return days, nil
}

// DaySlots returns the slots of service at clinic with a place left that
// start on day (in the clinics' time zone) within the window, in order.
func (s *Service) DaySlots(ctx context.Context, service ServiceKind, clinic ClinicID, day Date) ([]Slot, error) {
	q, err := s.slotQuery(service, clinic)
	if err != nil {
		return nil, err
	}
	begin := time.Date(day.Year, day.Month, day.Day, 0, 0, 0, 0, s.Rules.Location)
	if from := begin.UTC(); from.After(q.From) {
		q.From = from
	}
	if to := begin.AddDate(0, 0, 1).UTC(); to.Before(q.To) {
		q.To = to
	}
	slots, err := s.Store.Slots(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("booking: day slots: %w", err)
	}
	return slots, nil
}

// OpenSlots returns page (from 0) of the slots with a place left in the
// window, perPage at most, in start order, and whether more pages follow.
func (s *Service) OpenSlots(ctx context.Context, service ServiceKind, clinic ClinicID, page, perPage int) (slots []Slot, more bool, err error) {
	q, err := s.slotQuery(service, clinic)
	if err != nil {
		return nil, false, err
	}
	if perPage <= 0 || page < 0 {
		return nil, false, &ValidationError{Field: "page", Reason: ReasonFormat}
	}
	q.Offset = page * perPage
	q.Limit = perPage + 1
	slots, err = s.Store.Slots(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("booking: open slots: %w", err)
	}
	if len(slots) > perPage {
		return slots[:perPage], true, nil
	}
	return slots, false, nil
}

// Age returns the patient's age in whole years on day on (in the clinics'
// time zone). A birthday on 29 February falls on 1 March in other years.
func (s *Service) Age(dob Date, on time.Time) int {
	local := on.In(s.Rules.Location)
	age := local.Year() - dob.Year
	if local.Month() < dob.Month || (local.Month() == dob.Month && local.Day() < dob.Day) {
		age--
	}
	return age
}

// CheckEligibility reports whether the patient may use service on the date
// of at: video consultation is for HKID holders aged VideoMinAge or over.
// It returns nil or an *EligibilityError.
func (s *Service) CheckEligibility(p Patient, service ServiceKind, at time.Time) error {
	if service != ServiceVideo {
		return nil
	}
	if p.Document.Type != DocumentHKID {
		return &EligibilityError{Service: service, Reason: ReasonDocumentType}
	}
	if s.Age(p.DateOfBirth, at) < s.Rules.VideoMinAge {
		return &EligibilityError{Service: service, Reason: ReasonAge}
	}
	return nil
}

// BookRequest is a booker's accepted offer.
type BookRequest struct {
	Patient Patient
	Booker  Booker
	SlotID  SlotID
	// ConsentAt is when the booker confirmed the patient's consent; it is
	// required.
	ConsentAt time.Time
	// IdempotencyKey makes a retried request return the same booking.
	IdempotencyKey string
	// HeldUntil is when the hold of the offer lapses (zero: none); a
	// booking that finds no place after it fails with ErrHoldExpired
	// joined to ErrSlotTaken.
	HeldUntil time.Time
	// Lang is the booker's language, which the booking's notices speak.
	Lang string
}

// Book books the slot for the patient. It fails with a *ValidationError for
// a missing consent, *EligibilityError, ErrSlotUnavailable (outside the
// window), ErrSlotTaken, ErrAlreadyBooked, *CooldownError or ErrNotFound.
// A patient already booked is screened as Screen does: the same error
// whether the date of birth was right, a wrong one counted as a failed
// verification.
func (s *Service) Book(ctx context.Context, r BookRequest) (Booking, error) {
	if r.ConsentAt.IsZero() {
		return Booking{}, &ValidationError{Field: "consent", Reason: ReasonEmpty}
	}
	slot, err := s.Store.Slot(ctx, r.SlotID)
	if err != nil {
		return Booking{}, fmt.Errorf("booking: book slot %d: %w", r.SlotID, err)
	}
	if err := s.CheckEligibility(r.Patient, slot.Service, slot.Start); err != nil {
		return Booking{}, err
	}
	nb := NewBooking{
		SlotID:         r.SlotID,
		Patient:        s.Protector.PatientKey(r.Patient.Document),
		BirthKey:       s.Protector.BirthKey(r.Patient.Document, r.Patient.DateOfBirth),
		PatientMasked:  r.Patient.Document.Masked(),
		DocumentType:   r.Patient.Document.Type,
		Booker:         r.Booker,
		ConsentAt:      r.ConsentAt.UTC(),
		CreatedAt:      s.Now().UTC(),
		IdempotencyKey: r.IdempotencyKey,
		Lang:           r.Lang,
	}
	nb.RemindAt = s.Reminders.At(slot.Start, nb.CreatedAt)
	if nb.MobileSealed, err = s.Protector.Seal([]byte(r.Patient.Mobile), aadMobile); err != nil {
		return Booking{}, fmt.Errorf("booking: seal mobile: %w", err)
	}
	// A retried request must find its booking even when the slot has since
	// left the window, so the window is checked only for new bookings: the
	// store answers an idempotent replay before claiming anything.
	from, to := s.Window()
	inWindow := !slot.Start.Before(from) && slot.Start.Before(to)
	for range 5 {
		nb.Reference = NewReference()
		if !inWindow {
			nb.SlotID = 0 // nothing to claim: only a replay can succeed
		}
		b, err := s.Store.Book(ctx, nb)
		switch {
		case err == nil:
			return b, nil
		case errors.Is(err, ErrConflict):
			continue // reference collision: draw another
		case errors.Is(err, ErrSlotTaken):
			s.forgetRoom(slot.Service, slot.ClinicID) // the cached status may still count the place
			if !r.HeldUntil.IsZero() && !nb.CreatedAt.Before(r.HeldUntil) {
				return Booking{}, errors.Join(ErrHoldExpired, err)
			}
			return Booking{}, err
		case !inWindow && errors.Is(err, ErrNotFound):
			return Booking{}, ErrSlotUnavailable
		case errors.Is(err, ErrAlreadyBooked):
			// Screened as the flow screens, its booker limits aside: the
			// booker has come this far, and a failed verification counts.
			lim := s.limits()
			lim.MaxActive, lim.MaxPatients = 0, 0
			if err := s.screen(ctx, r.Booker, r.Patient, lim); err != nil {
				return Booking{}, err
			}
			return Booking{}, ErrAlreadyBooked // the booking ended meanwhile
		default:
			return Booking{}, err
		}
	}
	return Booking{}, fmt.Errorf("booking: book: %w", ErrConflict)
}

// patientWindow is the window of Rules.MaxPatientsPerHour.
const patientWindow = time.Hour

// limits are the rules a Store applies atomically.
func (s *Service) limits() Limits {
	return Limits{
		MaxFailures:   s.Rules.MaxFailures,
		FailureWindow: s.Rules.FailureWindow,
		MaxActive:     s.Rules.MaxActivePerBooker,
		MaxPatients:   s.Rules.MaxPatientsPerHour,
		PatientWindow: patientWindow,
	}
}

// ScreenInRoom is Screen for a booker whose caller knows they have room
// for one more patient: BookerLimit said so, and the patients screened
// since have not used that room up. It does not read the limits again,
// which spares the store a statement on the booking flow's busiest path;
// the booker's updates come one at a time, so nothing else used the room.
func (s *Service) ScreenInRoom(ctx context.Context, b Booker, p Patient) error {
	lim := s.limits()
	lim.MaxActive, lim.MaxPatients = 0, 0
	return s.screen(ctx, b, p, lim)
}

// Screen looks the patient up for the booker's booking flow, before any
// service is chosen (see Store.Screen): nil when the patient may be
// booked, ErrAlreadyBooked when they hold a booking (nothing about it,
// whether the date of birth was right or not; a wrong one counts as a
// failed verification), a *CooldownError, or a *LimitError when the booker
// may look up no more patients.
func (s *Service) Screen(ctx context.Context, b Booker, p Patient) error {
	return s.screen(ctx, b, p, s.limits())
}

func (s *Service) screen(ctx context.Context, b Booker, p Patient, lim Limits) error {
	err := s.Store.Screen(ctx, Screening{
		Booker:   b,
		Patient:  s.Protector.PatientKey(p.Document),
		BirthKey: s.Protector.BirthKey(p.Document, p.DateOfBirth),
		At:       s.Now().UTC(),
		Limits:   lim,
	})
	if err != nil {
		return fmt.Errorf("booking: screen: %w", err)
	}
	return nil
}

// BookerLimit returns a *LimitError while the booker holds
// MaxActivePerBooker active bookings or has looked up MaxPatientsPerHour
// patients within the hour: the booking flow says so before asking for a
// patient's details. Otherwise it returns the room left: how many new
// patients the booker may still look up within the hour (at least 1;
// MaxInt without a limit). Screen checks the limits again when a patient
// is looked up, unless the caller uses the room (ScreenInRoom).
func (s *Service) BookerLimit(ctx context.Context, b Booker) (room int, err error) {
	now := s.Now().UTC()
	active, lookups, err := s.Store.BookerUsage(ctx, b, now.Add(-patientWindow), now)
	if err != nil {
		return 0, fmt.Errorf("booking: booker usage: %w", err)
	}
	lim := s.limits()
	if err := lim.BookerLimit(now, active, lookups, ""); err != nil {
		return 0, err
	}
	if lim.MaxPatients <= 0 {
		return math.MaxInt, nil
	}
	return lim.MaxPatients - len(lookups), nil
}

// Lookup is what a booker gives to find a patient's booking: the flow B/C
// verification of the seed.
type Lookup struct {
	Booker      Booker
	Document    Document
	DateOfBirth Date
	Service     ServiceKind
	ClinicID    ClinicID // empty for video
}

// verification is what the store checks for l; the store applies the
// cool-down in the same atomic step as the check.
func (s *Service) verification(l Lookup, action AuditAction) Verification {
	now := s.Now().UTC()
	v := Verification{
		Patient:  s.Protector.PatientKey(l.Document),
		BirthKey: s.Protector.BirthKey(l.Document, l.DateOfBirth),
		Service:  l.Service,
		ClinicID: l.ClinicID,
		Booker:   l.Booker,
		Action:   action,
		At:       now,
		Limits:   s.limits(),
	}
	if l.Service == ServiceVideo {
		v.ClinicID = ""
	}
	return v
}

// BookerCooldown returns a *CooldownError while the booker's own failed
// verifications hold them off enquiring and cancelling, and nil otherwise:
// a flow says so before asking for a patient's details.
func (s *Service) BookerCooldown(ctx context.Context, b Booker) error {
	return s.cooldown(ctx, b, "", s.Now().UTC())
}

// cooldown returns a *CooldownError while the failed verifications by the
// booker, or for the patient (none for an empty key), reach MaxFailures
// within FailureWindow.
func (s *Service) cooldown(ctx context.Context, b Booker, patient PatientKey, now time.Time) error {
	byBooker, byPatient, err := s.Store.FailedVerifications(ctx, b, patient, now.Add(-s.Rules.FailureWindow))
	if err != nil {
		return fmt.Errorf("booking: failed verifications: %w", err)
	}
	return s.limits().Cooldown(now, byBooker, byPatient)
}

// Enquire returns the active booking that matches every part of l, or
// ErrNotFound whichever part was wrong, or a *CooldownError after too many
// failures.
func (s *Service) Enquire(ctx context.Context, l Lookup) (Booking, error) {
	v := s.verification(l, AuditEnquire)
	return s.Store.Verify(ctx, v)
}

// VerifyForCancel is Enquire ahead of a cancel: it shows the booking the
// booker is about to cancel.
func (s *Service) VerifyForCancel(ctx context.Context, l Lookup) (Booking, error) {
	v := s.verification(l, AuditVerify)
	return s.Store.Verify(ctx, v)
}

// Move moves the booking ref that matches l to slot to (another time at
// the same clinic, another clinic, or the other service when the patient
// may use it), keeping its reference: the new place is claimed and the old
// one given back in one transaction, the booker's live hold on to keeping
// the new place. It fails with ErrNotFound on any mismatch, a
// *CooldownError, *EligibilityError, ErrSlotUnavailable (outside the
// window, or the booking's own slot), ErrSlotTaken (the booking stays as
// it was; joined with ErrHoldExpired when heldUntil has passed) or
// ErrAppointmentStarted.
func (s *Service) Move(ctx context.Context, l Lookup, ref Reference, to SlotID, heldUntil time.Time) (Booking, error) {
	slot, err := s.moveTarget(ctx, to)
	if err != nil {
		return Booking{}, err
	}
	p := Patient{Document: l.Document, DateOfBirth: l.DateOfBirth}
	if err := s.CheckEligibility(p, slot.Service, slot.Start); err != nil {
		return Booking{}, err
	}
	// Unlike Verify and Cancel, the store's Move does not yet decide the
	// cool-down in its own transaction: it is read here first.
	v := s.verification(l, AuditMove)
	if err := s.cooldown(ctx, l.Booker, v.Patient, v.At); err != nil {
		return Booking{}, err
	}
	return s.move(ctx, v, ref, slot, heldUntil)
}

// MoveBound is Move for a booking bound to the chat that made it (see
// Verification.Bound): b must be its booker, and nothing of the patient
// is asked. Without the patient's date of birth their eligibility for the
// other service cannot be checked, so a bound move keeps the service:
// another clinic, or another time, but video to video. to in the other
// service is ErrSlotUnavailable.
func (s *Service) MoveBound(ctx context.Context, b Booker, ref Reference, to SlotID, heldUntil time.Time) (Booking, error) {
	slot, err := s.moveTarget(ctx, to)
	if err != nil {
		return Booking{}, err
	}
	v := Verification{Booker: b, Service: slot.Service, Action: AuditMove, At: s.Now().UTC(), Limits: s.limits(), Bound: true}
	return s.move(ctx, v, ref, slot, heldUntil)
}

// moveTarget reads the slot a booking moves to: it must be in the window.
func (s *Service) moveTarget(ctx context.Context, to SlotID) (Slot, error) {
	slot, err := s.Store.Slot(ctx, to)
	if err != nil {
		return Slot{}, fmt.Errorf("booking: move to slot %d: %w", to, err)
	}
	if from, end := s.Window(); slot.Start.Before(from) || !slot.Start.Before(end) {
		return Slot{}, ErrSlotUnavailable
	}
	return slot, nil
}

func (s *Service) move(ctx context.Context, v Verification, ref Reference, slot Slot, heldUntil time.Time) (Booking, error) {
	v.RemindAt = s.Reminders.At(slot.Start, v.At)
	b, err := s.Store.Move(ctx, v, ref, slot.ID)
	if errors.Is(err, ErrSlotTaken) {
		s.forgetRoom(slot.Service, slot.ClinicID)
		if !heldUntil.IsZero() && !v.At.Before(heldUntil) {
			return Booking{}, errors.Join(ErrHoldExpired, err)
		}
	}
	return b, err
}

// Cancel cancels the booking ref that matches l and returns its place to
// the quota at once. It is idempotent. It fails with ErrNotFound on any
// mismatch, ErrAppointmentStarted, or a *CooldownError.
func (s *Service) Cancel(ctx context.Context, l Lookup, ref Reference) (Booking, error) {
	v := s.verification(l, AuditCancel)
	return s.Store.Cancel(ctx, v, ref)
}

// CancelBound cancels the booking ref made by b (see Verification.Bound),
// from the chat that made it: "my bookings", a reminder's cancel button.
// Nothing of the patient is asked; a booking b did not make, or whose
// personal data was purged, is ErrNotFound.
func (s *Service) CancelBound(ctx context.Context, b Booker, ref Reference) (Booking, error) {
	v := Verification{Booker: b, Action: AuditCancel, At: s.Now().UTC(), Limits: s.limits(), Bound: true}
	return s.Store.Cancel(ctx, v, ref)
}

package booking

import (
	"context"
	"time"
)

// Store keeps clinics, slots, bookings and the audit trail. Every method that
// changes a booking writes its audit record in the same transaction.
//
// Implementations: booking/sqlite and booking/postgres. Both must pass
// bookingtest.Exercise. Stores hold no rules beyond the ones that need
// atomicity (capacity, one active booking per patient, idempotency); the rules
// live in Service.
type Store interface {
	// SaveClinics inserts or updates clinics by ID, all or none.
	SaveClinics(ctx context.Context, clinics []Clinic) error
	// Clinics returns every clinic ordered by region (seed order) then ID.
	Clinics(ctx context.Context) ([]Clinic, error)

	// SaveSlots inserts slots, all or none, keyed by (service, clinic, start):
	// an existing slot keeps its places taken and gets the new end and
	// capacity, unless the capacity would fall below the places taken, which
	// fails the whole call with a *ValidationError{Field: "capacity"}. A slot
	// that Slot.Validate refuses fails the whole call with its errors.
	// It counts the slots that were new, changed and already as given.
	// A slot staff closed (StaffStore.CloseSlot) stays closed: the new
	// capacity is kept for when it is reopened.
	SaveSlots(ctx context.Context, slots []Slot) (SlotsSaved, error)
	// Slot returns one slot, or ErrNotFound.
	Slot(ctx context.Context, id SlotID) (Slot, error)
	// Slots returns the slots that match q, ordered by start then ID.
	Slots(ctx context.Context, q SlotQuery) ([]Slot, error)
	// QuotaCounts sums capacity and places taken per (service, clinic) over
	// the slots that start in [from, to). A place held at at (see Hold)
	// counts as taken; an expired hold counts for nothing.
	QuotaCounts(ctx context.Context, from, to, at time.Time) ([]QuotaCount, error)

	// Hold keeps one place of h.SlotID for h.Booker until h.Until, in
	// place of any hold the booker had: one hold per booker. The place must
	// be free at at: capacity above the places booked plus the other holds
	// live at at (Until after at); otherwise ErrSlotTaken, and the
	// booker's earlier hold is gone all the same. No such slot is
	// ErrNotFound. A hold that lapsed counts for nothing from that moment,
	// whether or not it was ever removed: no sweeper is needed for any
	// count to be right. It returns the slot with Held as of at.
	Hold(ctx context.Context, h Hold, at time.Time) (Slot, error)
	// Release drops the booker's hold, if any.
	Release(ctx context.Context, b Booker) error
	// DropHolds removes the holds that lapsed by at and returns how many:
	// tidying only, as a lapsed hold is counted nowhere.
	DropHolds(ctx context.Context, at time.Time) (int, error)

	// Book claims one place of b.SlotID and records the booking, atomically:
	//   - a non-empty IdempotencyKey seen before returns that booking, unchanged;
	//   - the patient's active bookings whose slot ended by b.CreatedAt become
	//     StatusCompleted; another active one fails with ErrAlreadyBooked;
	//   - the claim takes the place that b.Booker's hold on the slot keeps, if
	//     that hold is live at b.CreatedAt: it cannot fail for want of room;
	//     without one, it takes a free place, the other bookers' live holds
	//     counting as taken; no place left fails with ErrSlotTaken, no such
	//     slot with ErrNotFound; either way the booker's hold is gone;
	//   - a reference already in use fails with ErrConflict (the caller retries
	//     with a new one).
	Book(ctx context.Context, b NewBooking) (Booking, error)
	// Screen is the booking flow's look-up of a patient:
	//   - s.Limits.BookerLimit over the booker's active bookings and the
	//     patients they looked up within s.Limits.PatientWindow refuses with
	//     a *LimitError, recording nothing (a booker's updates come one at
	//     a time, under the router's lock, so this needs no lock of its own);
	//   - otherwise it records AuditLookup;
	//   - a patient with no active booking that has not ended at s.At: nil;
	//   - otherwise, one atomic step whatever the number of replicas and
	//     concurrent calls: s.Limits.Cooldown over the failed verifications
	//     by the booker and for the patient refuses with a *CooldownError;
	//     else a birth key that does not match records AuditVerifyFailed,
	//     and either way it fails with ErrAlreadyBooked, the same error
	//     whether the date of birth was right or not.
	Screen(ctx context.Context, s Screening) error
	// BookerUsage returns how many active bookings not yet ended at at the
	// booker holds, and for each patient they looked up (Screen) since
	// since, the latest look-up.
	BookerUsage(ctx context.Context, booker Booker, since, at time.Time) (active int, lookups map[PatientKey]time.Time, err error)
	// Verify finds the active, not yet ended booking that matches every part
	// of v. On a match it records v.Action (AuditEnquire, or AuditVerify for a
	// verification ahead of a cancel); otherwise it records AuditVerifyFailed
	// and returns ErrNotFound, whichever part was wrong. Before any of it,
	// in the same atomic step, v.Limits.Cooldown over the failed
	// verifications by the booker and for the patient refuses with a
	// *CooldownError, recording nothing: concurrent calls never check more
	// than v.Limits.MaxFailures wrong guesses per window.
	Verify(ctx context.Context, v Verification) (Booking, error)
	// Cancel cancels the booking with reference ref that matches v and returns
	// its place to the slot. Cancelling a cancelled booking returns it
	// unchanged. A mismatch records AuditVerifyFailed and returns ErrNotFound;
	// a slot that started by v.At returns ErrAppointmentStarted. The
	// cool-down is applied as by Verify.
	Cancel(ctx context.Context, v Verification, ref Reference) (Booking, error)
	// Move moves the booking with reference ref that matches v to slot to,
	// in one transaction: the new place is claimed as Book claims it (a
	// live hold of v.Booker on to keeps it) and the old place given back
	// together; the reference stays, Sequence goes up by one, and an
	// AuditMove record names v.Booker. No place at to is ErrSlotTaken and
	// leaves the booking as it was; to being its slot already is
	// ErrSlotUnavailable; a booking not active or whose slot started by
	// v.At is ErrAppointmentStarted. A mismatch records AuditVerifyFailed
	// and returns ErrNotFound.
	Move(ctx context.Context, v Verification, ref Reference, to SlotID) (Booking, error)
	// FailedVerifications returns the times of failed verifications since
	// since, newest first: those made by the booker, and those for the
	// patient (by anyone).
	FailedVerifications(ctx context.Context, booker Booker, patient PatientKey, since time.Time) (byBooker, byPatient []time.Time, err error)
	// Bookings lists bookings for clinic staff, ordered by slot start.
	Bookings(ctx context.Context, q BookingQuery) ([]Booking, error)
	// Complete marks the active bookings whose slot ended at or before at
	// StatusCompleted, so that what is listed as active is still to come;
	// it returns how many. Book does the same for the patient it books.
	Complete(ctx context.Context, at time.Time) (int, error)
	// Purge removes the personal data (sealed mobile, patient and date keys,
	// masked document, booker id) of bookings whose slot ended before
	// before, the patient key and booker id of their audit records, and the
	// audit records made before before that name no booking (failed
	// verifications, look-ups); it returns how many bookings it purged.
	Purge(ctx context.Context, before time.Time) (int, error)
	// Audit returns the audit records at or after since, oldest first.
	Audit(ctx context.Context, since time.Time) ([]AuditRecord, error)
	// BookerBookings returns the active bookings booker made whose slot
	// has not ended at at, ordered by slot start then ID: the chat's "my
	// bookings". A purged booking names no booker and is never among them.
	BookerBookings(ctx context.Context, booker Booker, at time.Time) ([]Booking, error)
	// PatientLog returns what was done for the patient, as the audit trail
	// records it: the latest limit records that name the patient, failed
	// verifications aside, newest first; how many such records there are;
	// and the failed verifications that name the patient, counted, with
	// the time of the latest. Purge ends a record's part in it (it clears
	// the patient key, or deletes the record), so the log lives exactly as
	// long as the personal data of the bookings it is about.
	PatientLog(ctx context.Context, patient PatientKey, limit int) (PatientLog, error)

	// KeyState returns the fingerprint of the data key BindKey recorded
	// ("" when none) and whether the store holds any booking.
	KeyState(ctx context.Context) (KeyState, error)
	// BindKey records fingerprint (Protector.Fingerprint) as the data key's
	// when the store records none yet. When it records another, BindKey
	// fails with ErrKeyMismatch and changes nothing.
	BindKey(ctx context.Context, fingerprint string, at time.Time) error

	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// KeyState is what a Store knows of the data key its personal data was
// sealed and hashed under.
type KeyState struct {
	Fingerprint string // "" when no key is recorded yet
	Bookings    bool   // the store holds at least one booking
	// Sealed is the sealed mobile number of one stored booking, nil when
	// none holds one: in a store from before fingerprints were recorded,
	// opening it tells whether a key is the one the bookings were sealed
	// under (Protector.CheckKey).
	Sealed []byte
}

// SlotQuery selects slots.
type SlotQuery struct {
	Service  ServiceKind
	ClinicID ClinicID  // empty: every clinic (and video)
	From, To time.Time // slot start in [From, To); zero: unbounded
	OpenOnly bool      // only slots with a place left
	// At is when holds are counted: a hold live at At keeps its place
	// (OpenOnly, Slot.Held). Zero counts none.
	At     time.Time
	Limit  int // 0: no limit
	Offset int
}

// QuotaCount is the summed capacity and places taken of one service at one
// clinic (ClinicID empty for video).
type QuotaCount struct {
	Service  ServiceKind
	ClinicID ClinicID
	Capacity int
	Taken    int
}

// PatientKey is the keyed hash of a patient's document, see Protector.
type PatientKey string

// NewBooking is what Service hands a Store to book. It holds no personal
// data in clear.
type NewBooking struct {
	Reference      Reference
	SlotID         SlotID
	Patient        PatientKey
	BirthKey       string // Protector.BirthKey: compared, never read back
	PatientMasked  string
	DocumentType   DocumentType
	MobileSealed   []byte // Protector.Seal of the mobile number
	Booker         Booker
	ConsentAt      time.Time
	CreatedAt      time.Time
	IdempotencyKey string // empty: none
	// RemindAt is when the outbox sends the booking's reminder
	// (Reminders.At); zero: none.
	RemindAt time.Time
	// Lang is the language the booking was made in ("zh-HK", "en",
	// "zh-CN"; empty: unknown): its notices speak it.
	Lang string
}

// Verification is what enquiry and cancel must match: the patient's document
// and date of birth (as keys) and the booked service and clinic.
type Verification struct {
	Patient  PatientKey
	BirthKey string
	Service  ServiceKind
	ClinicID ClinicID // empty for video
	Booker   Booker
	Action   AuditAction // recorded on success by Verify
	At       time.Time
	Limits   Limits // the cool-down applied (MaxFailures, FailureWindow)
	// Bound, for Cancel and Move, matches the booking by the chat that
	// made it instead of by the patient: Booker must be the booking's
	// booker (a purged booking has none), and Patient, BirthKey, Service
	// and ClinicID are not compared, except that Move keeps a bound
	// booking in its service: Service is the service of the slot it moves
	// to, and another is ErrSlotUnavailable (the patient's eligibility is
	// not known). Nothing is guessed, so no cool-down applies; the audit
	// records carry the booking's patient key. Verify ignores it.
	Bound bool
	// RemindAt, for Move, is when the moved booking's reminder is sent
	// (Reminders.At for the new slot); zero drops it.
	RemindAt time.Time
}

// BookingQuery selects bookings for staff.
type BookingQuery struct {
	ClinicID ClinicID    // empty: all
	Service  ServiceKind // empty: both
	From, To time.Time   // slot start in [From, To)
	Status   Status      // empty: all
}

// Hold is one place of a slot kept for a booker while they consider the
// offer of it, so that accepting cannot fail for want of room.
type Hold struct {
	SlotID SlotID
	Booker Booker
	Until  time.Time // the hold lapses at Until
}

// AuditAction is what an audit record says happened.
type AuditAction string

// Audit actions.
const (
	AuditBook         AuditAction = "book"
	AuditCancel       AuditAction = "cancel"
	AuditMove         AuditAction = "move" // moved to another slot by the booker named
	AuditEnquire      AuditAction = "enquire"
	AuditVerify       AuditAction = "verify" // verified ahead of a cancel
	AuditVerifyFailed AuditAction = "verify_failed"
	AuditLookup       AuditAction = "lookup" // a patient looked up in the booking flow (Screen)
)

// AuditRecord is one line of the audit trail. The patient appears only as
// a keyed hash.
type AuditRecord struct {
	ID        int64
	At        time.Time
	Action    AuditAction
	Booker    Booker
	Patient   PatientKey
	BookingID BookingID // zero when none
}

// PatientLog is what the audit trail says was done for one patient: see
// Store.PatientLog.
type PatientLog struct {
	Records []AuditRecord // newest first; no failed verification among them
	Total   int           // the records Records are the latest of
	// Failed counts the failed verifications that name the patient, the
	// latest at LastFailed (zero when none).
	Failed     int
	LastFailed time.Time
}

// SlotsSaved counts what one SaveSlots call did with each slot it was
// given: inserted it, changed an existing slot's end or capacity, or found
// the slot already as given.
type SlotsSaved struct {
	Added, Updated, Unchanged int
}

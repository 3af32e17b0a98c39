package dialog

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// ErrStale is returned by SessionStore.Save when the stored session's
// version is no longer the one the caller loaded: a concurrent writer won.
var ErrStale = errors.New("dialog: stale session")

// SessionStore keeps one Session per booker. Keys are SessionKey values.
//
// Implementations: MemoryStore (in process, the embedded default) and
// dialog/redisstore (production).
type SessionStore interface {
	// Load returns the booker's session. A booker with no stored session gets
	// a new one (Version 0); one whose session expired while a flow was open
	// gets a new one with TimedOut set.
	Load(ctx context.Context, key string) (*Session, error)
	// Save stores s if the stored version still equals s.Version, and then
	// increments s.Version; otherwise it returns ErrStale and stores nothing.
	Save(ctx context.Context, key string, s *Session) error
	// Delete forgets the booker's session.
	Delete(ctx context.Context, key string) error
}

// Session is one booker's conversation state: where they are in a flow, the
// answers given so far, the language, a bounded history for /back, the step
// nonce and the version for compare-and-set.
//
// A Session holds a patient's personal data while a flow is open; stores
// seal it at rest, and the engine clears Answers when a flow ends.
type Session struct {
	Version  int64   `json:"v"`
	Lang     string  `json:"l,omitempty"`
	State    string  `json:"s,omitempty"`
	Nonce    string  `json:"n,omitempty"`
	Answers  Answers `json:"a"`
	History  []Frame `json:"h,omitempty"`
	Failures int     `json:"f,omitempty"`
	// Sensitive says an input of this session carried personal data
	// already (see Result.FirstSensitive).
	Sensitive bool `json:"sn,omitempty"`
	// Room is how many new patients the booking flow may still look up
	// without the store reading the booker's limits again: set when the
	// flow starts (booking.Service.BookerLimit), spent by each look-up, and
	// kept apart from Answers so that /back cannot give it back.
	Room      int       `json:"r,omitempty"`
	UpdatedAt time.Time `json:"u"`
	// TimedOut is set by a store's Load when the booker's earlier session
	// expired with a flow open; it is never stored.
	TimedOut bool `json:"-"`
}

// Frame is one entry of the /back history: the state left and the answers
// as they were on entering it.
type Frame struct {
	State   string  `json:"s"`
	Answers Answers `json:"a"`
}

// Answers are what the booker has given in the current flow.
type Answers struct {
	Flow string `json:"fl,omitempty"` // "book", "enquire", "cancel", "change", "household", "mine"
	// FlowID is drawn at random when a flow starts; with the slot it makes
	// the idempotency key of a booking, so that an accept replayed after a
	// crash or pressed twice returns the same booking.
	FlowID    string    `json:"id,omitempty"`
	DocType   string    `json:"dt,omitempty"`
	DocNumber string    `json:"dn,omitempty"`
	BirthYear int       `json:"by,omitempty"`
	BirthMon  int       `json:"bm,omitempty"`
	BirthDay  int       `json:"bd,omitempty"`
	Mobile    string    `json:"mo,omitempty"`
	ConsentAt time.Time `json:"ca,omitzero"`
	Service   string    `json:"sv,omitempty"`
	Region    string    `json:"rg,omitempty"`
	ClinicID  string    `json:"cl,omitempty"`
	SlotID    int64     `json:"sl,omitempty"`
	Page      int       `json:"pg,omitempty"`
	// Screened says the patient of these answers has been looked up
	// (booking.Service.Screen): coming back to the service choice, after a
	// full offer or with /back, does not look them up again.
	Screened bool `json:"sc,omitempty"`
	// HoldUntil is when the place kept for the booker on SlotID lapses;
	// zero while none is held.
	HoldUntil time.Time `json:"hu,omitzero"`
	// Declined is the slot offered and declined; Day ("2006-01-02") and
	// Part ("am", "pm") are where the booker is picking another.
	Declined  int64  `json:"dc,omitempty"`
	Day       string `json:"dy,omitempty"`
	Part      string `json:"pt,omitempty"`
	Reference string `json:"rf,omitempty"`
	// BookedService, BookedClinic and BookedSlot are where the booking
	// being changed (flow "change", Reference) is now: Service, ClinicID
	// and SlotID are where it may go.
	BookedService string `json:"bs,omitempty"`
	BookedClinic  string `json:"bc,omitempty"`
	BookedSlot    int64  `json:"bt,omitempty"`
	// Bound says the booking being changed is bound to this chat, which
	// made it: it moves without the patient's details (and so within
	// its service; see booking.Service.MoveBound).
	Bound bool `json:"bo,omitempty"`
	// Near is the slot of the booking just made, kept past the booked
	// step (with the service, clinic and mobile) so that the household's
	// next patient is offered the time next to it.
	Near int64 `json:"nr,omitempty"`
	// NoticeUntil is when the reminded booking's buttons expire (its
	// appointment's start, Unix seconds); see notice.go.
	NoticeUntil int64 `json:"nu,omitempty"`
}

// InFlow reports whether a flow is open (personal data may be held).
func (s *Session) InFlow() bool { return s.Answers.Flow != "" }

// MarshalBinary encodes the session for a store (compact JSON).
func (s *Session) MarshalBinary() ([]byte, error) { return json.Marshal(s) }

// UnmarshalBinary decodes a session written by MarshalBinary.
func (s *Session) UnmarshalBinary(data []byte) error { return json.Unmarshal(data, s) }

// SessionKey is the store key of a booker's session.
func SessionKey(b booking.Booker) string { return string(b.Channel) + ":" + b.ID }

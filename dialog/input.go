package dialog

import "github.com/clinicbot/clinicbot/booking"

// InputKind says what a booker sent.
type InputKind int

// The kinds of input a chat adapter turns its updates into.
const (
	// InputText is typed text, commands ("/start") included.
	InputText InputKind = iota
	// InputOption is a pressed button: Option is the option's ID and Nonce
	// the step nonce of the message that carried it.
	InputOption
	// InputContact is a shared contact: Phone is its number.
	InputContact
	// InputNotice is a notice from the outbox (a reminder, a change to a
	// booking) for the chat that made the booking: Notice is it. Only the
	// dispatcher makes one; no chat message becomes one.
	InputNotice
)

// Input is one message from a booker, free of any chat SDK type.
type Input struct {
	Kind   InputKind
	Text   string
	Option string
	Nonce  string
	Phone  string
	// Notice is the outbox's notice of an InputNotice.
	Notice *booking.Notice
	// LanguageHint is the booker's client language (e.g. Telegram's
	// language_code); it picks the language of a new session only.
	LanguageHint string
}

// Option is a choice offered with a reply. ID is stable across languages and
// releases; Label is localized.
type Option struct {
	ID    string
	Label string
}

// File is an attachment such as the booking's calendar file.
type File struct {
	Name string // e.g. "clinicbot-K7QM4X2P.ics"
	MIME string // e.g. "text/calendar"
	Data []byte
}

// Location is a place to show on a map: the booked clinic.
type Location struct {
	Name    string
	Address string
	Lat     float64
	Lng     float64
}

// Reply is one message from the bot.
type Reply struct {
	// Key is the locale key of the main text and Args its arguments; Text is
	// that message rendered in the session's language.
	Key  string
	Args map[string]any
	Text string
	// Options are the choices a booker may press or type; Nonce is the step
	// nonce they belong to (callback data carries it, so that a button from an
	// older message is recognised as stale).
	Options []Option
	Nonce   string
	// Replace hints that this reply replaces the previous prompt (a chat that
	// can edit messages edits it in place instead of sending a new one).
	Replace  bool
	Calendar *File
	Location *Location
}

// Result is the engine's answer to one Input.
type Result struct {
	Replies []Reply
	// Sensitive says the input carried a patient's personal data (an
	// identity document number, a date of birth or a phone number): an
	// adapter that can delete the booker's message does so.
	Sensitive bool
	// FirstSensitive says Sensitive is true for the first time in this
	// session: an adapter that tells the booker it deleted their message
	// says so now, once a conversation, not at every such message.
	FirstSensitive bool
	// Retract says the question this input answered repeated the patient's
	// personal data (the date of birth said back): an adapter that can
	// remove or rewrite the bot's own message that asked it does so, e.g.
	// by editing that message into the first reply.
	Retract bool
	// Lang is the session's language after the input (adapters localize
	// their own texts, e.g. alerts, with it).
	Lang string
	// States are the states the conversation entered during the input, in
	// order (transient ones included), for metrics and coverage.
	States []string
}

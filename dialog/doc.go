// Package dialog is clinicbot's conversation: a per-booker state machine that
// turns one Input into the bot's Replies, following the three flows of the
// HA Go tutorial (book, enquire and cancel for others) in its zh-HK wording,
// with en and zh-CN translations from package locales.
//
// Each flow is a table of steps (book.go, verify.go; identify.go is the
// sub-flow that asks who the patient is, spliced into all three; pick.go
// the sub-flow that picks another time by day, spliced into booking;
// menu.go holds the steps outside any flow). Beyond the seed: household.go
// books the next patient of a household from the booked screen, mine.go is
// the chat's own bookings ("my bookings"), accesslog.go shows who acted for
// a verified patient. Steps that may hold a place
// for the booker (an offer, a slot to accept) say so, and the engine gives
// the place back when an update leaves them without booking. A step says everything about itself:
// its question and options, how its answer is read, what its entry does on
// booking.Service, and where each event and each expected booking failure
// leads. One github.com/looplab/fsm machine is built from the tables when
// the package starts and takes every booker's events; the booker's place
// in it is the stored Session's State.
//
// The Engine keeps no per-booker state: Step works on a Session that a
// bot.Router loaded under the booker's lock and stores afterwards, so every
// channel and every test goes the same way.
//
// go generate ./dialog draws the state diagram from the same tables into
// flow.mmd and README.md; golden conversations live in testdata/*.txtar and
// run through the dialogtest package.
package dialog

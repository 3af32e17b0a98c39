// Package dialog is clinicbot's conversation: a per-booker state machine that
// turns one Input into the bot's Replies, following the three flows of the
// HA Go tutorial (book, enquire and cancel for others) in its zh-HK wording,
// with en and zh-CN translations from package locales.
//
// The Engine is stateless between updates: each update's state machine
// (github.com/looplab/fsm, which is not safe to keep per booker) is rebuilt
// from the stored Session, the transition is taken, and the step's side
// effects on booking.Service run after it. Step works on a Session the
// caller loaded (the router does its own store round trips); Handle loads
// and saves through a SessionStore itself.
//
// The state diagram is generated into flow.mmd by a test (-update rewrites
// it); golden conversations live in testdata/*.txtar and run through the
// dialogtest package.
package dialog

// Package booking is clinicbot's domain: regions, clinics, services, slots,
// quota, patients, bookers and bookings, and the rules that hold between them.
//
// It imports only the standard library. Storage lives behind the Store
// interface, implemented by booking/sqlite (the embedded default) and
// booking/postgres (production); both pass the conformance suite in
// booking/bookingtest.
//
// Two people are kept apart throughout: the Booker, who chats with the bot
// (a family member on Telegram, a caregiver on WhatsApp), and the Patient, the
// person the appointment is for. Personal data of a patient never leaves this
// package in clear except to the Store as sealed or hashed values, see Protector.
//
// Time always comes from an injected clock (Service.Now); everything stored is
// UTC, and Hong Kong time is a formatting concern of the callers.
package booking

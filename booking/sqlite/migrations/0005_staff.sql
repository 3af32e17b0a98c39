-- The clinic staff console: accounts, sessions (the token's hash only), the
-- staff audit trail, the closures of slots and attendance marks. Numbered 0005:
-- 0002–0004 are taken by other changes in flight.

CREATE TABLE staff (
    name            TEXT PRIMARY KEY,
    -- NULL: an admin, who sees every clinic.
    clinic_id       TEXT REFERENCES clinics (id),
    password_hash   TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_failure_at INTEGER
) STRICT;

CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_name TEXT NOT NULL REFERENCES staff (name) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX staff_sessions_staff ON staff_sessions (staff_name);

-- Outlives the accounts it names: no foreign keys.
CREATE TABLE staff_audit (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    staff_name TEXT NOT NULL,
    action     TEXT NOT NULL,
    clinic_id  TEXT,
    slot_id    INTEGER,
    booking_id INTEGER,
    detail     TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX staff_audit_at ON staff_audit (at);

-- A closed slot has capacity 0 (so nothing can claim it) and its capacity
-- here, given back when it is reopened.
CREATE TABLE slot_closures (
    slot_id    INTEGER PRIMARY KEY REFERENCES slots (id),
    capacity   INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    staff_name TEXT NOT NULL,
    closed_at  INTEGER NOT NULL
) STRICT;

-- Whether the patient of a booking came, as staff marked it.
CREATE TABLE booking_attendance (
    booking_id INTEGER PRIMARY KEY REFERENCES bookings (id),
    mark       TEXT NOT NULL CONSTRAINT booking_attendance_mark_check CHECK (mark IN ('attended', 'no_show')),
    staff_name TEXT NOT NULL,
    marked_at  INTEGER NOT NULL
) STRICT;

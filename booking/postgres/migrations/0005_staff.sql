-- The clinic staff console: accounts, sessions (the token's hash only), the
-- staff audit trail, the closures of slots and attendance marks. Numbered 0005:
-- 0002–0004 are taken by other changes in flight.

CREATE TABLE staff (
    name            text PRIMARY KEY,
    -- NULL: an admin, who sees every clinic.
    clinic_id       text REFERENCES clinics (id),
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz
);

CREATE TABLE staff_sessions (
    token_hash text PRIMARY KEY,
    staff_name text NOT NULL REFERENCES staff (name) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX staff_sessions_staff ON staff_sessions (staff_name);

-- Outlives the accounts it names: no foreign keys.
CREATE TABLE staff_audit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    staff_name text NOT NULL,
    action     text NOT NULL,
    clinic_id  text,
    slot_id    bigint,
    booking_id bigint,
    detail     text NOT NULL DEFAULT ''
);

CREATE INDEX staff_audit_at ON staff_audit (at);

-- A closed slot has capacity 0 (so nothing can claim it) and its capacity
-- here, given back when it is reopened.
CREATE TABLE slot_closures (
    slot_id    bigint PRIMARY KEY REFERENCES slots (id),
    capacity   integer NOT NULL,
    reason     text NOT NULL,
    staff_name text NOT NULL,
    closed_at  timestamptz NOT NULL
);

-- Whether the patient of a booking came, as staff marked it.
CREATE TABLE booking_attendance (
    booking_id bigint PRIMARY KEY REFERENCES bookings (id),
    mark       text NOT NULL CONSTRAINT booking_attendance_mark_check CHECK (mark IN ('attended', 'no_show')),
    staff_name text NOT NULL,
    marked_at  timestamptz NOT NULL
);

-- The outbox: notices owed to the chat that made a booking, written in the
-- transaction of the change that causes them and sent by a dispatcher in
-- `clinicbot serve` (see booking.Outbox). The chat is the booking's booker:
-- no personal data is copied here.

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    booking_id  INTEGER NOT NULL REFERENCES bookings (id),
    kind        TEXT NOT NULL,
    by_whom     TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    sequence    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    deadline_at INTEGER NOT NULL,
    next_at     INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    -- 1 when the claim that set status 'sending' took over a lapsed one.
    unknown     INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    message_id  TEXT,
    settled_at  INTEGER,
    last_error  TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX outbox_booking ON outbox (booking_id);

-- The language the booking was made in: its notices speak it, even when the
-- booker's session (which knows it too) has lapsed.
ALTER TABLE bookings ADD COLUMN lang TEXT NOT NULL DEFAULT '';

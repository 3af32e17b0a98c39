-- The outbox: notices owed to the chat that made a booking, written in the
-- transaction of the change that causes them and sent by a dispatcher in
-- `clinicbot serve` (see booking.Outbox). The chat is the booking's booker:
-- no personal data is copied here.

CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id  bigint NOT NULL REFERENCES bookings (id),
    kind        text NOT NULL,
    by_whom     text NOT NULL DEFAULT '',
    reason      text NOT NULL DEFAULT '',
    sequence    integer NOT NULL DEFAULT 0,
    status      text NOT NULL DEFAULT 'pending',
    created_at  timestamptz NOT NULL,
    due_at      timestamptz NOT NULL,
    deadline_at timestamptz NOT NULL,
    next_at     timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    -- 1 when the claim that set status 'sending' took over a lapsed one.
    unknown     integer NOT NULL DEFAULT 0,
    lease_owner text,
    lease_until timestamptz,
    message_id  text,
    settled_at  timestamptz,
    last_error  text NOT NULL DEFAULT ''
);

CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX outbox_booking ON outbox (booking_id);

-- The language the booking was made in: its notices speak it, even when the
-- booker's session (which knows it too) has lapsed.
ALTER TABLE bookings ADD COLUMN lang text NOT NULL DEFAULT '';

-- Holds: a place of a slot kept for a booker while they consider its offer.
-- One per booker. The places of a slot are slots.taken (bookings) plus its
-- holds whose until_at is still ahead; a lapsed hold counts for nothing, so
-- rows left behind are harmless and removed only to tidy.

CREATE TABLE holds (
    booker_channel text NOT NULL,
    booker_id      text NOT NULL,
    slot_id        bigint NOT NULL REFERENCES slots (id),
    until_at       timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (booker_channel, booker_id)
);

CREATE INDEX holds_slot_until ON holds (slot_id, until_at);
CREATE INDEX holds_until ON holds (until_at);

-- A booking moved to another slot keeps its reference; sequence counts the
-- moves (the calendar event's SEQUENCE).
ALTER TABLE bookings ADD COLUMN sequence integer NOT NULL DEFAULT 0;

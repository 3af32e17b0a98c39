-- The fingerprint of the data key the personal data is sealed and hashed
-- under (booking.Protector.Fingerprint: a keyed hash, not the key), recorded
-- on first use so that starting with another key is refused instead of
-- leaving the bookings unreadable. One row at most.
CREATE TABLE data_key (
    id          INTEGER PRIMARY KEY CONSTRAINT data_key_one_row CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
) STRICT;

-- The limits on one booker (issue #13): their active bookings, and the
-- patients they looked up in the booking flow within the hour, are counted
-- on every look-up.
CREATE INDEX bookings_booker_active ON bookings (booker_channel, booker_id) WHERE status = 'active';
CREATE INDEX audit_lookup_booker ON audit (channel, booker_id, at) WHERE action = 'lookup';

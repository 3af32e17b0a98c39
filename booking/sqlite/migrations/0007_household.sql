-- The patient's access log (Store.PatientLog) reads the audit records that
-- name one patient, newest first. Numbered 0007: 0006 is taken by another
-- change in flight. "My bookings" (Store.BookerBookings) needs no index of
-- its own: bookings_booker_active (0003) serves it.
CREATE INDEX audit_patient ON audit (patient_key, at) WHERE patient_key IS NOT NULL;

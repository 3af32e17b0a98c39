-- Clinics, slots, bookings and the audit trail. No document number, date of
-- birth or phone number is stored in clear: only keyed hashes (patient_key,
-- birth_key), a masked document (patient_masked) and a sealed mobile.
--
-- Every time (*_at) is an INTEGER: microseconds since the Unix epoch, UTC.

CREATE TABLE clinics (
    id             TEXT PRIMARY KEY,
    region         TEXT NOT NULL,
    region_rank    INTEGER NOT NULL,
    district_zh_hk TEXT NOT NULL DEFAULT '',
    district_en    TEXT NOT NULL DEFAULT '',
    district_zh_cn TEXT NOT NULL DEFAULT '',
    name_zh_hk     TEXT NOT NULL DEFAULT '',
    name_en        TEXT NOT NULL DEFAULT '',
    name_zh_cn     TEXT NOT NULL DEFAULT '',
    address_zh_hk  TEXT NOT NULL DEFAULT '',
    address_en     TEXT NOT NULL DEFAULT '',
    address_zh_cn  TEXT NOT NULL DEFAULT '',
    lat            REAL NOT NULL DEFAULT 0,
    lng            REAL NOT NULL DEFAULT 0,
    source         TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE slots (
    id        INTEGER PRIMARY KEY,
    service   TEXT NOT NULL CONSTRAINT slots_service_check CHECK (service IN ('clinic', 'video')),
    -- NULL for video consultation.
    clinic_id TEXT REFERENCES clinics (id),
    start_at  INTEGER NOT NULL,
    end_at    INTEGER NOT NULL,
    capacity  INTEGER NOT NULL,
    taken     INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT slots_taken_check CHECK (taken BETWEEN 0 AND capacity),
    CONSTRAINT slots_clinic_check CHECK ((service = 'video') = (clinic_id IS NULL)),
    CONSTRAINT slots_period_check CHECK (end_at > start_at)
) STRICT;

-- One slot per service, clinic and start; video slots have no clinic.
CREATE UNIQUE INDEX slots_service_clinic_start ON slots (service, (coalesce(clinic_id, '')), start_at);
CREATE INDEX slots_start ON slots (start_at);

CREATE TABLE bookings (
    id              INTEGER PRIMARY KEY,
    reference       TEXT NOT NULL CONSTRAINT bookings_reference_key UNIQUE,
    slot_id         INTEGER NOT NULL REFERENCES slots (id),
    -- Personal data, nulled by Purge.
    patient_key     TEXT,
    birth_key       TEXT,
    patient_masked  TEXT,
    mobile_sealed   BLOB,
    document_type   TEXT NOT NULL,
    booker_channel  TEXT NOT NULL,
    booker_id       TEXT NOT NULL,
    status          TEXT NOT NULL CONSTRAINT bookings_status_check CHECK (status IN ('active', 'cancelled', 'completed')),
    consent_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    cancelled_at    INTEGER,
    idempotency_key TEXT
) STRICT;

CREATE UNIQUE INDEX bookings_idempotency_key ON bookings (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- One active booking per patient: the store's guarantee, not a rule in code.
CREATE UNIQUE INDEX bookings_patient_active ON bookings (patient_key) WHERE status = 'active';
CREATE INDEX bookings_slot ON bookings (slot_id);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    action      TEXT NOT NULL,
    channel     TEXT NOT NULL,
    booker_id   TEXT NOT NULL,
    patient_key TEXT,
    booking_id  INTEGER REFERENCES bookings (id)
) STRICT;

CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_failed_booker ON audit (channel, booker_id, at) WHERE action = 'verify_failed';
CREATE INDEX audit_failed_patient ON audit (patient_key, at) WHERE action = 'verify_failed';

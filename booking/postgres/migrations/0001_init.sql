-- Clinics, slots, bookings and the audit trail. No document number, date of
-- birth or phone number is stored in clear: only keyed hashes (patient_key,
-- birth_key), a masked document (patient_masked) and a sealed mobile.

CREATE TABLE clinics (
    id             text PRIMARY KEY,
    region         text NOT NULL,
    region_rank    integer NOT NULL,
    district_zh_hk text NOT NULL DEFAULT '',
    district_en    text NOT NULL DEFAULT '',
    district_zh_cn text NOT NULL DEFAULT '',
    name_zh_hk     text NOT NULL DEFAULT '',
    name_en        text NOT NULL DEFAULT '',
    name_zh_cn     text NOT NULL DEFAULT '',
    address_zh_hk  text NOT NULL DEFAULT '',
    address_en     text NOT NULL DEFAULT '',
    address_zh_cn  text NOT NULL DEFAULT '',
    lat            double precision NOT NULL DEFAULT 0,
    lng            double precision NOT NULL DEFAULT 0,
    source         text NOT NULL DEFAULT ''
);

CREATE TABLE slots (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service   text NOT NULL CONSTRAINT slots_service_check CHECK (service IN ('clinic', 'video')),
    -- NULL for video consultation.
    clinic_id text REFERENCES clinics (id),
    start_at  timestamptz NOT NULL,
    end_at    timestamptz NOT NULL,
    capacity  integer NOT NULL,
    taken     integer NOT NULL DEFAULT 0,
    CONSTRAINT slots_taken_check CHECK (taken BETWEEN 0 AND capacity),
    CONSTRAINT slots_clinic_check CHECK ((service = 'video') = (clinic_id IS NULL)),
    CONSTRAINT slots_period_check CHECK (end_at > start_at)
);

-- One slot per service, clinic and start; video slots have no clinic.
CREATE UNIQUE INDEX slots_service_clinic_start ON slots (service, (coalesce(clinic_id, '')), start_at);
CREATE INDEX slots_start ON slots (start_at);

CREATE TABLE bookings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference       text NOT NULL CONSTRAINT bookings_reference_key UNIQUE,
    slot_id         bigint NOT NULL REFERENCES slots (id),
    -- Personal data, nulled by Purge.
    patient_key     text,
    birth_key       text,
    patient_masked  text,
    mobile_sealed   bytea,
    document_type   text NOT NULL,
    booker_channel  text NOT NULL,
    booker_id       text NOT NULL,
    status          text NOT NULL CONSTRAINT bookings_status_check CHECK (status IN ('active', 'cancelled', 'completed')),
    consent_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    cancelled_at    timestamptz,
    idempotency_key text
);

CREATE UNIQUE INDEX bookings_idempotency_key ON bookings (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- One active booking per patient: the store's guarantee, not a rule in code.
CREATE UNIQUE INDEX bookings_patient_active ON bookings (patient_key) WHERE status = 'active';
CREATE INDEX bookings_slot ON bookings (slot_id);

CREATE TABLE audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    channel     text NOT NULL,
    booker_id   text NOT NULL,
    patient_key text,
    booking_id  bigint REFERENCES bookings (id)
);

CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_failed_booker ON audit (channel, booker_id, at) WHERE action = 'verify_failed';
CREATE INDEX audit_failed_patient ON audit (patient_key, at) WHERE action = 'verify_failed';

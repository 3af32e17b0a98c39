package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/internal/sqlstore"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// SaveClinics inserts or updates clinics by ID, all or none.
func (s *Store) SaveClinics(ctx context.Context, clinics []booking.Clinic) error {
	for _, c := range clinics {
		if c.ID == "" {
			return &booking.ValidationError{Field: "clinic", Reason: booking.ReasonEmpty}
		}
		if !c.Region.Valid() {
			return &booking.ValidationError{Field: "region", Reason: booking.ReasonFormat}
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range clinics {
			if _, err := tx.ExecContext(ctx, `INSERT INTO clinics (id, region, region_rank,
					district_zh_hk, district_en, district_zh_cn,
					name_zh_hk, name_en, name_zh_cn,
					address_zh_hk, address_en, address_zh_cn,
					lat, lng, source)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET
					region = excluded.region, region_rank = excluded.region_rank,
					district_zh_hk = excluded.district_zh_hk, district_en = excluded.district_en, district_zh_cn = excluded.district_zh_cn,
					name_zh_hk = excluded.name_zh_hk, name_en = excluded.name_en, name_zh_cn = excluded.name_zh_cn,
					address_zh_hk = excluded.address_zh_hk, address_en = excluded.address_en, address_zh_cn = excluded.address_zh_cn,
					lat = excluded.lat, lng = excluded.lng, source = excluded.source`,
				c.ID, c.Region, regionRank(c.Region),
				c.District.ZhHK, c.District.En, c.District.ZhCN,
				c.Name.ZhHK, c.Name.En, c.Name.ZhCN,
				c.Address.ZhHK, c.Address.En, c.Address.ZhCN,
				c.Location.Lat, c.Location.Lng, c.Source); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: save clinics: %w", translate(err))
	}
	return nil
}

// regionRank orders regions as the seed does.
func regionRank(r booking.Region) int {
	for i, x := range booking.Regions {
		if x == r {
			return i
		}
	}
	return len(booking.Regions)
}

// Clinics returns every clinic ordered by region (seed order) then ID.
func (s *Store) Clinics(ctx context.Context) ([]booking.Clinic, error) {
	clinics, err := sqlstore.Clinics(ctx, s.reader)
	if err != nil {
		return nil, fmt.Errorf("sqlite: clinics: %w", err)
	}
	return clinics, nil
}

// validSlot checks what the schema would otherwise refuse less clearly.
func validSlot(sl booking.Slot) error {
	switch {
	case !sl.Service.Valid():
		return &booking.ValidationError{Field: "service", Reason: booking.ReasonFormat}
	case sl.Service == booking.ServiceClinic && sl.ClinicID == "":
		return &booking.ValidationError{Field: "clinic", Reason: booking.ReasonEmpty}
	case sl.Service == booking.ServiceVideo && sl.ClinicID != "":
		return &booking.ValidationError{Field: "clinic", Reason: booking.ReasonFormat}
	case !sl.End.After(sl.Start):
		return &booking.ValidationError{Field: "end", Reason: booking.ReasonImpossible}
	case sl.Capacity < 0:
		return &booking.ValidationError{Field: "capacity", Reason: booking.ReasonFormat}
	}
	return nil
}

// SaveSlots inserts slots, or updates the end and capacity of those that
// exist, all or none; it returns how many were new.
func (s *Store) SaveSlots(ctx context.Context, slots []booking.Slot) (int, error) {
	for _, sl := range slots {
		if err := validSlot(sl); err != nil {
			return 0, err
		}
	}
	var added int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, sl := range slots {
			var id, taken int64
			err := tx.QueryRowContext(ctx, `SELECT id, taken FROM slots
				WHERE service = ? AND coalesce(clinic_id, '') = ? AND start_at = ?`,
				sl.Service, sl.ClinicID, micro(sl.Start)).Scan(&id, &taken)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, `INSERT INTO slots (service, clinic_id, start_at, end_at, capacity)
					VALUES (?, ?, ?, ?, ?)`,
					sl.Service, nullText(string(sl.ClinicID)), micro(sl.Start), micro(sl.End), sl.Capacity); err != nil {
					if errors.Is(translate(err), booking.ErrNotFound) {
						return fmt.Errorf("clinic %s: %w", sl.ClinicID, booking.ErrNotFound)
					}
					return err
				}
				added++
			case err != nil:
				return err
			case int64(sl.Capacity) < taken:
				return &booking.ValidationError{Field: "capacity", Reason: booking.ReasonImpossible}
			default:
				if _, err := tx.ExecContext(ctx, `UPDATE slots SET end_at = ?, capacity = ? WHERE id = ?`,
					micro(sl.End), sl.Capacity, id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: save slots: %w", translate(err))
	}
	return added, nil
}

const slotColumns = `s.id, s.service, coalesce(s.clinic_id, ''), s.start_at, s.end_at, s.capacity, s.taken`

func scanSlot(row scanner) (booking.Slot, error) {
	var (
		sl         booking.Slot
		start, end int64
	)
	err := row.Scan(&sl.ID, &sl.Service, &sl.ClinicID, &start, &end, &sl.Capacity, &sl.Taken)
	sl.Start, sl.End = fromMicro(start), fromMicro(end)
	return sl, err
}

// Slot returns one slot, or booking.ErrNotFound.
func (s *Store) Slot(ctx context.Context, id booking.SlotID) (booking.Slot, error) {
	sl, err := sqlstore.Slot(ctx, s.reader, id)
	if err != nil {
		return booking.Slot{}, fmt.Errorf("sqlite: slot %d: %w", id, err)
	}
	return sl, nil
}

// Slots returns the slots that match q, ordered by start then ID.
func (s *Store) Slots(ctx context.Context, q booking.SlotQuery) ([]booking.Slot, error) {
	slots, err := sqlstore.Slots(ctx, s.reader, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: slots: %w", err)
	}
	return slots, nil
}

// QuotaCounts sums capacity and places taken per service and clinic over
// the slots that start in [from, to).
func (s *Store) QuotaCounts(ctx context.Context, from, to time.Time) ([]booking.QuotaCount, error) {
	counts, err := sqlstore.QuotaCounts(ctx, s.reader, from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: quota counts: %w", err)
	}
	return counts, nil
}

// bookingSelect reads bookings with their slot; callers append conditions.
const bookingSelect = `SELECT b.id, b.reference, ` + slotColumns + `,
		coalesce(b.patient_masked, ''), b.document_type, b.booker_channel, b.booker_id,
		b.status, b.consent_at, b.created_at, b.cancelled_at
	FROM bookings b JOIN slots s ON s.id = b.slot_id`

func scanBooking(row scanner) (booking.Booking, error) {
	var (
		b                booking.Booking
		start, end       int64
		consent, created int64
		cancelled        sql.NullInt64
	)
	err := row.Scan(&b.ID, &b.Reference,
		&b.Slot.ID, &b.Slot.Service, &b.Slot.ClinicID, &start, &end, &b.Slot.Capacity, &b.Slot.Taken,
		&b.PatientMasked, &b.DocumentType, &b.Booker.Channel, &b.Booker.ID,
		&b.Status, &consent, &created, &cancelled)
	b.Slot.Start, b.Slot.End = fromMicro(start), fromMicro(end)
	b.ConsentAt, b.CreatedAt = fromMicro(consent), fromMicro(created)
	if cancelled.Valid {
		b.CancelledAt = fromMicro(cancelled.Int64)
	}
	return b, err
}

func bookingByID(ctx context.Context, q querier, id booking.BookingID) (booking.Booking, error) {
	return scanBooking(q.QueryRowContext(ctx, bookingSelect+` WHERE b.id = ?`, id))
}

// Book claims one place of nb.SlotID and records the booking, atomically.
func (s *Store) Book(ctx context.Context, nb booking.NewBooking) (booking.Booking, error) {
	var b booking.Booking
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		b, err = book(ctx, tx, nb)
		return err
	})
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: book slot %d: %w", nb.SlotID, translate(err))
	}
	return b, nil
}

// book runs in the single writer's immediate transaction: nothing changes
// between its checks and its writes.
func book(ctx context.Context, tx *sql.Tx, nb booking.NewBooking) (booking.Booking, error) {
	// Whether the slot has a place, read first as in the PostgreSQL store:
	// a full slot fails before anything is written, a replay still finds
	// its booking, and the claim below still decides.
	var room, found bool
	switch err := tx.QueryRowContext(ctx, `SELECT taken < capacity FROM slots WHERE id = ?`, nb.SlotID).Scan(&room); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return booking.Booking{}, err
	default:
		found = true
	}
	if nb.IdempotencyKey != "" {
		b, err := scanBooking(tx.QueryRowContext(ctx, bookingSelect+` WHERE b.idempotency_key = ?`, nb.IdempotencyKey))
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return booking.Booking{}, err
		}
	}
	if !found {
		return booking.Booking{}, booking.ErrNotFound
	}
	if !room {
		return booking.Booking{}, booking.ErrSlotTaken
	}
	created := micro(nb.CreatedAt)
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'completed'
		WHERE patient_key = ? AND status = 'active'
			AND slot_id IN (SELECT id FROM slots WHERE end_at <= ?)`,
		nb.Patient, created); err != nil {
		return booking.Booking{}, err
	}
	var booked bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE patient_key = ? AND status = 'active')`,
		nb.Patient).Scan(&booked); err != nil {
		return booking.Booking{}, err
	}
	if booked {
		return booking.Booking{}, &booking.AlreadyBookedError{}
	}
	var used bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM bookings WHERE reference = ?)`,
		nb.Reference).Scan(&used); err != nil {
		return booking.Booking{}, err
	}
	if used {
		return booking.Booking{}, booking.ErrConflict
	}

	// SQLite's RETURNING takes no table names: the columns stand bare.
	slot, err := scanSlot(tx.QueryRowContext(ctx, `UPDATE slots SET taken = taken + 1
		WHERE id = ? AND taken < capacity
		RETURNING id, service, coalesce(clinic_id, ''), start_at, end_at, capacity, taken`, nb.SlotID))
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM slots WHERE id = ?)`, nb.SlotID).Scan(&exists); err != nil {
			return booking.Booking{}, err
		}
		if exists {
			return booking.Booking{}, booking.ErrSlotTaken
		}
		return booking.Booking{}, booking.ErrNotFound
	}
	if err != nil {
		return booking.Booking{}, err
	}

	b := booking.Booking{
		Reference:     nb.Reference,
		Slot:          slot,
		PatientMasked: nb.PatientMasked,
		DocumentType:  nb.DocumentType,
		Booker:        nb.Booker,
		Status:        booking.StatusActive,
		ConsentAt:     fromMicro(micro(nb.ConsentAt)),
		CreatedAt:     fromMicro(created),
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO bookings (reference, slot_id, patient_key, birth_key, patient_masked,
			mobile_sealed, document_type, booker_channel, booker_id, status, consent_at, created_at, idempotency_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)
		RETURNING id`,
		nb.Reference, slot.ID, nb.Patient, nb.BirthKey, nb.PatientMasked,
		nb.MobileSealed, nb.DocumentType, nb.Booker.Channel, nb.Booker.ID, micro(nb.ConsentAt), created,
		nullText(nb.IdempotencyKey)).Scan(&b.ID)
	if err != nil {
		return booking.Booking{}, err
	}
	if err := audit(ctx, tx, nb.CreatedAt, booking.AuditBook, nb.Booker, nb.Patient, b.ID); err != nil {
		return booking.Booking{}, err
	}
	return b, nil
}

// audit records one line of the audit trail.
func audit(ctx context.Context, q querier, at time.Time, action booking.AuditAction, booker booking.Booker, patient booking.PatientKey, id booking.BookingID) error {
	var bookingID any
	if id != 0 {
		bookingID = int64(id)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit (at, action, channel, booker_id, patient_key, booking_id)
		VALUES (?, ?, ?, ?, ?, ?)`,
		micro(at), action, booker.Channel, booker.ID, nullText(string(patient)), bookingID)
	return err
}

// ActiveBooking returns the patient's active booking whose slot has not
// ended at at and whose birth key matches, or booking.ErrNotFound.
func (s *Store) ActiveBooking(ctx context.Context, patient booking.PatientKey, birthKey string, at time.Time) (booking.Booking, error) {
	b, err := sqlstore.ActiveBooking(ctx, s.reader, patient, birthKey, at)
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: active booking: %w", err)
	}
	return b, nil
}

// matches reports whether a booking's keys and slot match v.
func matches(v booking.Verification, birthKey string, slot booking.Slot) bool {
	return birthKey == v.BirthKey && slot.Service == v.Service && slot.ClinicID == v.ClinicID
}

// Verify finds the active, not yet ended booking that matches every part of
// v and records v.Action; otherwise it records a failed verification and
// returns booking.ErrNotFound.
func (s *Store) Verify(ctx context.Context, v booking.Verification) (booking.Booking, error) {
	action := v.Action
	if action == "" {
		action = booking.AuditEnquire
	}
	var (
		b     booking.Booking
		found bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		found = false
		var (
			id       booking.BookingID
			birthKey sql.NullString
		)
		err := tx.QueryRowContext(ctx, `SELECT b.id, b.birth_key FROM bookings b JOIN slots s ON s.id = b.slot_id
			WHERE b.patient_key = ? AND b.status = 'active' AND s.end_at > ?`, v.Patient, micro(v.At)).Scan(&id, &birthKey)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			if b, err = bookingByID(ctx, tx, id); err != nil {
				return err
			}
			found = birthKey.Valid && matches(v, birthKey.String, b.Slot)
		}
		if !found {
			return audit(ctx, tx, v.At, booking.AuditVerifyFailed, v.Booker, v.Patient, 0)
		}
		return audit(ctx, tx, v.At, action, v.Booker, v.Patient, b.ID)
	})
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: verify: %w", translate(err))
	}
	if !found {
		return booking.Booking{}, fmt.Errorf("sqlite: verify: %w", booking.ErrNotFound)
	}
	return b, nil
}

// Cancel cancels the booking ref that matches v and returns its place.
func (s *Store) Cancel(ctx context.Context, v booking.Verification, ref booking.Reference) (booking.Booking, error) {
	var (
		b       booking.Booking
		matched bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		b, matched, err = cancel(ctx, tx, v, ref)
		return err
	})
	if err != nil {
		return booking.Booking{}, fmt.Errorf("sqlite: cancel: %w", translate(err))
	}
	if !matched {
		return booking.Booking{}, fmt.Errorf("sqlite: cancel: %w", booking.ErrNotFound)
	}
	return b, nil
}

// cancel reports matched false, with a nil error so that the failed
// verification it recorded is committed, when v does not match booking ref.
func cancel(ctx context.Context, tx *sql.Tx, v booking.Verification, ref booking.Reference) (b booking.Booking, matched bool, err error) {
	var (
		id                   booking.BookingID
		patientKey, birthKey sql.NullString
	)
	err = tx.QueryRowContext(ctx, `SELECT id, patient_key, birth_key FROM bookings WHERE reference = ?`, ref).
		Scan(&id, &patientKey, &birthKey)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return booking.Booking{}, false, err
	default:
		if b, err = bookingByID(ctx, tx, id); err != nil {
			return booking.Booking{}, false, err
		}
		matched = patientKey.Valid && birthKey.Valid &&
			booking.PatientKey(patientKey.String) == v.Patient && matches(v, birthKey.String, b.Slot)
	}
	if !matched {
		return booking.Booking{}, false, audit(ctx, tx, v.At, booking.AuditVerifyFailed, v.Booker, v.Patient, 0)
	}
	switch {
	case b.Status == booking.StatusCancelled:
		return b, true, nil
	case b.Status != booking.StatusActive || !b.Slot.Start.After(v.At):
		return booking.Booking{}, true, booking.ErrAppointmentStarted
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'cancelled', cancelled_at = ? WHERE id = ?`,
		micro(v.At), id); err != nil {
		return booking.Booking{}, true, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE slots SET taken = taken - 1 WHERE id = ?`, b.Slot.ID); err != nil {
		return booking.Booking{}, true, err
	}
	if err := audit(ctx, tx, v.At, booking.AuditCancel, v.Booker, v.Patient, id); err != nil {
		return booking.Booking{}, true, err
	}
	b, err = bookingByID(ctx, tx, id)
	return b, true, err
}

// FailedVerifications returns the times of failed verifications since
// since, newest first, by the booker and for the patient.
func (s *Store) FailedVerifications(ctx context.Context, booker booking.Booker, patient booking.PatientKey, since time.Time) (byBooker, byPatient []time.Time, err error) {
	byBooker, byPatient, err = sqlstore.FailedVerifications(ctx, s.reader, booker, patient, since)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: failed verifications: %w", err)
	}
	return byBooker, byPatient, nil
}

// Bookings lists bookings for clinic staff, ordered by slot start.
func (s *Store) Bookings(ctx context.Context, q booking.BookingQuery) ([]booking.Booking, error) {
	bookings, err := sqlstore.Bookings(ctx, s.reader, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: bookings: %w", err)
	}
	return bookings, nil
}

// Complete marks the active bookings whose slot ended at or before at
// completed and returns how many.
func (s *Store) Complete(ctx context.Context, at time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'completed'
			WHERE status = 'active' AND slot_id IN (SELECT id FROM slots WHERE end_at <= ?)`, micro(at))
		if err != nil {
			return err
		}
		affected, err := res.RowsAffected()
		n = int(affected)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: complete: %w", translate(err))
	}
	return n, nil
}

// Purge removes the personal data of bookings whose slot ended before
// before, and the patient key from their audit records; an active one
// among them becomes completed. It returns how many bookings it purged.
func (s *Store) Purge(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		const old = `slot_id IN (SELECT id FROM slots WHERE end_at < ?)
			AND (patient_key IS NOT NULL OR birth_key IS NOT NULL
				OR patient_masked IS NOT NULL OR mobile_sealed IS NOT NULL)`
		if _, err := tx.ExecContext(ctx, `UPDATE audit SET patient_key = NULL
			WHERE booking_id IN (SELECT id FROM bookings WHERE `+old+`)`, micro(before)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE bookings SET patient_key = NULL, birth_key = NULL,
				patient_masked = NULL, mobile_sealed = NULL,
				status = CASE status WHEN 'active' THEN 'completed' ELSE status END
			WHERE `+old, micro(before))
		if err != nil {
			return err
		}
		affected, err := res.RowsAffected()
		n = int(affected)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge: %w", translate(err))
	}
	return n, nil
}

// Audit returns the audit records at or after since, oldest first.
func (s *Store) Audit(ctx context.Context, since time.Time) ([]booking.AuditRecord, error) {
	records, err := sqlstore.Audit(ctx, s.reader, since)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit: %w", err)
	}
	return records, nil
}

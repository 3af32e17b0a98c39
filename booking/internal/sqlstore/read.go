package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// Clinics returns every clinic ordered by region (seed order) then ID.
func Clinics(ctx context.Context, db DB) ([]booking.Clinic, error) {
	rows, err := db.Query(ctx, `SELECT id, region,
			district_zh_hk, district_en, district_zh_cn,
			name_zh_hk, name_en, name_zh_cn,
			address_zh_hk, address_en, address_zh_cn,
			lat, lng, source
		FROM clinics ORDER BY region_rank, id`)
	return collect(rows, err, func(row Row) (booking.Clinic, error) {
		var c booking.Clinic
		err := row.Scan(&c.ID, &c.Region,
			&c.District.ZhHK, &c.District.En, &c.District.ZhCN,
			&c.Name.ZhHK, &c.Name.En, &c.Name.ZhCN,
			&c.Address.ZhHK, &c.Address.En, &c.Address.ZhCN,
			&c.Location.Lat, &c.Location.Lng, &c.Source)
		return c, err
	})
}

// slotColumns are the columns scanSlot reads, of slots as s.
const slotColumns = `s.id, s.service, coalesce(s.clinic_id, ''), s.start_at, s.end_at, s.capacity, s.taken`

func scanSlot(db DB, row Row) (booking.Slot, error) {
	var sl booking.Slot
	err := row.Scan(&sl.ID, &sl.Service, &sl.ClinicID, db.ScanTime(&sl.Start), db.ScanTime(&sl.End), &sl.Capacity, &sl.Taken)
	return sl, err
}

// Slot returns one slot, or booking.ErrNotFound.
func Slot(ctx context.Context, db DB, id booking.SlotID) (booking.Slot, error) {
	sl, err := scanSlot(db, db.QueryRow(ctx, `SELECT `+slotColumns+` FROM slots s WHERE s.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return booking.Slot{}, booking.ErrNotFound
	}
	if err != nil {
		return booking.Slot{}, err
	}
	return sl, nil
}

// Slots returns the slots that match q, ordered by start then ID.
func Slots(ctx context.Context, db DB, q booking.SlotQuery) ([]booking.Slot, error) {
	var w where
	heldCol := "0"
	if !q.At.IsZero() {
		w.args = append(w.args, db.Time(q.At))
		heldCol = heldSQL("$1")
	}
	w.slots(db, q.Service, q.ClinicID, q.From, q.To)
	if q.OpenOnly {
		w.conds = append(w.conds, "s.taken + "+heldCol+" < s.capacity")
	}
	query := `SELECT ` + slotColumns + `, ` + heldCol + ` FROM slots s` + w.String() + ` ORDER BY s.start_at, s.id`
	if q.Limit > 0 || q.Offset > 0 {
		limit := db.NoLimit // SQLite takes an OFFSET only after a LIMIT
		if q.Limit > 0 {
			limit = strconv.Itoa(q.Limit)
		}
		query += " LIMIT " + limit + " OFFSET " + strconv.Itoa(max(q.Offset, 0))
	}
	rows, err := db.Query(ctx, query, w.args...)
	return collect(rows, err, func(row Row) (booking.Slot, error) {
		var sl booking.Slot
		err := row.Scan(&sl.ID, &sl.Service, &sl.ClinicID, db.ScanTime(&sl.Start), db.ScanTime(&sl.End),
			&sl.Capacity, &sl.Taken, &sl.Held)
		return sl, err
	})
}

// QuotaCounts sums capacity and places taken per service and clinic over
// the slots that start in [from, to), the holds live at at counting as
// taken.
func QuotaCounts(ctx context.Context, db DB, from, to, at time.Time) ([]booking.QuotaCount, error) {
	rows, err := db.Query(ctx, `SELECT s.service, coalesce(s.clinic_id, ''), sum(s.capacity), sum(s.taken + `+heldSQL("$3")+`)
		FROM slots s WHERE s.start_at >= $1 AND s.start_at < $2
		GROUP BY s.service, s.clinic_id ORDER BY s.service, coalesce(s.clinic_id, '')`, db.Time(from), db.Time(to), db.Time(at))
	return collect(rows, err, func(row Row) (booking.QuotaCount, error) {
		var c booking.QuotaCount
		err := row.Scan(&c.Service, &c.ClinicID, &c.Capacity, &c.Taken)
		return c, err
	})
}

// bookingSelect reads bookings with their slot; callers append conditions.
const bookingSelect = `SELECT b.id, b.reference, ` + slotColumns + `,
		coalesce(b.patient_masked, ''), b.document_type, b.booker_channel, b.booker_id,
		b.status, b.consent_at, b.created_at, b.cancelled_at, b.sequence
	FROM bookings b JOIN slots s ON s.id = b.slot_id`

func scanBooking(db DB, row Row) (booking.Booking, error) {
	var b booking.Booking
	err := row.Scan(&b.ID, &b.Reference,
		&b.Slot.ID, &b.Slot.Service, &b.Slot.ClinicID, db.ScanTime(&b.Slot.Start), db.ScanTime(&b.Slot.End),
		&b.Slot.Capacity, &b.Slot.Taken,
		&b.PatientMasked, &b.DocumentType, &b.Booker.Channel, &b.Booker.ID,
		&b.Status, db.ScanTime(&b.ConsentAt), db.ScanTime(&b.CreatedAt), db.ScanTime(&b.CancelledAt), &b.Sequence)
	return b, err
}

func bookingByID(ctx context.Context, db DB, id booking.BookingID) (booking.Booking, error) {
	return scanBooking(db, db.QueryRow(ctx, bookingSelect+` WHERE b.id = $1`, id))
}

// BookingByKey returns the booking made with idempotency key key, or
// booking.ErrNotFound.
func BookingByKey(ctx context.Context, db DB, key string) (booking.Booking, error) {
	b, err := scanBooking(db, db.QueryRow(ctx, bookingSelect+` WHERE b.idempotency_key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return booking.Booking{}, booking.ErrNotFound
	}
	if err != nil {
		return booking.Booking{}, err
	}
	return b, nil
}

// Bookings lists bookings for clinic staff, ordered by slot start.
func Bookings(ctx context.Context, db DB, q booking.BookingQuery) ([]booking.Booking, error) {
	var w where
	w.slots(db, q.Service, q.ClinicID, q.From, q.To)
	if q.Status != "" {
		w.add("b.status = ?", q.Status)
	}
	rows, err := db.Query(ctx, bookingSelect+w.String()+` ORDER BY s.start_at, s.id, b.id`, w.args...)
	return collect(rows, err, func(row Row) (booking.Booking, error) { return scanBooking(db, row) })
}

// FailedVerifications returns the times of failed verifications since
// since, newest first, by the booker and for the patient.
func FailedVerifications(ctx context.Context, db DB, booker booking.Booker, patient booking.PatientKey, since time.Time) (byBooker, byPatient []time.Time, err error) {
	byBooker, err = times(ctx, db, `SELECT at FROM audit
		WHERE action = 'verify_failed' AND channel = $1 AND booker_id = $2 AND at >= $3 ORDER BY at DESC, id DESC`,
		booker.Channel, booker.ID, db.Time(since))
	if err != nil {
		return nil, nil, fmt.Errorf("by booker: %w", err)
	}
	byPatient, err = times(ctx, db, `SELECT at FROM audit
		WHERE action = 'verify_failed' AND patient_key = $1 AND at >= $2 ORDER BY at DESC, id DESC`,
		patient, db.Time(since))
	if err != nil {
		return nil, nil, fmt.Errorf("for patient: %w", err)
	}
	return byBooker, byPatient, nil
}

// times reads a query of one time column.
func times(ctx context.Context, db DB, query string, args ...any) ([]time.Time, error) {
	rows, err := db.Query(ctx, query, args...)
	return collect(rows, err, func(row Row) (time.Time, error) {
		var at time.Time
		err := row.Scan(db.ScanTime(&at))
		return at, err
	})
}

// Audit returns the audit records at or after since, oldest first.
func Audit(ctx context.Context, db DB, since time.Time) ([]booking.AuditRecord, error) {
	rows, err := db.Query(ctx, `SELECT `+auditColumns+`
		FROM audit WHERE at >= $1 ORDER BY at, id`, db.Time(since))
	return collect(rows, err, func(row Row) (booking.AuditRecord, error) { return scanAudit(db, row) })
}

// auditColumns are the columns scanAudit reads.
const auditColumns = `id, at, action, channel, booker_id, coalesce(patient_key, ''), coalesce(booking_id, 0)`

func scanAudit(db DB, row Row) (booking.AuditRecord, error) {
	var r booking.AuditRecord
	err := row.Scan(&r.ID, db.ScanTime(&r.At), &r.Action, &r.Booker.Channel, &r.Booker.ID, &r.Patient, &r.BookingID)
	return r, err
}

// BookerBookings returns the active bookings booker made whose slot has
// not ended at at, ordered by slot start. An empty booker ID (a purged
// booking's) is no booker's.
func BookerBookings(ctx context.Context, db DB, booker booking.Booker, at time.Time) ([]booking.Booking, error) {
	if booker.ID == "" {
		return nil, nil
	}
	rows, err := db.Query(ctx, bookingSelect+`
		WHERE b.booker_channel = $1 AND b.booker_id = $2 AND b.status = 'active' AND s.end_at > $3
		ORDER BY s.start_at, s.id, b.id`, booker.Channel, booker.ID, db.Time(at))
	return collect(rows, err, func(row Row) (booking.Booking, error) { return scanBooking(db, row) })
}

// PatientLog returns the latest limit audit records that name patient,
// failed verifications aside, newest first, and the counts; see
// booking.Store.PatientLog. An empty key (a purged record's) is no
// patient's.
func PatientLog(ctx context.Context, db DB, patient booking.PatientKey, limit int) (booking.PatientLog, error) {
	var log booking.PatientLog
	if patient == "" {
		return log, nil
	}
	err := db.QueryRow(ctx, `SELECT
			CAST(coalesce(sum(CASE WHEN action <> 'verify_failed' THEN 1 ELSE 0 END), 0) AS integer),
			CAST(coalesce(sum(CASE WHEN action = 'verify_failed' THEN 1 ELSE 0 END), 0) AS integer),
			max(CASE WHEN action = 'verify_failed' THEN at END)
		FROM audit WHERE patient_key = $1`, patient).Scan(&log.Total, &log.Failed, db.ScanTime(&log.LastFailed))
	if err != nil {
		return booking.PatientLog{}, fmt.Errorf("counts: %w", err)
	}
	if limit <= 0 || log.Total == 0 {
		return log, nil
	}
	rows, err := db.Query(ctx, `SELECT `+auditColumns+`
		FROM audit WHERE patient_key = $1 AND action <> 'verify_failed'
		ORDER BY at DESC, id DESC LIMIT `+strconv.Itoa(limit), patient)
	log.Records, err = collect(rows, err, func(row Row) (booking.AuditRecord, error) { return scanAudit(db, row) })
	if err != nil {
		return booking.PatientLog{}, fmt.Errorf("records: %w", err)
	}
	return log, nil
}

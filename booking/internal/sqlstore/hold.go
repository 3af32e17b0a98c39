package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// A hold is a row of holds: one per booker, keeping one place of a slot
// until until_at. The places of a slot are taken = the bookings that hold
// one (slots.taken) plus the holds live at the moment asked (until_at
// after it); nothing counts a lapsed hold, so rows left behind change no
// count and removing them (DropHolds) is tidying only.
//
// Whoever changes what a slot's places are spent on locks the slot's row
// first (LockSlot) and counts the holds afterwards, in a statement of its
// own: under PostgreSQL's READ COMMITTED a statement sees what committed
// before it began, so a hold or claim that committed while the lock was
// awaited is counted. In a single conditional UPDATE the count would come
// from the snapshot taken before the wait.

// heldSQL counts the holds of the slot s.id live at the parameter p.
func heldSQL(p string) string {
	return `(SELECT CAST(count(*) AS integer) FROM holds h WHERE h.slot_id = s.id AND h.until_at > ` + p + `)`
}

// LockSlot reads slot id and locks its row until the transaction ends
// (SQLite's writer holds the whole database already); booking.ErrNotFound
// for no such slot.
func LockSlot(ctx context.Context, db DB, id booking.SlotID) (booking.Slot, error) {
	sl, err := scanSlot(db, db.QueryRow(ctx, `SELECT `+slotColumns+` FROM slots s WHERE s.id = $1`+db.ForUpdate, id))
	if errors.Is(err, sql.ErrNoRows) {
		return booking.Slot{}, booking.ErrNotFound
	}
	return sl, err
}

// heldBy counts the holds of slot id live at at, but for booker's.
func heldBy(ctx context.Context, db DB, id booking.SlotID, at time.Time, booker booking.Booker) (int, error) {
	var n int
	err := db.QueryRow(ctx, `SELECT CAST(count(*) AS integer) FROM holds
		WHERE slot_id = $1 AND until_at > $2 AND NOT (booker_channel = $3 AND booker_id = $4)`,
		id, db.Time(at), booker.Channel, booker.ID).Scan(&n)
	return n, err
}

// Hold keeps one place of h.SlotID for h.Booker until h.Until in place of
// the booker's earlier hold, if the place is free at at; see
// booking.Store.Hold. It reports held false, with a nil error, when no
// place is free: the store commits the release of the earlier hold all
// the same and then returns booking.ErrSlotTaken, so that a booker
// offered nothing holds nothing.
func Hold(ctx context.Context, db DB, h booking.Hold, at time.Time) (_ booking.Slot, held bool, err error) {
	if err := Release(ctx, db, h.Booker); err != nil {
		return booking.Slot{}, false, err
	}
	sl, err := LockSlot(ctx, db, h.SlotID)
	if err != nil {
		return booking.Slot{}, false, err
	}
	if sl.Held, err = heldBy(ctx, db, sl.ID, at, h.Booker); err != nil {
		return booking.Slot{}, false, err
	}
	if sl.Taken+sl.Held >= sl.Capacity {
		return booking.Slot{}, false, nil
	}
	if _, err := db.Exec(ctx, `INSERT INTO holds (booker_channel, booker_id, slot_id, until_at, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		h.Booker.Channel, h.Booker.ID, h.SlotID, db.Time(h.Until), db.Time(at)); err != nil {
		return booking.Slot{}, false, err
	}
	sl.Held++
	return sl, true, nil
}

// Release drops the booker's hold, if any.
func Release(ctx context.Context, db DB, b booking.Booker) error {
	_, err := db.Exec(ctx, `DELETE FROM holds WHERE booker_channel = $1 AND booker_id = $2`, b.Channel, b.ID)
	return err
}

// DropHolds removes the holds that lapsed by at and returns how many.
func DropHolds(ctx context.Context, db DB, at time.Time) (int, error) {
	n, err := db.Exec(ctx, `DELETE FROM holds WHERE until_at <= $1`, db.Time(at))
	return int(n), err
}

// Claim takes one place of slot id for booker at at and returns the slot
// as it is then: the place the booker's hold on the slot keeps, if it is
// live at at, or else a free one, the other live holds counting as taken;
// no place is booking.ErrSlotTaken. The booker's hold ends either way.
// The caller knows the slot exists (StartBook found it).
func Claim(ctx context.Context, db DB, id booking.SlotID, booker booking.Booker, at time.Time) (booking.Slot, error) {
	sl, err := LockSlot(ctx, db, id)
	if err != nil {
		return booking.Slot{}, err
	}
	var (
		heldSlot booking.SlotID
		until    time.Time
	)
	err = db.QueryRow(ctx, `DELETE FROM holds WHERE booker_channel = $1 AND booker_id = $2 RETURNING slot_id, until_at`,
		booker.Channel, booker.ID).Scan(&heldSlot, db.ScanTime(&until))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return booking.Slot{}, err
	}
	others, err := heldBy(ctx, db, id, at, booker)
	if err != nil {
		return booking.Slot{}, err
	}
	mine := heldSlot == id && until.After(at)
	// A live hold kept its place out of every count but a lowered
	// capacity's: taken plus the other holds is below capacity.
	if !mine && sl.Taken+others >= sl.Capacity || sl.Taken >= sl.Capacity {
		return booking.Slot{}, booking.ErrSlotTaken
	}
	// SQLite's RETURNING takes no table names: the columns stand bare.
	sl, err = scanSlot(db, db.QueryRow(ctx, `UPDATE slots SET taken = taken + 1 WHERE id = $1
		RETURNING id, service, coalesce(clinic_id, ''), start_at, end_at, capacity, taken`, id))
	if err != nil {
		return booking.Slot{}, err
	}
	sl.Held = others
	return sl, nil
}

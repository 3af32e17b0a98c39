package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// KeyState returns the recorded data key fingerprint ("" when none),
// whether any booking is stored, and the sealed mobile of the first that
// holds one.
func KeyState(ctx context.Context, db DB) (booking.KeyState, error) {
	var ks booking.KeyState
	err := db.QueryRow(ctx, `SELECT coalesce((SELECT fingerprint FROM data_key WHERE id = 1), ''),
			EXISTS (SELECT 1 FROM bookings),
			(SELECT mobile_sealed FROM bookings WHERE mobile_sealed IS NOT NULL ORDER BY id LIMIT 1)`).
		Scan(&ks.Fingerprint, &ks.Bookings, &ks.Sealed)
	return ks, err
}

// BindKey records fingerprint unless one is recorded already, then
// compares: another fingerprint fails with booking.ErrKeyMismatch. Of two
// stores binding at once, the first insert wins and the other compares
// against it.
func BindKey(ctx context.Context, db DB, fingerprint string, at time.Time) error {
	if _, err := db.Exec(ctx, `INSERT INTO data_key (id, fingerprint, recorded_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO NOTHING`, fingerprint, db.Time(at)); err != nil {
		return err
	}
	var recorded string
	err := db.QueryRow(ctx, `SELECT fingerprint FROM data_key WHERE id = 1`).Scan(&recorded)
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("data key fingerprint not recorded")
	}
	if err != nil {
		return err
	}
	if recorded != fingerprint {
		return booking.ErrKeyMismatch
	}
	return nil
}

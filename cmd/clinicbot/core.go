package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
	"github.com/clinicbot/clinicbot/internal/health"
	"github.com/clinicbot/clinicbot/internal/metrics"
)

// openStore opens the booking store the configuration names: PostgreSQL
// (migrated on open) when DATABASE_URL is set, otherwise the SQLite file
// (created 0600; one that group or others may read is refused).
func (e *env) openStore(ctx context.Context) (booking.Store, error) {
	if e.cfg.Postgres() {
		s, err := postgres.Open(ctx, e.cfg.DatabaseURL.Reveal())
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if dir := filepath.Dir(e.cfg.SQLitePath); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	s, err := sqlite.Open(ctx, e.cfg.SQLitePath)
	if err != nil {
		return nil, exposed(err)
	}
	return s, nil
}

// dataKey returns the master key: CLINICBOT_DATA_KEY, or for the embedded
// default the key kept beside the SQLite file. That file is created only
// beside a database that has never held bookings nor recorded a key: a new
// key beside old bookings would leave them unreadable and their patients
// bookable again.
func (e *env) dataKey(ctx context.Context, store booking.Store) ([]byte, error) {
	if e.cfg.DataKey != "" {
		return booking.ParseKey(e.cfg.DataKey.Reveal())
	}
	if e.cfg.Postgres() {
		// Load refuses this already; kept so no path seals with a local key.
		return nil, errors.New("CLINICBOT_DATA_KEY is required with DATABASE_URL")
	}
	path := e.cfg.KeyPath()
	key, err := booking.LoadKey(path)
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, booking.ErrKeyFileExposed):
		return nil, &refusal{
			what: fmt.Sprintf("the key file %s may be read by group or others", path),
			todo: "chmod 600 " + path,
			err:  err,
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	ks, err := store.KeyState(ctx)
	if err != nil {
		return nil, err
	}
	if ks.Fingerprint != "" || ks.Bookings {
		return nil, &refusal{
			what: fmt.Sprintf("the key file %s is missing, but %s holds bookings sealed with a key; no new key is made, "+
				"since with one those bookings could not be read and their patients could be booked again",
				path, e.cfg.SQLitePath),
			todo: fmt.Sprintf("restore %s from your backup (then chmod 600 it), or set CLINICBOT_DATA_KEY to the key it held", path),
		}
	}
	return booking.LoadOrCreateKey(path)
}

// bindKey refuses a key other than the one the store's bookings were
// sealed under (by the recorded fingerprint or, in a store from before
// fingerprints, by a sealed mobile number), and records the key's
// fingerprint on first use.
func (e *env) bindKey(ctx context.Context, store booking.Store, p *booking.Protector) error {
	ks, err := store.KeyState(ctx)
	if err != nil {
		return err
	}
	err = p.CheckKey(ks)
	if err == nil {
		err = store.BindKey(ctx, p.Fingerprint(), e.now())
	}
	if !errors.Is(err, booking.ErrKeyMismatch) {
		return err
	}
	r := &refusal{err: err}
	switch {
	case e.cfg.Postgres():
		r.what = "CLINICBOT_DATA_KEY is not the key this database's bookings were sealed with (the database records another key's fingerprint)"
		r.todo = "set CLINICBOT_DATA_KEY to the key the database was first used with, the one every other replica uses"
	case e.cfg.DataKey != "":
		r.what = fmt.Sprintf("CLINICBOT_DATA_KEY is not the key the bookings in %s were sealed with", e.cfg.SQLitePath)
		r.todo = fmt.Sprintf("set CLINICBOT_DATA_KEY to the key %s was first used with, or unset it to use %s", e.cfg.SQLitePath, e.cfg.KeyPath())
	default:
		r.what = fmt.Sprintf("the key in %s is not the key the bookings in %s were sealed with", e.cfg.KeyPath(), e.cfg.SQLitePath)
		r.todo = fmt.Sprintf("restore the original %s from your backup (then chmod 600 it); do not replace a key while its database holds bookings", e.cfg.KeyPath())
	}
	return r
}

// core is the booking core every channel shares.
type core struct {
	store     booking.Store // counted by metrics
	raw       booking.Store // the store itself, to close
	protector *booking.Protector
	svc       *booking.Service
	rdb       *redis.Client // nil without REDIS_URL
	metrics   *metrics.Metrics
}

// openCore opens the store, with metrics around it, and the booking service
// under the configured rules. m may be nil (operator commands).
func (e *env) openCore(ctx context.Context, m *metrics.Metrics) (*core, error) {
	raw, err := e.openStore(ctx)
	if err != nil {
		return nil, err
	}
	p, err := e.protector(ctx, raw)
	if err != nil {
		raw.Close()
		return nil, err
	}
	c := &core{raw: raw, store: raw, protector: p, metrics: m}
	if m != nil {
		c.store = m.WrapStore(raw)
	}
	c.svc = booking.NewService(c.store, p)
	c.svc.Now = e.now
	c.svc.Rules.Lead = e.cfg.BookingLead
	c.svc.Rules.WindowDays = e.cfg.BookingWindowDays
	c.svc.Rules.MaxActivePerBooker = e.cfg.MaxActivePerBooker
	c.svc.Rules.MaxPatientsPerHour = e.cfg.MaxPatientsPerHour
	c.svc.Rules.Hold = e.cfg.Hold
	c.svc.Reminders = e.cfg.Reminders()
	// Every screen shows clinics or the quota; reading them once a minute
	// and once a second takes most reads of a conversation off the store.
	// An imported clinic list shows within the minute.
	c.svc.ClinicsTTL = time.Minute
	c.svc.QuotaTTL = time.Second
	return c, nil
}

// protector returns the Protector over the data key, once the store has
// accepted the key.
func (e *env) protector(ctx context.Context, store booking.Store) (*booking.Protector, error) {
	key, err := e.dataKey(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	p, err := booking.NewProtector(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	if err := e.bindKey(ctx, store, p); err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return p, nil
}

// openRedis connects to REDIS_URL, when set, with short timeouts.
func (c *core) openRedis(ctx context.Context, url string, log *slog.Logger) error {
	redis.SetLogger(redisstore.ClientLogger{Log: log.With("component", "redis")})
	opts, err := redisOptions(url)
	if err != nil {
		return err
	}
	c.rdb = redis.NewClient(opts)
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// checks are the readiness checks: the store, and Redis when used.
func (c *core) checks() []health.Check {
	checks := []health.Check{{Name: "store", Func: c.raw.Ping}}
	if c.rdb != nil {
		checks = append(checks, health.Check{Name: "redis", Func: func(ctx context.Context) error {
			return c.rdb.Ping(ctx).Err()
		}})
	}
	return checks
}

// Close closes Redis and the store.
func (c *core) Close() error {
	var errs []error
	if c.rdb != nil {
		errs = append(errs, c.rdb.Close())
	}
	errs = append(errs, c.raw.Close())
	return errors.Join(errs...)
}

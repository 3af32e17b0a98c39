package main

import (
	"context"
	"errors"
	"fmt"
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
// (migrated on open) when DATABASE_URL is set, otherwise the SQLite file.
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
	// The file holds sealed personal data: only its owner may read it.
	f, err := os.OpenFile(e.cfg.SQLitePath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite file: %w", err)
	}
	f.Close()
	s, err := sqlite.Open(ctx, e.cfg.SQLitePath)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// dataKey returns the master key: CLINICBOT_DATA_KEY, or for the embedded
// default a key kept beside the SQLite file and created on first start.
func (e *env) dataKey() ([]byte, error) {
	if e.cfg.DataKey != "" {
		return booking.ParseKey(e.cfg.DataKey.Reveal())
	}
	if e.cfg.Postgres() {
		// Load refuses this already; kept so no path seals with a local key.
		return nil, errors.New("CLINICBOT_DATA_KEY is required with DATABASE_URL")
	}
	return booking.LoadOrCreateKey(e.cfg.KeyPath())
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
	key, err := e.dataKey()
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	p, err := booking.NewProtector(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	raw, err := e.openStore(ctx)
	if err != nil {
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
	c.svc.Rules.Hold = e.cfg.Hold
	// Every screen shows clinics or the quota; reading them once a minute
	// and once a second takes most reads of a conversation off the store.
	// An imported clinic list shows within the minute.
	c.svc.ClinicsTTL = time.Minute
	c.svc.QuotaTTL = time.Second
	return c, nil
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

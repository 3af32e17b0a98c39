package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
)

// services are the load run's own corner of PostgreSQL and Redis: a schema
// of its own (load_<random>) and a key prefix of its own, both removed at
// the end; nothing outside them is read or written.
type services struct {
	pgURL, redisURL string
	schema          string
	prefix          string
	key             []byte // the data key, shared with a worker process
	// updateTimeout bounds one update in the router (bot.Options.Timeout);
	// zero keeps the router's default.
	updateTimeout time.Duration
	// memorySessions keeps sessions in process (dialog.MemoryStore and
	// bot.MemoryCoordinator, as the embedded default does) instead of in
	// Redis; memSessions is that store once the router is built.
	memorySessions bool
	memSessions    *dialog.MemoryStore

	pool  *pgxpool.Pool
	rdb   *redis.Client
	store *postgres.Store
	svc   *booking.Service

	redisCalls atomic.Int64 // Redis round trips (a pipeline is one)
	pg         pgCounter
}

// newRunIDs draws the schema, key prefix and data key of a new run.
func newRunIDs() (schema, prefix string, key []byte, err error) {
	b := make([]byte, 6)
	key = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", nil, err
	}
	if _, err := rand.Read(key); err != nil {
		return "", "", nil, err
	}
	id := hex.EncodeToString(b)
	return "load_" + id, "clinicbot-load-" + id + ":", key, nil
}

// createSchema creates the run's schema.
func createSchema(ctx context.Context, pgURL, schema string) error {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: create schema %s: %w", schema, err)
	}
	return nil
}

// dropSchema drops the run's schema; it only ever drops a load_ schema.
func dropSchema(ctx context.Context, pgURL, schema string) error {
	if !strings.HasPrefix(schema, "load_") {
		return fmt.Errorf("refusing to drop schema %q", schema)
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("postgres: drop schema %s: %w", schema, err)
	}
	return nil
}

// open connects to the run's schema (migrating it) and Redis, with the
// round trip and transaction counters in place.
func (s *services) open(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(s.pgURL)
	if err != nil {
		return fmt.Errorf("postgres: parse url: %w", err)
	}
	postgres.Configure(cfg)
	cfg.ConnConfig.RuntimeParams["search_path"] = s.schema
	cfg.ConnConfig.Tracer = &s.pg
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	if err := postgres.Migrate(ctx, s.pool); err != nil {
		return err
	}
	s.store = postgres.NewStore(s.pool)
	p, err := booking.NewProtector(s.key)
	if err != nil {
		return err
	}
	s.svc = booking.NewService(s.store, p)
	s.svc.ClinicsTTL = time.Minute // as cmd/clinicbot sets them
	s.svc.QuotaTTL = time.Second

	opts, err := redisstore.ClientOptions(s.redisURL)
	if err != nil {
		return err
	}
	s.rdb = redis.NewClient(opts)
	s.rdb.AddHook(countHook{&s.redisCalls})
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// router builds the engine and router over the run's services.
func (s *services) router(log *slog.Logger, m bot.Metrics) (*bot.Router, error) {
	p, err := booking.NewProtector(s.key)
	if err != nil {
		return nil, err
	}
	var coord bot.Coordinator
	if s.memorySessions {
		s.memSessions = dialog.NewMemoryStore(time.Now, 15*time.Minute)
		coord = bot.NewMemoryCoordinator(s.memSessions, time.Now)
	} else {
		coord = redisstore.New(s.rdb, redisstore.Options{Prefix: s.prefix, Sealer: p, Logger: log})
	}
	engine, err := dialog.New(s.svc, dialog.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return bot.NewRouter(engine, coord, bot.Options{Logger: log, Metrics: m, Timeout: s.updateTimeout}), nil
}

// close releases the connections.
func (s *services) close() {
	if s.rdb != nil {
		s.rdb.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
}

// cleanRedis deletes every key under the run's prefix.
func cleanRedis(ctx context.Context, rdb *redis.Client, prefix string) error {
	if !strings.HasPrefix(prefix, "clinicbot-load-") {
		return fmt.Errorf("refusing to delete keys under %q", prefix)
	}
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return rdb.Unlink(ctx, batch...).Err()
	}
	return nil
}

// seed stores the default clinics and a schedule of places: slots of
// capacity perSlot from tomorrow 09:00 Hong Kong time, every 15 minutes,
// round robin over the clinics, until places clinic places are given, and
// video slots holding videoPlaces.
func seed(ctx context.Context, st booking.Store, now time.Time, places, perSlot, videoPlaces int) error {
	clinics := booking.DefaultClinics()
	if err := st.SaveClinics(ctx, clinics); err != nil {
		return err
	}
	hk := booking.HongKong()
	local := now.In(hk)
	day := time.Date(local.Year(), local.Month(), local.Day()+1, 9, 0, 0, 0, hk)
	var slots []booking.Slot
	add := func(service booking.ServiceKind, clinic booking.ClinicID, n, capacity int) {
		start := day.Add(time.Duration(n) * 15 * time.Minute)
		slots = append(slots, booking.Slot{Service: service, ClinicID: clinic, Start: start.UTC(),
			End: start.Add(15 * time.Minute).UTC(), Capacity: capacity})
	}
	for i, left := 0, places; left > 0; i++ {
		c := min(perSlot, left)
		add(booking.ServiceClinic, clinics[i%len(clinics)].ID, i/len(clinics), c)
		left -= c
	}
	for i, left := 0, videoPlaces; left > 0; i++ {
		c := min(perSlot, left)
		add(booking.ServiceVideo, "", i, c)
		left -= c
	}
	for len(slots) > 0 {
		n := min(len(slots), 500)
		if _, err := st.SaveSlots(ctx, slots[:n]); err != nil {
			return err
		}
		slots = slots[n:]
	}
	return nil
}

// countHook counts Redis round trips: each command, and each pipeline
// (a script run by EVALSHA is one command).
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// pgCounter is a pgx tracer that counts statements and transactions: an
// explicit BEGIN is one transaction, and so is every statement sent outside
// one (PostgreSQL runs it in a transaction of its own).
type pgCounter struct {
	statements atomic.Int64
	explicit   atomic.Int64
	implicit   atomic.Int64
	rollbacks  atomic.Int64
}

func (c *pgCounter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	sql := strings.ToLower(strings.TrimSpace(data.SQL))
	switch {
	case strings.HasPrefix(sql, "begin"):
		c.explicit.Add(1)
	case strings.HasPrefix(sql, "commit"):
	case strings.HasPrefix(sql, "rollback"):
		c.rollbacks.Add(1)
	default:
		c.statements.Add(1)
		if conn.PgConn().TxStatus() == 'I' {
			c.implicit.Add(1)
		}
	}
	return ctx
}

func (c *pgCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// pgCounts is a reading of a pgCounter.
type pgCounts struct{ statements, transactions, rollbacks int64 }

func (c *pgCounter) read() pgCounts {
	return pgCounts{
		statements:   c.statements.Load(),
		transactions: c.explicit.Load() + c.implicit.Load(),
		rollbacks:    c.rollbacks.Load(),
	}
}

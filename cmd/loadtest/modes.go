package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
)

// outcomeCounter is the router's Metrics: how many updates ended how.
type outcomeCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomeCounter) Observe(_, outcome string, _ time.Duration) {
	o.mu.Lock()
	if o.n == nil {
		o.n = make(map[string]int)
	}
	o.n[outcome]++
	o.mu.Unlock()
}

func (o *outcomeCounter) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	keys := make([]string, 0, len(o.n))
	for k := range o.n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, o.n[k])
	}
	return strings.TrimSpace(b.String())
}

// fleet runs bookers and keeps what they did.
type fleet struct {
	conn  conn
	rec   *recorder
	pace  *pacer
	goals func(i int) []goal
	think time.Duration
	// comeBack is how long a booker asked to come back waits.
	comeBack time.Duration
	// decline is the share of bookers who decline the offer first.
	decline float64
	results []result
}

// booker returns booker i's run.
func (f *fleet) booker(i int) (*bookerRun, error) {
	p, err := newPatient(i)
	if err != nil {
		return nil, err
	}
	b := &bookerRun{
		id: i, patient: p, goals: f.goals(i), conn: f.conn,
		rng:      rand.New(rand.NewPCG(uint64(i), 7)),
		maxSteps: 80, retries: 10, think: f.think, comeBack: f.comeBack,
		// Spread like mixGoals's shares, from the other end of each hundred.
		decline: float64(99-i%100)/100 < f.decline,
		observe: f.rec.observe,
	}
	if f.pace != nil {
		b.pause = f.pace.pause
	}
	return b, nil
}

// runPool runs bookers first..first+n-1, concurrency at a time.
func (f *fleet) runPool(ctx context.Context, first, n, concurrency int) error {
	f.results = make([]result, n)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(concurrency, n) {
		wg.Go(func() {
			for i := range next {
				b, err := f.booker(first + i)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					continue
				}
				f.results[i] = b.run(ctx)
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return firstErr
}

// tally counts the results' outcomes.
type tally struct {
	byOutcome             map[outcome]int
	booked, updates, errs int
	unknown, quota        int
	accepted              map[int]bool
	// stuckAt counts the stuck bookers by the last screen they saw, and
	// stuckQuota their "places ran out" replies: where a conversation that
	// never ended went round.
	stuckAt    map[step]int
	stuckQuota int
	// quotaBy counts the "places ran out" replies by key, those to
	// bookers who got a place in the end marked "(placed)".
	quotaBy map[string]int
	// busy counts the replies asking to come back, busyBookers the
	// bookers who got one, busyInFlow those sent in a conversation.
	busy, busyBookers, busyInFlow int
	// firstReply and toBooking are every booker's times to a first answer
	// and to a booking made.
	firstReply, toBooking []time.Duration
}

func (f *fleet) tally(first int) tally {
	t := tally{byOutcome: make(map[outcome]int), accepted: make(map[int]bool), stuckAt: make(map[step]int),
		quotaBy: make(map[string]int)}
	for i, r := range f.results {
		for k, n := range r.quotaBy {
			if r.booked {
				k += " (placed)"
			}
			t.quotaBy[k] += n
		}
		t.byOutcome[r.outcome]++
		if r.outcome == outStuck {
			t.stuckAt[r.lastStep]++
			t.stuckQuota += r.quota
		}
		t.updates += r.updates
		t.busy += r.busy
		t.busyInFlow += r.busyInFlow
		if r.busy > 0 {
			t.busyBookers++
		}
		if r.updates > 0 {
			t.firstReply = append(t.firstReply, r.firstReply)
		}
		if r.toBooking > 0 {
			t.toBooking = append(t.toBooking, r.toBooking)
		}
		t.errs += r.errors
		t.unknown += r.unknown
		t.quota += r.quota
		if r.booked {
			t.booked++
		}
		if r.accepted {
			t.accepted[first+i] = true
		}
	}
	return t
}

func (t tally) String() string {
	var parts []string
	for o := outDone; o <= outStuck; o++ {
		parts = append(parts, fmt.Sprintf("%s=%d", o, t.byOutcome[o]))
	}
	if n := t.byOutcome[outStuck]; n > 0 {
		var at []string
		for st, k := range t.stuckAt {
			at = append(at, fmt.Sprintf("%s %d", st, k))
		}
		slices.Sort(at)
		parts = append(parts, fmt.Sprintf("(stuck: last seen %s; %.1f \"places ran out\" replies each)",
			strings.Join(at, ", "), float64(t.stuckQuota)/float64(n)))
	}
	return strings.Join(parts, " ")
}

// mixGoals gives each booker a book, book+enquire or book+cancel
// conversation in the configured shares, spread evenly.
func mixGoals(enquire, cancel float64) func(int) []goal {
	return func(i int) []goal {
		x := float64(i%100) / 100
		switch {
		case x < enquire:
			return []goal{goalBook, goalEnquire}
		case x < enquire+cancel:
			return []goal{goalBook, goalCancel}
		}
		return []goal{goalBook}
	}
}

func throughput(ctx context.Context, c config, s *services, log *slog.Logger, rep *report) error {
	metrics := &outcomeCounter{}
	router, err := s.router(log, metrics)
	if err != nil {
		return err
	}
	defer func() { router.Close(); router.Wait() }()
	f := &fleet{rec: &recorder{}, goals: mixGoals(c.enquire, c.cancel), conn: routerConn{router}, decline: c.decline}
	var tg *telegramtest.Server
	if c.path == "telegram" {
		srv, stop, err := newFakeTelegram()
		if err != nil {
			return err
		}
		defer stop()
		tg = srv
		pctx, pcancel := context.WithCancel(ctx)
		tp, wait, err := startTelegram(pctx, srv, router, log, c.tgLimit)
		if err != nil {
			pcancel()
			return err
		}
		defer func() { pcancel(); wait() }()
		f.conn = tp
	}
	if c.rate > 0 {
		f.pace = newPacer(c.rate)
	}
	redis0, pg0 := s.redisCalls.Load(), s.pg.read()
	allocs0 := mallocs()
	start := time.Now()
	if err := f.runPool(ctx, 0, c.bookers, c.concurrency); err != nil {
		return err
	}
	elapsed := time.Since(start)
	allocsN := mallocs() - allocs0
	redisN, pgN := s.redisCalls.Load()-redis0, s.pg.read()
	heap, sys := memFigures()
	t := f.tally(0)
	n, failed := f.rec.count()
	p50, p95, p99, maxd := f.rec.percentiles()

	rep.section("figures")
	rep.figure("duration", "%v", elapsed.Round(time.Millisecond))
	rep.figure("updates (answered, of which apologies)", "%d (%d)", n, failed)
	rep.figure("updates/s sustained", "%.0f", float64(n)/elapsed.Seconds())
	if c.rate > 0 {
		rep.figure("target rate (open loop)", "%.0f updates/s", c.rate)
	}
	rep.figure("latency per update p50 / p95 / p99 / max", "%s / %s / %s / %s", ms(p50), ms(p95), ms(p99), ms(maxd))
	rep.figure("bookings made (seen by bookers)", "%d", t.booked)
	rep.figure("bookings/s", "%.1f", float64(t.booked)/elapsed.Seconds())
	rep.figure("Redis round trips per update", "%.2f", float64(redisN)/float64(n))
	pgTx := pgN.transactions - pg0.transactions
	rep.figure("PostgreSQL transactions per booking", "%.1f (all transactions of the run / bookings)", float64(pgTx)/float64(max(t.booked, 1)))
	rep.figure("PostgreSQL statements per update", "%.2f", float64(pgN.statements-pg0.statements)/float64(n))
	rep.figure("process heap in use / memory from OS", "%s / %s (load generator included)", mib(heap), mib(sys))
	rep.figure("allocations per update", "%.0f (heap objects allocated by the process / updates; load generator included)", float64(allocsN)/float64(n))
	rep.figure("router outcomes", "%s", metrics)
	rep.figure("bookers", "%s", t)
	if tg != nil {
		calls, byMethod := chatCalls(tg.Calls())
		rep.figure("Telegram calls per booking", "%.1f (messages sent or edited in bookers' chats / bookings)", float64(calls)/float64(max(t.booked, 1)))
		rep.figure("Telegram calls by method", "%s", byMethod)
	}

	if c.path == "router" && c.hold > 0 {
		if err := sessionMemory(ctx, c, s, router, rep); err != nil {
			return err
		}
	}
	rep.section("invariants")
	rep.check("every booker finished its conversation", t.byOutcome[outDone] == c.bookers, "%s", t)
	rep.check("no apology, no unknown screen", failed == 0 && t.unknown == 0, "apologies=%d unknown=%d", failed, t.unknown)
	cancels := 0
	for i := range c.bookers {
		if g := f.goals(i); g[len(g)-1] == goalCancel {
			cancels++
		}
	}
	return storeChecks(ctx, s, rep, t.accepted, c.bookers-cancels)
}

// sessionMemory leaves c.hold more bookers mid-flow (at the offer, with
// every answer given) and measures what their sessions take: the process's
// live heap (after full collections) and, with Redis sessions, Redis.
func sessionMemory(ctx context.Context, c config, s *services, router *bot.Router, rep *report) error {
	var before int64
	if !s.memorySessions {
		var err error
		if before, err = usedMemory(ctx, s); err != nil {
			return err
		}
	}
	heap0 := liveHeap()
	first := c.bookers + 1000
	hold := func() error { // the fleet's own records are garbage afterwards
		f := &fleet{rec: &recorder{}, goals: func(int) []goal { return []goal{goalHold} }, conn: routerConn{router}}
		return f.runPool(ctx, first, c.hold, c.concurrency)
	}
	if err := hold(); err != nil {
		return err
	}
	heap1 := liveHeap()
	if c.memprofile != "" {
		if err := writeHeapProfile(c.memprofile); err != nil {
			return err
		}
	}
	rep.figure("process heap per active session", "%d B (live heap delta over %d sessions held mid-flow, %s sessions)",
		(heap1-heap0)/int64(c.hold), c.hold, c.sessions)
	if s.memorySessions {
		return nil
	}
	after, err := usedMemory(ctx, s)
	if err != nil {
		return err
	}
	// MEMORY USAGE of every key of a sample of the held bookers.
	const sample = 100
	kinds := map[string]int64{}
	var total int64
	for i := range min(sample, c.hold) {
		tag := "{telegram:" + strconv.Itoa(chatBase+first+i) + "}"
		iter := s.rdb.Scan(ctx, 0, s.prefix+"*"+tag+"*", 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			n, err := s.rdb.MemoryUsage(ctx, k).Result()
			if err != nil {
				return fmt.Errorf("redis: memory usage: %w", err)
			}
			kind, _, _ := strings.Cut(strings.TrimPrefix(k, s.prefix), ":")
			kinds[kind] += n
			total += n
		}
		if err := iter.Err(); err != nil {
			return err
		}
	}
	n := int64(min(sample, c.hold))
	var parts []string
	for _, k := range []string{"sess", "seen", "upd", "lock"} {
		parts = append(parts, fmt.Sprintf("%s %d B", k, kinds[k]/n))
	}
	rep.figure("Redis per active session (MEMORY USAGE)", "%d B (%s; sample of %d mid-flow)", total/n, strings.Join(parts, ", "), n)
	rep.figure("Redis per active session (used_memory)", "%d B (delta over %d sessions; other clients share this Redis)", (after-before)/int64(c.hold), c.hold)
	return nil
}

// writeHeapProfile writes the heap profile (as of the last collection) to file.
func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// liveHeap is the heap in use after full collections: what is retained.
// Two collections, as the first only moves sync.Pool contents (pooled
// deflate writers, buffers) to a victim cache that the second frees.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func usedMemory(ctx context.Context, s *services) (int64, error) {
	info, err := s.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("redis: info: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("redis: info: no used_memory")
}

// storeChecks checks the bookings in the run's schema: places taken equal
// active bookings, one active booking per patient and per booker, and every
// active booking belongs to a booker who sent accept. wantActive (unless
// negative) is how many active bookings there must be.
func storeChecks(ctx context.Context, s *services, rep *report, accepted map[int]bool, wantActive int) error {
	var taken, active, dupPatients, dupBookers int
	q := func(sql string, dst *int) error {
		if err := s.pool.QueryRow(ctx, sql).Scan(dst); err != nil {
			return fmt.Errorf("check: %w", err)
		}
		return nil
	}
	for _, c := range []struct {
		sql string
		dst *int
	}{
		{`SELECT coalesce(sum(taken), 0) FROM slots`, &taken},
		{`SELECT count(*) FROM bookings WHERE status = 'active'`, &active},
		{`SELECT count(*) FROM (SELECT patient_key FROM bookings WHERE status = 'active' GROUP BY patient_key HAVING count(*) > 1) d`, &dupPatients},
		{`SELECT count(*) FROM (SELECT booker_id FROM bookings WHERE status = 'active' GROUP BY booker_id HAVING count(*) > 1) d`, &dupBookers},
	} {
		if err := q(c.sql, c.dst); err != nil {
			return err
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT booker_id FROM bookings WHERE status = 'active'`)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	var without []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		n, err := strconv.Atoi(id)
		if err != nil || !accepted[n-chatBase] {
			without = append(without, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rep.check("places booked (slots.taken) = active bookings", taken == active, "taken=%d active=%d", taken, active)
	if err := holdChecks(ctx, s, rep, active); err != nil {
		return err
	}
	if wantActive >= 0 {
		rep.check("active bookings as expected", active == wantActive, "active=%d want=%d", active, wantActive)
	}
	rep.check("one active booking per patient", dupPatients == 0, "patients with more than one: %d", dupPatients)
	rep.check("one active booking per booker", dupBookers == 0, "bookers with more than one: %d", dupBookers)
	rep.check("no booking without an accept", len(without) == 0, "active bookings of bookers who never sent accept: %d", len(without))
	return nil
}

func surge(ctx context.Context, c config, s *services, log *slog.Logger, rep *report) error {
	metrics := &outcomeCounter{}
	router, err := s.router(log, metrics)
	if err != nil {
		return err
	}
	defer func() { router.Close(); router.Wait() }()
	f := &fleet{rec: &recorder{}, goals: func(int) []goal { return []goal{goalBook} }, conn: routerConn{router}, think: c.think,
		comeBack: c.comeBack}
	var tg *telegramtest.Server
	if c.path == "telegram" {
		srv, stop, err := newFakeTelegram()
		if err != nil {
			return err
		}
		defer stop()
		tg = srv
		srv.LimitSends(telegramSendsPerSecond)
		pctx, pcancel := context.WithCancel(ctx)
		tp, wait, err := startTelegram(pctx, srv, router, log, c.tgLimit)
		if err != nil {
			pcancel()
			return err
		}
		defer func() { pcancel(); wait() }()
		f.conn = tp
	}
	f.results = make([]result, c.bookers)
	redis0, pg0 := s.redisCalls.Load(), s.pg.read()
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for i := range c.bookers {
		due := start.Add(time.Duration(int64(c.arrival) * int64(i) / int64(c.bookers)))
		wg.Go(func() {
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
				return
			}
			b, err := f.booker(i)
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			f.results[i] = b.run(ctx)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	elapsed := time.Since(start)
	heap, sys := memFigures()
	t := f.tally(0)
	n, failed := f.rec.count()
	p50, p95, p99, maxd := f.rec.percentiles()
	rep.section("figures")
	rep.figure("duration (arrivals spread over)", "%v (%v)", elapsed.Round(time.Millisecond), c.arrival)
	rep.figure("updates (answered, of which apologies)", "%d (%d)", n, failed)
	rep.figure("updates/s", "%.0f", float64(n)/elapsed.Seconds())
	rep.figure("latency per update p50 / p95 / p99 / max", "%s / %s / %s / %s", ms(p50), ms(p95), ms(p99), ms(maxd))
	rep.figure("bookings/s", "%.1f", float64(t.booked)/elapsed.Seconds())
	rep.figure("Redis round trips per update", "%.2f", float64(s.redisCalls.Load()-redis0)/float64(n))
	pgN := s.pg.read()
	rep.figure("PostgreSQL transactions per booking", "%.1f (all transactions of the run / bookings)", float64(pgN.transactions-pg0.transactions)/float64(max(t.booked, 1)))
	rep.figure("process heap in use / memory from OS", "%s / %s (load generator included)", mib(heap), mib(sys))
	rep.figure("replies saying places ran out somewhere", "%d", t.quota)
	var by []string
	for k, n := range t.quotaBy {
		by = append(by, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(by)
	rep.figure("  by reply", "%s", strings.Join(by, ", "))
	rep.figure("router outcomes", "%s", metrics)
	rep.figure("bookers", "%s", t)
	rep.figure("asked to come back (bookers, replies)", "%d, %d (coming back after %v, spread 0.5–1.5×)", t.busyBookers, t.busy, c.comeBack)
	rep.figure("time to first reply p50 / p95 / p99", "%s", quantiles(t.firstReply))
	rep.figure("time to booking p50 / p95 / p99", "%s (from the booker's first update)", quantiles(t.toBooking))
	if tg != nil {
		calls, byMethod := chatCalls(tg.Calls())
		rep.figure("Telegram calls per booking", "%.1f (messages sent or edited in bookers' chats / bookings)", float64(calls)/float64(max(t.booked, 1)))
		rep.figure("Telegram calls by method", "%s", byMethod)
		rep.figure("Telegram 429 answers", "%d (the fake Bot API answers 429 above %d messages a second, as Telegram does)",
			count429(tg.Calls()), telegramSendsPerSecond)
	}
	poolFigure(rep, s)

	rep.section("invariants")
	rep.check("exactly the places were booked", t.booked == c.places, "booked=%d places=%d", t.booked, c.places)
	rep.check("everyone else was told the quota is full", t.byOutcome[outQuotaFull] == c.bookers-c.places && t.byOutcome[outDone] == c.places,
		"%s", t)
	rep.check("no error replies", failed == 0 && t.errs == 0 && t.unknown == 0, "apologies=%d errors=%d unknown=%d", failed, t.errs, t.unknown)
	rep.check("no booker in a conversation asked to come back", t.busyInFlow == 0, "refused mid-conversation=%d", t.busyInFlow)
	unplaced := c.bookers - t.booked
	rep.check("at most one \"places ran out\" reply per booker left without a place", t.quota <= unplaced,
		"replies=%d bookers without a place=%d", t.quota, unplaced)
	return storeChecks(ctx, s, rep, t.accepted, c.places)
}

// holdChecks checks the holds against the active bookings: the places the
// store counts taken now are the active bookings plus the live holds, and
// once the longest hold made has lapsed (by the store's own count at that
// time, nothing swept) they are the active bookings alone.
func holdChecks(ctx context.Context, s *services, rep *report, active int) error {
	now := time.Now().UTC()
	var live, longer int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE until_at > $1),
			count(*) FILTER (WHERE until_at > created_at + make_interval(secs => $2))
		FROM holds`, now, s.svc.Rules.Hold.Seconds()).Scan(&live, &longer); err != nil {
		return fmt.Errorf("check holds: %w", err)
	}
	counted := func(at time.Time) (int, error) {
		counts, err := s.store.QuotaCounts(ctx, time.Time{}, now.AddDate(1, 0, 0), at)
		if err != nil {
			return 0, fmt.Errorf("check holds: %w", err)
		}
		n := 0
		for _, c := range counts {
			n += c.Taken
		}
		return n, nil
	}
	takenNow, err := counted(now)
	if err != nil {
		return err
	}
	takenLater, err := counted(now.Add(s.svc.Rules.Hold))
	if err != nil {
		return err
	}
	rep.check("places taken = active bookings + live holds", takenNow == active+live,
		"taken=%d active=%d live holds=%d", takenNow, active, live)
	rep.check("no hold outlives its expiry", longer == 0 && takenLater == active,
		"holds longer than %v: %d; taken once every hold lapsed=%d, active=%d", s.svc.Rules.Hold, longer, takenLater, active)
	return nil
}

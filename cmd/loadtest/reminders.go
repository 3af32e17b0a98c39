package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/bot/telegram"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
)

// The reminder drill (-mode=reminders): -bookers bookings whose reminders
// are all due at once, sent by a bot process (this program with
// -role=reminder-worker: the router over Redis, the Telegram adapter
// towards a fake Bot API server in this process, and the outbox
// dispatcher) at -notice-rate messages a second. When -kill-at of them
// are sent the bot is killed with SIGKILL and started again. The drill
// prints how many chats got their reminder once, twice or not at all,
// the notices' end states, the time taken and the send rate.

// reminderMarker is in the reminder's text (zh-HK: the bookings carry no
// language) and in no other message.
const reminderMarker = "提提你"

// tgTokenVar carries the fake Bot API's token to the worker.
const tgTokenVar = "CLINICBOT_LOAD_TG_TOKEN"

// runReminderWorker is the bot process of the reminder drill.
func runReminderWorker(ctx context.Context, c config, stdout io.Writer, log *slog.Logger) error {
	s, err := workerServices(c)
	if err != nil {
		return err
	}
	if err := s.open(ctx); err != nil {
		return err
	}
	defer s.close()
	router, err := s.router(log, nil)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(c.tgEndpoint, "http://127.0.0.1:") {
		return fmt.Errorf("worker: -tg-endpoint=%q: must be on 127.0.0.1", c.tgEndpoint)
	}
	tg, err := telegram.New(telegram.Options{
		Token: telegram.Token(os.Getenv(tgTokenVar)), Endpoint: c.tgEndpoint, Handler: router, Forgetter: router,
		Logger: log, Rate: c.noticeRate, HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	})
	if err != nil {
		return err
	}
	d := bot.NewDispatcher(s.store, map[booking.Channel]bot.Notifier{booking.ChannelTelegram: tg},
		bot.DispatcherOptions{Lease: c.lease, Interval: 100 * time.Millisecond, Batch: 32, Workers: 8, Logger: log})
	fmt.Fprintln(stdout, "listening dispatcher")
	err = d.Run(ctx)
	router.Close()
	router.Wait()
	return err
}

// startReminderWorker starts the bot process and waits until it runs.
func startReminderWorker(ctx context.Context, c config, s *services, keyHex string, srv *telegramtest.Server, stderr io.Writer) (*worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-role=reminder-worker", "-schema=" + s.schema, "-prefix=" + s.prefix,
		"-postgres=" + c.pgURL, "-redis=" + c.redisURL, "-tg-endpoint=" + srv.Endpoint(),
		"-notice-rate=" + strconv.FormatFloat(c.noticeRate, 'f', -1, 64), "-lease=" + c.lease.String()}
	if c.verbose {
		args = append(args, "-v")
	}
	cmd := exec.Command(filepath.Clean(exe), args...)
	cmd.Env = append(os.Environ(), keyVar+"="+keyHex, tgTokenVar+"="+srv.Token)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &worker{cmd: cmd, done: make(chan struct{})}
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		started <- sc.Scan() && sc.Text() == "listening dispatcher"
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(w.done) }()
	select {
	case ok := <-started:
		if !ok {
			w.kill()
			return nil, errors.New("reminder worker: did not start")
		}
	case <-time.After(30 * time.Second):
		w.kill()
		return nil, errors.New("reminder worker: not running after 30s")
	case <-ctx.Done():
		w.kill()
		return nil, ctx.Err()
	}
	return w, nil
}

// seedReminders books one place for each of n Telegram chats (1..n), each
// booking's reminder due at now, and opens each chat on the fake server.
func seedReminders(ctx context.Context, s *services, srv *telegramtest.Server, n int, now time.Time) error {
	slots, err := s.store.Slots(ctx, booking.SlotQuery{Service: booking.ServiceClinic, OpenOnly: true})
	if err != nil {
		return err
	}
	var next atomic.Int64
	var mu sync.Mutex
	taken := map[booking.SlotID]int{}
	pick := func() booking.SlotID {
		mu.Lock()
		defer mu.Unlock()
		for _, sl := range slots {
			if taken[sl.ID] < sl.Remaining() {
				taken[sl.ID]++
				return sl.ID
			}
		}
		return 0
	}
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				srv.SendText(int64(i), "/start")
				_, err := s.store.Book(ctx, booking.NewBooking{
					Reference: booking.NewReference(), SlotID: pick(), Patient: booking.PatientKey(fmt.Sprintf("drill-%d", i)),
					BirthKey: "b", PatientMasked: "Z000***(*)", DocumentType: booking.DocumentHKID,
					Booker:    booking.Booker{Channel: booking.ChannelTelegram, ID: strconv.Itoa(i)},
					ConsentAt: now, CreatedAt: now, RemindAt: now,
				})
				if err != nil {
					errs <- fmt.Errorf("book for chat %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// reminderDrill runs the drill and reports.
func reminderDrill(ctx context.Context, c config, s *services, keyHex string, rep *report, stderr io.Writer) error {
	srv, stopSrv, err := newFakeTelegram()
	if err != nil {
		return err
	}
	defer stopSrv()
	seeded := time.Now()
	if err := seedReminders(ctx, s, srv, c.bookers, seeded); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loadtest: %d reminders due, seeded in %v\n", c.bookers, time.Since(seeded).Round(time.Millisecond))
	start := time.Now()
	w, err := startReminderWorker(ctx, c, s, keyHex, srv, stderr)
	if err != nil {
		return err
	}
	defer func() { w.stop() }()
	killedAt, err := waitSent(ctx, s, int(float64(c.bookers)*c.killAt))
	if err != nil {
		return err
	}
	w.kill()
	killed := time.Now()
	ran := killed.Sub(start)
	runRate := float64(sendCount(srv)) / ran.Seconds()
	if w, err = startReminderWorker(ctx, c, s, keyHex, srv, stderr); err != nil {
		return err
	}
	restart := time.Since(killed)
	if _, err := waitSettled(ctx, s); err != nil {
		return err
	}
	elapsed := time.Since(start)
	return reportReminders(ctx, c, s, srv, rep, elapsed, killedAt, restart, runRate, ran)
}

// sendCount is the sendMessage calls the fake server answered.
func sendCount(srv *telegramtest.Server) int {
	n := 0
	for _, call := range srv.Calls() {
		if call.Method == "sendMessage" && call.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// waitSent waits until at least n notices are marked sent and returns the
// count then.
func waitSent(ctx context.Context, s *services, n int) (int, error) {
	for {
		cs, err := s.store.NoticeCounts(ctx, time.Now())
		if err != nil {
			return 0, err
		}
		if cs.Sent >= n {
			return cs.Sent, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for %d reminders sent (%d so far): %w", n, cs.Sent, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitSettled waits until no notice is pending or being sent.
func waitSettled(ctx context.Context, s *services) (booking.OutboxCounts, error) {
	for {
		cs, err := s.store.NoticeCounts(ctx, time.Now())
		if err != nil {
			return cs, err
		}
		if cs.Pending+cs.Sending == 0 {
			return cs, nil
		}
		select {
		case <-ctx.Done():
			return cs, fmt.Errorf("waiting for the outbox to settle (%+v): %w", cs, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reportReminders counts what each chat got and prints the figures and
// invariants.
func reportReminders(ctx context.Context, c config, s *services, srv *telegramtest.Server, rep *report, elapsed time.Duration, killedAt int, restart time.Duration, runRate float64, ran time.Duration) error {
	once, twice, none := 0, 0, 0
	for i := 1; i <= c.bookers; i++ {
		n := 0
		for _, m := range srv.Messages(int64(i)) {
			if m.FromBot && strings.Contains(m.Text, reminderMarker) {
				n++
			}
		}
		switch {
		case n == 0:
			none++
		case n == 1:
			once++
		default:
			twice++
		}
	}
	sends := sendCount(srv)
	cs, err := s.store.NoticeCounts(ctx, time.Now())
	if err != nil {
		return err
	}
	var unconfirmed int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE status = 'sent' AND coalesce(message_id, '') = ''`).Scan(&unconfirmed); err != nil {
		return err
	}
	rep.section("figures")
	rep.figure("reminders due at once", "%d", c.bookers)
	rep.figure("time to send them all (kill and restart included)", "%v", elapsed.Round(time.Millisecond))
	rep.figure("killed (SIGKILL) after", "%d marked sent; restart took %v", killedAt, restart.Round(time.Millisecond))
	rep.figure("messages sent (sendMessage)", "%d; %.1f/s before the kill (configured %.0f/s)", sends, runRate, c.noticeRate)
	rep.figure("chats with their reminder once / twice+ / none", "%d / %d / %d", once, twice, none)
	rep.figure("outbox sent / failed / pending", "%d / %d / %d", cs.Sent, cs.Failed, cs.Pending+cs.Sending)
	rep.figure("sent, found taken after the kill (no id)", "%d", unconfirmed)
	rep.section("invariants")
	rep.check("no reminder sent twice", twice == 0, "%d chats got two or more", twice)
	rep.check("every reminder sent", none == 0, "%d chats got none (lost between the router's record and the send)", none)
	rep.check("every notice settled sent", cs.Sent == c.bookers && cs.Failed == 0, "sent %d, failed %d", cs.Sent, cs.Failed)
	// The limiter's burst (a second's worth) may come on top at the start.
	limit := c.noticeRate * (1 + 1/ran.Seconds()) * 1.02
	rep.check("within the configured rate", runRate <= limit, "%.1f/s before the kill, at most %.1f/s allowed (%.0f/s and its burst)", runRate, limit, c.noticeRate)
	return nil
}

// workerServices are the services of a bot process, from its flags and
// the key in its environment.
func workerServices(c config) (*services, error) {
	key, err := hex.DecodeString(os.Getenv(keyVar))
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("worker: %s is not a hex key", keyVar)
	}
	if !strings.HasPrefix(c.schema, "load_") || !strings.HasPrefix(c.prefix, "clinicbot-load-") {
		return nil, errors.New("worker: -schema and -prefix must be a load run's")
	}
	return &services{pgURL: c.pgURL, redisURL: c.redisURL, schema: c.schema, prefix: c.prefix, key: key}, nil
}

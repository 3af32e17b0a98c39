package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
)

// Notifier delivers one notice through a chat channel: it hands the
// notice's update to the router under the booker's turn, as it does a
// message, and sends the answer within the channel's rate limits. It
// returns the channel's id of the first message sent.
//
// An update the router has taken into effect before (its session stored:
// the engine ran, and the answer may have gone out) is ErrNoticeTaken,
// with nothing sent; a chat that can never be reached (the booker blocked
// the bot, an address not known) is ErrUndeliverable. Any other error is
// worth another try.
type Notifier interface {
	Notify(ctx context.Context, u Update) (messageID string, err error)
}

// Notifier outcomes.
var (
	ErrNoticeTaken   = errors.New("bot: notice taken into effect before")
	ErrUndeliverable = errors.New("bot: notice undeliverable")
)

// DispatcherOptions tune a Dispatcher; zero fields take the defaults given.
type DispatcherOptions struct {
	// Owner names this dispatcher in its claims; default: random, which
	// is right (it must differ between processes).
	Owner string
	// Interval is how often the outbox is read when it had nothing due (1s).
	Interval time.Duration
	// Lease is how long a claim lasts before another dispatcher may take
	// the notice over as unknown (2m): longer than a batch takes to send.
	Lease time.Duration
	// Batch is how many notices one claim takes (32); Workers how many are
	// sent at once (8).
	Batch, Workers int
	// RetryMin and RetryMax bound the back-off between attempts (10s, 10m).
	RetryMin, RetryMax time.Duration
	// Now is the clock (time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Dispatcher sends the outbox's notices through the channels that made
// the bookings. Any number of dispatchers (one per replica) share an
// outbox: each notice is claimed by one at a time.
//
// Never twice: each attempt hands the router an update whose id names the
// notice and the attempt ("notice-7-1"). The router takes an update into
// effect once (its id is marked when the session is stored, for a day), so
// a notice whose send is unknown (its claim lapsed: the dispatcher stopped
// between sending and marking) is checked by handing the router the
// lapsed attempt's update again: one taken into effect before is not sent
// again and is marked sent without a message id; one that was not is
// sent now. After a failed send, the next attempt has an id of its own.
type Dispatcher struct {
	outbox    booking.Outbox
	notifiers map[booking.Channel]Notifier
	opts      DispatcherOptions
	log       *slog.Logger
}

// NewDispatcher returns a Dispatcher over outbox sending through notifiers.
func NewDispatcher(outbox booking.Outbox, notifiers map[booking.Channel]Notifier, opts DispatcherOptions) *Dispatcher {
	if opts.Owner == "" {
		opts.Owner = "dispatcher-" + rand.Text()[:10]
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 32
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 10 * time.Second
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(10*time.Minute, opts.RetryMin)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Dispatcher{outbox: outbox, notifiers: notifiers, opts: opts, log: log.With("component", "outbox")}
}

// Run sends due notices until ctx ends: a full batch is followed at once
// by the next, anything less by a pause of Interval.
func (d *Dispatcher) Run(ctx context.Context) error {
	for {
		n, err := d.Tick(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("outbox not read", "err", err)
		}
		if n == d.opts.Batch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.opts.Interval):
		}
	}
}

// Tick claims the notices due now, sends them and settles each, and
// returns how many it claimed.
func (d *Dispatcher) Tick(ctx context.Context) (int, error) {
	ns, err := d.outbox.ClaimNotices(ctx, booking.NoticeClaim{
		Owner: d.opts.Owner, At: d.opts.Now().UTC(), Lease: d.opts.Lease, Limit: d.opts.Batch,
	})
	if err != nil {
		return 0, fmt.Errorf("bot: claim notices: %w", err)
	}
	// What is claimed is sent and settled even when ctx ends (a graceful
	// shutdown): stopped half way, a notice the router has taken but not
	// sent would be lost. Within a bound: a lease's half.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.opts.Lease/2)
	defer cancel()
	sem := make(chan struct{}, d.opts.Workers)
	var wg sync.WaitGroup
	for _, n := range ns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.deliver(dctx, n)
		}()
	}
	wg.Wait()
	return len(ns), nil
}

// deliver sends one claimed notice and settles it.
func (d *Dispatcher) deliver(ctx context.Context, n booking.Notice) {
	log := d.log.With("notice_id", int64(n.ID), "kind", string(n.Kind),
		"channel", string(n.Booking.Booker.Channel), "attempt", n.Attempts)
	now := d.opts.Now().UTC()
	if now.After(n.Deadline) {
		d.fail(ctx, log, n, "deadline passed")
		return
	}
	notifier := d.notifiers[n.Booking.Booker.Channel]
	if notifier == nil || n.Booking.Booker.ID == "" {
		d.fail(ctx, log, n, "no channel to the booking's chat")
		return
	}
	attempt := n.Attempts
	if n.Unknown {
		attempt-- // the lapsed claim's update: checked, not repeated
	}
	u := Update{Booker: n.Booking.Booker, ID: fmt.Sprintf("notice-%d-%d", n.ID, attempt),
		Input: dialog.Input{Kind: dialog.InputNotice, Notice: &n}}
	id, err := notifier.Notify(ctx, u)
	switch {
	case err == nil:
		d.settle(ctx, log, d.outbox.NoticeSent(ctx, n.ID, d.opts.Owner, id, d.opts.Now().UTC()))
	case errors.Is(err, ErrNoticeTaken):
		log.Warn("notice taken into effect before its claim lapsed; not sent again")
		d.settle(ctx, log, d.outbox.NoticeSent(ctx, n.ID, d.opts.Owner, "", d.opts.Now().UTC()))
	case errors.Is(err, ErrUndeliverable):
		d.fail(ctx, log, n, "undeliverable")
	default:
		d.retry(ctx, log, n, err)
	}
}

// retry gives the notice back for a later attempt, or fails it when that
// would be past its deadline.
func (d *Dispatcher) retry(ctx context.Context, log *slog.Logger, n booking.Notice, cause error) {
	wait := d.opts.RetryMin << min(max(n.Attempts-1, 0), 16)
	wait = min(wait, d.opts.RetryMax)
	next := d.opts.Now().UTC().Add(wait)
	reason := safeReason(n.Booking.Booker.Channel, cause)
	if next.After(n.Deadline) {
		d.fail(ctx, log, n, "deadline passed after: "+reason)
		return
	}
	log.Info("notice not sent; will retry", "err", reason, "retry_in", wait)
	d.settle(ctx, log, d.outbox.RetryNotice(ctx, n.ID, d.opts.Owner, next, reason))
}

// safeReason is what may be logged and kept of a failed send: a WhatsApp
// error may quote the chat's address, a phone number, so only its being a
// timeout is said; Telegram's errors name methods and codes.
func safeReason(ch booking.Channel, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case ch == booking.ChannelWhatsApp:
		return "send failed"
	}
	return err.Error()
}

// fail marks the notice failed for good and logs it (no personal data:
// the notice's id, kind and channel).
func (d *Dispatcher) fail(ctx context.Context, log *slog.Logger, n booking.Notice, reason string) {
	log.Error("notice failed", "reason", reason)
	d.settle(ctx, log, d.outbox.NoticeFailed(ctx, n.ID, d.opts.Owner, d.opts.Now().UTC(), reason))
}

// settle logs a settling call that failed: the claim lapses and the notice
// comes back as unknown, to be checked.
func (d *Dispatcher) settle(ctx context.Context, log *slog.Logger, err error) {
	if err != nil && ctx.Err() == nil {
		log.Warn("notice outcome not recorded; it will be checked when its claim lapses", "err", err)
	}
}

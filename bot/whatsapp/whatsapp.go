// Package whatsapp is the WhatsApp adapter: it serves caregivers over a
// linked WhatsApp device (go.mau.fi/whatsmeow) and hands their messages to a
// bot.Handler.
//
// A caregiver answers the bot's numbered options by number or by words; "0"
// goes back and "menu" (選單, 菜单) returns to the main menu. The adapter
// answers only messages it received, one caregiver's messages in order and
// at a bounded rate, and ignores groups, broadcasts, status updates and its
// own messages. One process at a time holds the WhatsApp connection: Run
// takes a Lease first.
//
// The linked device lives in whatsmeow's own tables (OpenDeviceStore), which
// Login fills for the `clinicbot whatsapp login` command.
package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

// Reasons Run stops for good. Reconnecting would not help: an operator acts.
var (
	// ErrLoggedOut: the device was unlinked (from the phone or by
	// WhatsApp); whatsmeow deleted it. Link again with Login.
	ErrLoggedOut = errors.New("whatsapp: logged out; run `clinicbot whatsapp login` again")
	// ErrStreamReplaced: another connection with this device's keys took
	// over. Run stops instead of fighting for the connection.
	ErrStreamReplaced = errors.New("whatsapp: connection replaced by another client with the same device")
)

// DisconnectError is another reason WhatsApp ended the connection for good,
// such as a temporary ban or an outdated client.
type DisconnectError struct{ Reason string }

func (e *DisconnectError) Error() string { return "whatsapp: disconnected for good: " + e.Reason }

// Options configure an Adapter. Zero fields take the defaults given.
type Options struct {
	// Handler answers each message (the bot.Router). Required.
	Handler bot.Handler
	// Lease is taken before connecting. Default: a lease of its own, which
	// is right only for a single process.
	Lease Lease
	// Log receives the adapter's records; never personal data.
	// Default: slog.Default().
	Log *slog.Logger
	// MessageTimeout bounds the handling of one message, answer included
	// (20s).
	MessageTimeout time.Duration
	// QueueSize is how many of one caregiver's messages may wait while an
	// earlier one is handled (4); more are dropped.
	QueueSize int
	// InboxSize is how many messages may wait to be queued (256).
	InboxSize int
	// SendRate is how many messages a second the adapter sends at most,
	// all chats together (4), with bursts of SendBurst (8).
	SendRate  float64
	SendBurst int
	// LeaseRetry is how often a process without the lease tries again (15s).
	LeaseRetry time.Duration
	// LeaseRenew is how often the held lease is renewed (10s); keep it at
	// most a third of the lease's TTL: two failed renewals in a row stop
	// serving before the lease can expire.
	LeaseRenew time.Duration
	// RetryMin and RetryMax bound the back-off between failed connects
	// (2s, 2m).
	RetryMin, RetryMax time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Pseudonym turns a caregiver's WhatsApp id (their phone number, or a
	// LID) into the booker id that sessions, bookings and the audit trail
	// keep, so that no phone number is stored in clear (production passes
	// booking.Protector.BookerPseudonym). Default: the id itself.
	Pseudonym func(id string) string
	// Addresses keeps each caregiver's chat for notices (Notify), needed
	// with a Pseudonym. Default: none, and with a Pseudonym no notice can
	// be delivered.
	Addresses AddressBook
}

// Adapter serves caregivers over WhatsApp. Make one with New and start it
// with Run.
type Adapter struct {
	client  Client
	handler bot.Handler
	lease   Lease
	log     *slog.Logger
	opts    Options
	now     func() time.Time
	bucket  *bucket

	// inbox carries accepted messages from HandleEvent, which whatsmeow
	// calls synchronously, to the dispatcher of Run.
	inbox chan job
	// stop carries a permanent disconnect from HandleEvent to Run.
	stop chan error

	// handled, when set (tests), is called after each job.
	handled func(id string)
}

// job is one accepted message.
type job struct {
	update bot.Update
	chat   types.JID
	sender types.JID
	msgID  types.MessageID
}

// New returns an Adapter over client.
func New(client Client, opts Options) *Adapter {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Lease == nil {
		opts.Lease = NewLocalLock().Lease()
	}
	if opts.MessageTimeout <= 0 {
		opts.MessageTimeout = 20 * time.Second
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4
	}
	if opts.InboxSize <= 0 {
		opts.InboxSize = 256
	}
	if opts.SendRate <= 0 {
		opts.SendRate = 4
	}
	if opts.SendBurst <= 0 {
		opts.SendBurst = 8
	}
	if opts.LeaseRetry <= 0 {
		opts.LeaseRetry = 15 * time.Second
	}
	if opts.LeaseRenew <= 0 {
		opts.LeaseRenew = 10 * time.Second
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 2 * time.Second
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(2*time.Minute, opts.RetryMin)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Adapter{
		client:  client,
		handler: opts.Handler,
		lease:   opts.Lease,
		log:     opts.Log.With("component", "whatsapp"),
		opts:    opts,
		now:     opts.Now,
		bucket:  newBucket(opts.SendRate, opts.SendBurst, opts.Now),
		inbox:   make(chan job, opts.InboxSize),
		stop:    make(chan error, 1),
	}
}

// HandleEvent is the adapter's whatsmeow event handler; Run registers it.
// whatsmeow calls it synchronously, so it only filters and queues.
func (a *Adapter) HandleEvent(evt any) {
	switch e := evt.(type) {
	case *events.Message:
		a.accept(e)
	case *events.Connected:
		a.log.Info("whatsapp connected")
	case *events.Disconnected:
		a.log.Warn("whatsapp disconnected; reconnecting")
	case *events.KeepAliveTimeout:
		a.log.Warn("whatsapp keepalive timed out", "errors", e.ErrorCount)
	case *events.KeepAliveRestored:
		a.log.Info("whatsapp keepalive restored")
	case *events.LoggedOut:
		a.log.Error("whatsapp device logged out; link it again with `clinicbot whatsapp login`",
			"on_connect", e.OnConnect, "reason", e.Reason.String())
		a.halt(ErrLoggedOut)
	case *events.StreamReplaced:
		a.log.Error("whatsapp connection replaced by another client; stopping")
		a.halt(ErrStreamReplaced)
	case events.PermanentDisconnect:
		reason := e.PermanentDisconnectDescription()
		a.log.Error("whatsapp disconnected for good", "reason", reason)
		a.halt(&DisconnectError{Reason: reason})
	case *events.UndecryptableMessage:
		a.log.Warn("whatsapp message could not be decrypted", "message_id", e.Info.ID)
	}
}

// halt asks Run to stop serving with err; the first reason wins.
func (a *Adapter) halt(err error) {
	select {
	case a.stop <- err:
	default:
	}
}

// accept filters a message and queues it for its caregiver's worker.
func (a *Adapter) accept(evt *events.Message) {
	info := evt.Info
	if !direct(info.MessageSource) || evt.IsEdit {
		return
	}
	in, ok := messageInput(evt.Message)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	booker, hint := a.booker(ctx, info.MessageSource)
	a.remember(ctx, booker.ID, info.Chat)
	cancel()
	if hint != "" {
		in.LanguageHint = hint
	}
	j := job{
		update: bot.Update{Booker: booker, ID: "wa:" + string(info.ID), Input: in},
		chat:   info.Chat,
		sender: info.Sender,
		msgID:  info.ID,
	}
	select {
	case a.inbox <- j:
	default:
		a.log.Warn("whatsapp inbox full; message dropped", "message_id", info.ID)
	}
}

// direct reports whether a message was written to the bot in a one-to-one
// chat by someone else: not a group, broadcast list, status update,
// newsletter or bot, and not the bot's own.
func direct(src types.MessageSource) bool {
	if src.IsFromMe || src.IsGroup {
		return false
	}
	person := func(j types.JID) bool {
		return (j.Server == types.DefaultUserServer || j.Server == types.HiddenUserServer) && !j.IsBot()
	}
	return person(src.Chat) && person(src.Sender)
}

// booker names the caregiver by phone number wherever it is known, so that
// their @lid and phone-number addresses share one session. A hidden user
// whose number is not known is named by their LID, marked "@lid" so that it
// never collides with a number. hint is a language hint from the number.
func (a *Adapter) booker(ctx context.Context, src types.MessageSource) (booking.Booker, string) {
	b, hint := a.address(ctx, src)
	if a.opts.Pseudonym != nil {
		b.ID = a.opts.Pseudonym(b.ID)
	}
	return b, hint
}

// address names the caregiver by their WhatsApp address, before any
// pseudonym.
func (a *Adapter) address(ctx context.Context, src types.MessageSource) (b booking.Booker, hint string) {
	b.Channel = booking.ChannelWhatsApp
	sender := src.Sender.ToNonAD()
	if sender.Server == types.DefaultUserServer {
		b.ID = sender.User
		return b, languageHint(b.ID)
	}
	if alt := src.SenderAlt.ToNonAD(); alt.Server == types.DefaultUserServer {
		b.ID = alt.User
		return b, languageHint(b.ID)
	}
	pn, err := a.client.PNForLID(ctx, sender)
	if err != nil {
		a.log.Warn("whatsapp lid lookup failed", "err", err)
	}
	if err == nil && pn.Server == types.DefaultUserServer && pn.User != "" {
		b.ID = pn.User
		return b, languageHint(b.ID)
	}
	b.ID = sender.User + "@" + types.HiddenUserServer
	return b, ""
}

// languageHint guesses a new caregiver's language from their number: Hong
// Kong and Macau numbers read Traditional Chinese, mainland ones Simplified
// Chinese, and others (many caregivers in Hong Kong come from abroad)
// English. It picks the language of a new session only.
func languageHint(number string) string {
	switch {
	case len(number) > 3 && (number[:3] == "852" || number[:3] == "853"):
		return "zh-HK"
	case len(number) > 2 && number[:2] == "86":
		return "zh-CN"
	}
	return "en"
}

// Run serves until ctx ends: it takes the lease, connects, answers messages,
// and disconnects and releases the lease at the end. Without the lease it
// stays off WhatsApp and tries again every LeaseRetry. A lost lease
// disconnects and waits for it again; a failed connect is retried with a
// bounded back-off. It returns nil when ctx ends, and ErrLoggedOut,
// ErrStreamReplaced or a *DisconnectError when WhatsApp ended the connection
// for good.
func (a *Adapter) Run(ctx context.Context) error {
	if a.handler == nil {
		return errors.New("whatsapp: run: no handler")
	}
	backoff := a.opts.RetryMin
	for {
		if !a.acquire(ctx) {
			return nil
		}
		err := a.serve(ctx)
		releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := a.lease.Release(releaseCtx); rerr != nil {
			a.log.Warn("whatsapp lease release failed", "err", rerr)
		}
		cancel()
		var cerr *connectError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrLeaseLost):
			a.log.Warn("whatsapp lease lost; disconnected")
			backoff = a.opts.RetryMin
			continue
		case errors.As(err, &cerr):
			a.log.Error("whatsapp connect failed", "err", cerr.err, "retry_in", backoff)
		default:
			return err
		}
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, a.opts.RetryMax)
	}
}

// connectError is a failed Connect: worth retrying.
type connectError struct{ err error }

func (e *connectError) Error() string { return "whatsapp: connect: " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// acquire waits for the lease; false means ctx ended first.
func (a *Adapter) acquire(ctx context.Context) bool {
	waiting := false
	for {
		ok, err := a.lease.TryAcquire(ctx)
		switch {
		case err != nil:
			a.log.Warn("whatsapp lease acquire failed", "err", err)
		case ok:
			return true
		case !waiting:
			a.log.Info("whatsapp connection held by another process; waiting")
			waiting = true
		}
		if !sleep(ctx, a.opts.LeaseRetry) {
			return false
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// serve holds the connection while the lease lasts. It returns nil when
// ctx ends, ErrLeaseLost, a *connectError, or a permanent disconnect.
func (a *Adapter) serve(ctx context.Context) (err error) {
	select {
	case <-a.stop: // a reason left over from an earlier connection
	default:
	}
	dctx, stopDispatch := context.WithCancel(ctx)
	defer stopDispatch()
	var workers sync.WaitGroup
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		a.dispatch(dctx, &workers)
	}()
	handlerID := a.client.AddEventHandler(a.HandleEvent)
	defer func() {
		// Stop taking messages; those queued and not started are dropped.
		stopDispatch()
		<-dispatched
		if err != nil {
			// Lease lost or connection gone: in-flight sends fail fast.
			a.client.Disconnect()
			workers.Wait()
		} else {
			// Shutdown: in-flight messages are answered first.
			workers.Wait()
			a.client.Disconnect()
		}
		a.client.RemoveEventHandler(handlerID)
		a.drainInbox()
	}()
	if cerr := a.client.Connect(); cerr != nil {
		return &connectError{cerr}
	}
	renew := time.NewTicker(a.opts.LeaseRenew)
	defer renew.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-a.stop:
			return err
		case <-renew.C:
			rerr := a.lease.Renew(ctx)
			switch {
			case rerr == nil:
				failures = 0
			case errors.Is(rerr, ErrLeaseLost):
				return ErrLeaseLost
			case ctx.Err() != nil:
				return nil
			default:
				failures++
				a.log.Warn("whatsapp lease renewal failed", "err", rerr, "failures", failures)
				if failures >= 2 {
					return fmt.Errorf("whatsapp: renew lease: %w", ErrLeaseLost)
				}
			}
		}
	}
}

func (a *Adapter) drainInbox() {
	dropped := 0
	for {
		select {
		case <-a.inbox:
			dropped++
		default:
			if dropped > 0 {
				a.log.Warn("whatsapp messages dropped at disconnect", "count", dropped)
			}
			return
		}
	}
}

// dispatch hands each message to the handler's Go in the order received,
// so that one caregiver's messages are handled and answered one at a time
// and in order while others' run alongside. At most QueueSize of one
// caregiver's messages wait behind the one in hand; more are dropped. Once ctx ends, messages not
// started are dropped; one started is finished under its own deadline.
func (a *Adapter) dispatch(ctx context.Context, workers *sync.WaitGroup) {
	var mu sync.Mutex
	waiting := make(map[string]int) // caregiver → messages handed over, not done
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-a.inbox:
			key := j.update.Booker.ID
			mu.Lock()
			full := waiting[key] > a.opts.QueueSize // one in hand, QueueSize waiting
			if !full {
				waiting[key]++
			}
			mu.Unlock()
			if full {
				a.log.Warn("whatsapp caregiver queue full; message dropped", "message_id", j.msgID)
				continue
			}
			release := func() {
				mu.Lock()
				if waiting[key]--; waiting[key] == 0 {
					delete(waiting, key)
				}
				mu.Unlock()
				workers.Done()
			}
			workers.Add(1)
			job := func(jctx context.Context) {
				defer release()
				if jctx.Err() == nil {
					a.handle(context.WithoutCancel(jctx), j)
				}
			}
			if err := a.handler.Go(ctx, j.update.Booker, job); err != nil {
				a.log.Error("whatsapp message not handled", "message_id", j.msgID, "err", err)
				release()
			}
		}
	}
}

// handle answers one message under its own deadline.
func (a *Adapter) handle(ctx context.Context, j job) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.MessageTimeout)
	defer cancel()
	if a.handled != nil {
		defer a.handled(j.update.ID)
	}
	log := a.log.With("message_id", j.msgID)
	if err := a.client.MarkRead(ctx, []types.MessageID{j.msgID}, a.now(), j.chat, j.sender); err != nil {
		log.Debug("whatsapp mark read failed", "err", err)
	}
	a.presence(ctx, j.chat, types.ChatPresenceComposing)
	res, err := a.handler.Handle(ctx, j.update)
	a.presence(ctx, j.chat, types.ChatPresencePaused)
	if err != nil {
		log.Error("whatsapp message not handled", "err", err)
		return
	}
	for i, r := range res.Replies {
		if err := a.send(ctx, j.chat, r, res.Lang, i == len(res.Replies)-1); err != nil {
			log.Error("whatsapp reply not sent", "err", err, "reply", i)
			return
		}
	}
}

func (a *Adapter) presence(ctx context.Context, chat types.JID, state types.ChatPresence) {
	if err := a.client.SendChatPresence(ctx, chat, state, types.ChatPresenceMediaText); err != nil {
		a.log.Debug("whatsapp chat presence failed", "state", string(state), "err", err)
	}
}

// send sends one reply: its text with numbered options, then the clinic's
// location and the calendar file when it has them.
func (a *Adapter) send(ctx context.Context, chat types.JID, r dialog.Reply, lang string, last bool) error {
	msgs := []*waE2E.Message{{Conversation: proto.String(renderText(r, lang, last))}}
	if l := r.Location; l != nil && (l.Lat != 0 || l.Lng != 0) {
		msgs = append(msgs, &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude:  proto.Float64(l.Lat),
			DegreesLongitude: proto.Float64(l.Lng),
			Name:             proto.String(l.Name),
			Address:          proto.String(l.Address),
		}})
	}
	if f := r.Calendar; f != nil {
		doc, err := a.document(ctx, f)
		if err != nil {
			return err
		}
		msgs = append(msgs, doc)
	}
	for _, m := range msgs {
		if err := a.bucket.wait(ctx); err != nil {
			return err
		}
		if _, err := a.client.SendMessage(ctx, chat, m); err != nil {
			return fmt.Errorf("whatsapp: send: %w", err)
		}
	}
	return nil
}

// document uploads a file and returns the message that carries it.
func (a *Adapter) document(ctx context.Context, f *dialog.File) (*waE2E.Message, error) {
	up, err := a.client.Upload(ctx, f.Data, whatsmeow.MediaDocument)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: upload %s: %w", f.MIME, err)
	}
	return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
		URL:           proto.String(up.URL),
		DirectPath:    proto.String(up.DirectPath),
		MediaKey:      up.MediaKey,
		FileEncSHA256: up.FileEncSHA256,
		FileSHA256:    up.FileSHA256,
		FileLength:    proto.Uint64(up.FileLength),
		Mimetype:      proto.String(f.MIME),
		FileName:      proto.String(f.Name),
		Title:         proto.String(f.Name),
	}}, nil
}

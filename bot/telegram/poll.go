package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/clinicbot/clinicbot/locales"
)

// Poll receives updates by long polling until ctx ends, then waits for the
// updates in hand to finish, confirms them to Telegram and returns nil.
//
// Telegram forgets an update once getUpdates is called with an offset above
// it, so the offset only moves past an update when that update and every
// one before it have been handled (a low-water mark): a process that stops
// half-way gets the unfinished updates again. Updates from different chats
// are handled in parallel, those of one chat in order: each goes to the
// handler's Go in the order read.
//
// One chat's backlog does not hold up the others. At most maxPerChat of a
// chat's updates are in hand at once (one handled, the rest waiting their
// turn in the router); an update read while that many are in hand is
// dropped, counted as handled and so confirmed, and so is every update of
// that chat until it has sent none for floodQuiet. The chat is told (once
// a minute at most, telegram.slow_down) to wait for the answers. Without
// the bound a flooding chat's updates took every slot of MaxInFlight while
// they waited, one a second, for that chat's rate limit, and the loop read
// no other chat's update meanwhile. Without the quiet period the chat's
// next updates would be taken in hand as soon as the first were answered:
// each batch of getUpdates would then wait on that chat's rate limit, and
// other chats behind a long flood would wait for all of them.
//
// An update the handler fails on counts as handled (the error is logged):
// stopping there would hold back every later update. So the router must
// outlive Poll: close it only after Poll has returned.
//
// Poll deletes any webhook first (getUpdates is refused while one is set).
func (b *Bot) Poll(ctx context.Context) error {
	if err := b.deleteWebhook(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	p := &poller{
		b:       b,
		sem:     make(chan struct{}, b.maxInFlight),
		changed: make(chan struct{}),
		inHand:  make(map[int64]int),
		floods:  make(map[int64]*flood),
	}
	return p.run(ctx)
}

func (b *Bot) deleteWebhook(ctx context.Context) error {
	_, err := b.request(ctx, "deleteWebhook", tgbotapi.DeleteWebhookConfig{DropPendingUpdates: false})
	return err
}

// poller is the state of one Poll call.
type poller struct {
	b   *Bot
	sem chan struct{} // bounds the updates in hand
	wg  sync.WaitGroup

	mu         sync.Mutex
	pending    []int         // update IDs in hand, ascending
	dispatched int           // highest update ID handed out or dropped, 0 for none
	changed    chan struct{} // closed and replaced when an update is done
	// inHand counts each chat's updates in hand; a chat with none has no
	// entry.
	inHand map[int64]int
	// floods are the chats that had an update dropped lately.
	floods map[int64]*flood
}

// flood is what the poller remembers of a chat that sent too much.
type flood struct {
	dropped time.Time // when its last update was dropped
	told    time.Time // when it was last told to slow down
}

// A flooding chat's updates are dropped until it has been quiet for
// floodQuiet (a person reading an answer is quiet longer); it is told to
// slow down once every slowDownEvery at most.
const (
	floodQuiet    = 3 * time.Second
	slowDownEvery = time.Minute
)

func (p *poller) run(ctx context.Context) error {
	b := p.b
	committed := 0 // the offset Telegram has been given
	backoff := time.Second
	for ctx.Err() == nil {
		offset := p.offset()
		updates, err := b.getUpdates(ctx, offset, int(b.pollTimeout/time.Second), 100)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			b.log.ErrorContext(ctx, "get updates", "error", err, "retry_in", backoff)
			if b.sleep(ctx, backoff) != nil {
				break
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
		committed = offset
		fresh := 0
		for _, u := range updates {
			if !p.dispatch(ctx, u) {
				break
			}
			fresh++
		}
		if fresh == 0 {
			// Only updates in hand came back: polling again at once would
			// spin, so wait until one of them is done.
			p.awaitProgress(ctx)
		}
	}
	p.wg.Wait()
	// Confirm what was handled since the last poll, as a stopping process
	// that finished its updates should (a crash would leave them to be
	// delivered again).
	if offset := p.offset(); offset > committed {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := b.getUpdates(cctx, offset, 0, 1); err != nil {
			b.log.ErrorContext(ctx, "confirm updates", "offset", offset, "error", err)
		}
	}
	return nil
}

// getUpdates calls getUpdates; offset 0 asks for every unconfirmed update.
func (b *Bot) getUpdates(ctx context.Context, offset, timeoutSeconds, limit int) ([]tgbotapi.Update, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(timeoutSeconds)*time.Second+15*time.Second)
	defer cancel()
	cfg := tgbotapi.UpdateConfig{Offset: offset, Limit: limit, Timeout: timeoutSeconds, AllowedUpdates: allowedUpdates}
	resp, err := b.request(ctx, "getUpdates", cfg)
	if err != nil {
		return nil, err
	}
	var updates []tgbotapi.Update
	if err := json.Unmarshal(resp.Result, &updates); err != nil {
		return nil, fmt.Errorf("telegram: getUpdates: decode: %w", err)
	}
	sort.Slice(updates, func(i, j int) bool { return updates[i].UpdateID < updates[j].UpdateID })
	return updates, nil
}

// offset is the low-water mark: the oldest update in hand, or one past the
// newest handed out when none is in hand.
func (p *poller) offset() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) > 0 {
		return p.pending[0]
	}
	if p.dispatched == 0 {
		return 0
	}
	return p.dispatched + 1
}

// awaitProgress waits until an update in hand is done, or ctx ends; it
// returns at once when none is in hand.
func (p *poller) awaitProgress(ctx context.Context) {
	p.mu.Lock()
	if len(p.pending) == 0 {
		p.mu.Unlock()
		return
	}
	changed := p.changed
	p.mu.Unlock()
	select {
	case <-changed:
	case <-ctx.Done():
	}
}

// dispatch hands u to a goroutine unless it was handed out before (it comes
// back until confirmed). It reports false when ctx ended while waiting for
// room.
func (p *poller) dispatch(ctx context.Context, u tgbotapi.Update) bool {
	p.mu.Lock()
	seen := u.UpdateID <= p.dispatched
	p.mu.Unlock()
	if seen {
		return true
	}
	chat, ok := chatOf(&u)
	if ok && p.drop(ctx, chat, u) {
		return true
	}
	if ok && p.turnAway(ctx, chat, u) {
		return true
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	p.mu.Lock()
	p.dispatched = u.UpdateID
	p.pending = append(p.pending, u.UpdateID)
	if ok {
		p.inHand[chat]++
	}
	p.mu.Unlock()

	p.wg.Add(1)
	job := func(jctx context.Context) {
		defer p.wg.Done()
		defer func() { <-p.sem }()
		// The update is finished even when Poll is stopping: cancelling it
		// half-way would only make it come back.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(jctx), p.b.updateTimeout)
		p.b.handle(uctx, u)
		cancel()
		p.finish(u.UpdateID, chat, ok)
	}
	if err := p.b.handler.Go(ctx, bookerOf(chat), job); err != nil {
		// The router closed under a running Poll: counted as handled, as
		// any failed update is, so that the offset moves on.
		p.b.log.Error("update not handled", "update_id", u.UpdateID, "err", err)
		p.wg.Done()
		<-p.sem
		p.finish(u.UpdateID, chat, ok)
	}
	return true
}

// drop drops u, marking it handed out but never in hand, when its chat has
// maxPerChat updates in hand already or had one dropped less than
// floodQuiet ago; the first dropped in a while sends the chat the
// slow-down notice. It reports whether u was dropped.
func (p *poller) drop(ctx context.Context, chat int64, u tgbotapi.Update) bool {
	b := p.b
	now := b.limiter.now()
	p.mu.Lock()
	f := p.floods[chat]
	if p.inHand[chat] < b.maxPerChat && (f == nil || now.Sub(f.dropped) >= floodQuiet) {
		p.mu.Unlock()
		return false
	}
	if f == nil {
		if len(p.floods) > sweepAbove {
			for c, old := range p.floods {
				if now.Sub(old.dropped) >= floodQuiet && now.Sub(old.told) >= slowDownEvery {
					delete(p.floods, c)
				}
			}
		}
		f = &flood{}
		p.floods[chat] = f
	}
	p.dispatched = u.UpdateID
	f.dropped = now
	tell := now.Sub(f.told) >= slowDownEvery
	if tell {
		f.told = now
	}
	p.mu.Unlock()

	log := b.log.With("update_id", u.UpdateID, "chat_id", chat)
	log.DebugContext(ctx, "update dropped", "reason", "chat_backlog", "in_hand", b.maxPerChat)
	if !tell {
		return true
	}
	log.WarnContext(ctx, "chat floods the bot; its excess updates are dropped", "in_hand", b.maxPerChat)
	lang := locales.Match(languageOf(&u))
	// Said in the chat's line, after the answers to the updates in hand:
	// sent beside them, it would take one of the chat's rate-limit tokens
	// first and hold their answers (and so the offset) back a second more.
	p.wg.Add(1)
	notice := func(jctx context.Context) {
		defer p.wg.Done()
		nctx, cancel := context.WithTimeout(context.WithoutCancel(jctx), b.updateTimeout)
		defer cancel()
		b.sendNotice(nctx, log, chat, say(lang, keySlowDown))
	}
	if err := b.handler.Go(ctx, bookerOf(chat), notice); err != nil {
		p.wg.Done() // the router closed: nothing more is said
	}
	return true
}

// turnAway answers a newcomer's u with the waiting message, in the chat's
// line but without one of the places in hand, when the send budget is
// short: those places are for the bookers in a conversation, and a
// newcomer's update waiting for one would be answered late whatever it
// got. u counts as handled at once. It reports whether u was turned away.
func (p *poller) turnAway(ctx context.Context, chat int64, u tgbotapi.Update) bool {
	b := p.b
	if !b.busyFor(chat) {
		return false
	}
	p.mu.Lock()
	p.dispatched = u.UpdateID
	p.mu.Unlock()
	log := b.log.With("update_id", u.UpdateID)
	p.wg.Add(1)
	job := func(jctx context.Context) {
		defer p.wg.Done()
		tctx, cancel := context.WithTimeout(context.WithoutCancel(jctx), b.updateTimeout)
		defer cancel()
		b.turnAway(tctx, log, chat, u)
	}
	if err := b.handler.Go(ctx, bookerOf(chat), job); err != nil {
		p.wg.Done() // the router closed: nothing more is said
	}
	return true
}

// languageOf is the client language of u's sender, "" when unknown.
func languageOf(u *tgbotapi.Update) string {
	switch {
	case u.Message != nil && u.Message.From != nil:
		return u.Message.From.LanguageCode
	case u.CallbackQuery != nil && u.CallbackQuery.From != nil:
		return u.CallbackQuery.From.LanguageCode
	}
	return ""
}

func (p *poller) finish(id int, chat int64, counted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if counted {
		if p.inHand[chat]--; p.inHand[chat] <= 0 {
			delete(p.inHand, chat)
		}
	}
	for i, pid := range p.pending {
		if pid == id {
			p.pending = append(p.pending[:i], p.pending[i+1:]...)
			break
		}
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

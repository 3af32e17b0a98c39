package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
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
	dispatched int           // highest update ID handed out, 0 for none
	changed    chan struct{} // closed and replaced when an update is done
}

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
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	chat, _ := chatOf(&u)
	p.mu.Lock()
	p.dispatched = u.UpdateID
	p.pending = append(p.pending, u.UpdateID)
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
		p.finish(u.UpdateID)
	}
	if err := p.b.handler.Go(ctx, bookerOf(chat), job); err != nil {
		// The router closed under a running Poll: counted as handled, as
		// any failed update is, so that the offset moves on.
		p.b.log.Error("update not handled", "update_id", u.UpdateID, "err", err)
		p.wg.Done()
		<-p.sem
		p.finish(u.UpdateID)
	}
	return true
}

func (p *poller) finish(id int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, pid := range p.pending {
		if pid == id {
			p.pending = append(p.pending[:i], p.pending[i+1:]...)
			break
		}
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

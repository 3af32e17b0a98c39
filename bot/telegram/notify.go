package telegram

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

var _ bot.Notifier = (*Bot)(nil)

// Notify delivers a notice of the outbox to its booker's chat: the update
// goes to the handler under the booker's turn, after their earlier
// updates, and its replies go out through the same rate limiter as every
// answer. It returns the id of the first message sent.
func (b *Bot) Notify(ctx context.Context, u bot.Update) (string, error) {
	chatID, err := strconv.ParseInt(u.Booker.ID, 10, 64)
	if err != nil {
		return "", fmt.Errorf("telegram: notify: chat id: %w", bot.ErrUndeliverable)
	}
	type result struct {
		id  string
		err error
	}
	done := make(chan result, 1)
	err = b.handler.Go(ctx, u.Booker, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, b.updateTimeout)
		defer cancel()
		// The rate limit is waited out before the router takes the notice
		// into effect, not after: between the two, a crash would lose the
		// notice (the router's record says it was handled), so that
		// moment is kept to the send's own round trips.
		ctx, err := b.prepay(ctx, chatID, noticeMessages)
		if err != nil {
			done <- result{"", err}
			return
		}
		id, err := b.notify(ctx, chatID, u)
		done <- result{id, err}
	})
	if err != nil {
		return "", fmt.Errorf("telegram: notify: %w", err)
	}
	select {
	case r := <-done:
		return r.id, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// noticeMessages is how many messages a notice takes, but for a text
// split in two and a reminder's map pin (those wait their turn as they go):
// its text and its question (a reminder), or its text and its calendar
// file (a change).
const noticeMessages = 2

// prepaidKey marks a context whose messages have had their place in the
// rate limit waited for: the counter holds how many are left.
type prepaidKey struct{}

// prepay waits for n messages' places in the rate limit of chatID (and
// overall) and returns a context whose first n messages go out at once.
func (b *Bot) prepay(ctx context.Context, chatID int64, n int) (context.Context, error) {
	// A notice ranks with the answers of a booker in a conversation:
	// behind the bookings being made, ahead of newcomers.
	for range n {
		if err := b.limiter.wait(ctx, chatID, bot.InConversation, b.sleep); err != nil {
			return ctx, fmt.Errorf("telegram: notify: rate limit: %w", err)
		}
	}
	left := new(atomic.Int32)
	left.Store(int32(n))
	return context.WithValue(ctx, prepaidKey{}, left), nil
}

// prepaid reports whether a message sent with ctx had its place in the
// rate limit waited for, and uses that place up.
func prepaid(ctx context.Context) bool {
	left, ok := ctx.Value(prepaidKey{}).(*atomic.Int32)
	return ok && left.Add(-1) >= 0
}

// notify handles u and sends its replies, in the booker's turn.
func (b *Bot) notify(ctx context.Context, chatID int64, u bot.Update) (string, error) {
	res, err := b.handler.Handle(ctx, u)
	if err != nil {
		return "", fmt.Errorf("telegram: notify: %w", err)
	}
	if len(res.Replies) == 0 {
		return "", bot.ErrNoticeTaken
	}
	if k := res.Replies[0].Key; k == bot.KeyInternal || k == bot.KeyUnavailable {
		// The router's apology: nothing was stored, and the booker, who
		// wrote nothing, is told nothing. The notice is tried again.
		return "", fmt.Errorf("telegram: notify: handler answered %s", k)
	}
	first := ""
	for _, r := range res.Replies {
		id, err := b.sendReplyID(ctx, chatID, r)
		if errors.Is(err, ErrForbidden) {
			b.blocked(ctx, b.log, u.Booker, err)
			return first, fmt.Errorf("telegram: notify: %w", bot.ErrUndeliverable)
		}
		if first == "" {
			first = id
		}
		if err != nil && first != "" {
			// Part of it reached the chat: sent again, that part would
			// come twice. The rest is lost, and said so.
			b.log.WarnContext(ctx, "notice partly sent; not repeated", "key", r.Key, "error", err)
			return first, nil
		}
		if err != nil {
			return "", err
		}
	}
	return first, nil
}

// sendReplyID is sendReply returning the id of its first message.
func (b *Bot) sendReplyID(ctx context.Context, chatID int64, r dialog.Reply) (string, error) {
	mk, err := markup(r)
	if err != nil {
		return "", err
	}
	first := ""
	chunks := splitText(r.Text, maxText)
	for i, c := range chunks {
		cfg := tgbotapi.NewMessage(chatID, c)
		if i == len(chunks)-1 {
			cfg.ReplyMarkup = mk
		}
		m, err := b.message(ctx, chatID, "sendMessage", cfg)
		if err != nil {
			return first, err
		}
		if first == "" {
			first = strconv.Itoa(m.MessageID)
		}
	}
	return first, b.sendAttachments(ctx, chatID, r)
}

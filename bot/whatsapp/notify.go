package whatsapp

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

var _ bot.Notifier = (*Adapter)(nil)

// AddressBook keeps, for notices, the chat of each caregiver the adapter
// has heard from, by booker id: with a Pseudonym the booker id a booking
// keeps cannot be turned back into an address.
type AddressBook interface {
	Remember(ctx context.Context, bookerID string, chat types.JID) error
	Chat(ctx context.Context, bookerID string) (types.JID, bool, error)
}

// MemoryAddressBook is an AddressBook in the process's memory: a caregiver
// is reachable for notices once they wrote to this process. It is safe
// for concurrent use.
type MemoryAddressBook struct {
	mu    sync.Mutex
	chats map[string]types.JID
}

// NewMemoryAddressBook returns an empty MemoryAddressBook.
func NewMemoryAddressBook() *MemoryAddressBook {
	return &MemoryAddressBook{chats: make(map[string]types.JID)}
}

// Remember records the chat of bookerID.
func (m *MemoryAddressBook) Remember(_ context.Context, bookerID string, chat types.JID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chats[bookerID] = chat
	return nil
}

// Chat returns the chat of bookerID, if known.
func (m *MemoryAddressBook) Chat(_ context.Context, bookerID string) (types.JID, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chats[bookerID]
	return c, ok, nil
}

// remember records the chat of a caregiver the adapter heard from.
func (a *Adapter) remember(ctx context.Context, bookerID string, chat types.JID) {
	if a.opts.Addresses == nil {
		return
	}
	if err := a.opts.Addresses.Remember(ctx, bookerID, chat.ToNonAD()); err != nil {
		a.log.Warn("whatsapp chat address not kept for notices", "err", err)
	}
}

// chatOf is the chat of a booker: without a Pseudonym the booker id is the
// address (a number, or a LID written "…@lid"); with one, the address book
// must know it.
func (a *Adapter) chatOf(ctx context.Context, bookerID string) (types.JID, error) {
	if a.opts.Pseudonym == nil {
		if user, ok := strings.CutSuffix(bookerID, "@"+types.HiddenUserServer); ok {
			return types.NewJID(user, types.HiddenUserServer), nil
		}
		return types.NewJID(bookerID, types.DefaultUserServer), nil
	}
	if a.opts.Addresses != nil {
		chat, ok, err := a.opts.Addresses.Chat(ctx, bookerID)
		if err != nil {
			return types.JID{}, fmt.Errorf("whatsapp: notify: address book: %w", err)
		}
		if ok {
			return chat, nil
		}
	}
	return types.JID{}, fmt.Errorf("whatsapp: notify: chat not known: %w", bot.ErrUndeliverable)
}

// Notify delivers a notice of the outbox to its caregiver's chat: the
// update goes to the handler in the caregiver's turn, after their earlier
// messages, and its replies go out through the adapter's send rate limit,
// options numbered as in every answer. It returns the id of the first
// message sent.
func (a *Adapter) Notify(ctx context.Context, u bot.Update) (string, error) {
	chat, err := a.chatOf(ctx, u.Booker.ID)
	if err != nil {
		return "", err
	}
	type result struct {
		id  string
		err error
	}
	done := make(chan result, 1)
	err = a.handler.Go(ctx, u.Booker, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, a.opts.MessageTimeout)
		defer cancel()
		id, err := a.notify(ctx, chat, u)
		done <- result{id, err}
	})
	if err != nil {
		return "", fmt.Errorf("whatsapp: notify: %w", err)
	}
	select {
	case r := <-done:
		return r.id, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// notify handles u and sends its replies, in the caregiver's turn.
func (a *Adapter) notify(ctx context.Context, chat types.JID, u bot.Update) (string, error) {
	res, err := a.handler.Handle(ctx, u)
	if err != nil {
		return "", fmt.Errorf("whatsapp: notify: %w", err)
	}
	if len(res.Replies) == 0 {
		return "", bot.ErrNoticeTaken
	}
	if k := res.Replies[0].Key; k == bot.KeyInternal || k == bot.KeyUnavailable {
		return "", fmt.Errorf("whatsapp: notify: handler answered %s", k)
	}
	first := ""
	for i, r := range res.Replies {
		id, err := a.sendID(ctx, chat, r, res.Lang, i == len(res.Replies)-1)
		if first == "" {
			first = id
		}
		if err != nil && first != "" {
			a.log.Warn("whatsapp notice partly sent; not repeated", "key", r.Key, "reply", i)
			return first, nil
		}
		if err != nil {
			return "", err
		}
	}
	return first, nil
}

// sendID is send returning the id of its first message.
func (a *Adapter) sendID(ctx context.Context, chat types.JID, r dialog.Reply, lang string, last bool) (string, error) {
	text := &waE2E.Message{Conversation: proto.String(renderText(r, lang, last))}
	if err := a.bucket.wait(ctx); err != nil {
		return "", err
	}
	resp, err := a.client.SendMessage(ctx, chat, text)
	if err != nil {
		return "", fmt.Errorf("whatsapp: send: %w", err)
	}
	rest := r
	rest.Text, rest.Options = "", nil
	if rest.Location != nil || rest.Calendar != nil {
		if err := a.sendAttachments(ctx, chat, rest); err != nil {
			return string(resp.ID), err
		}
	}
	return string(resp.ID), nil
}

// sendAttachments sends r's location and calendar file, as send does
// after the text.
func (a *Adapter) sendAttachments(ctx context.Context, chat types.JID, r dialog.Reply) error {
	var msgs []*waE2E.Message
	if l := r.Location; l != nil && (l.Lat != 0 || l.Lng != 0) {
		msgs = append(msgs, &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude: proto.Float64(l.Lat), DegreesLongitude: proto.Float64(l.Lng),
			Name: proto.String(l.Name), Address: proto.String(l.Address),
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

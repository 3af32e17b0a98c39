package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
)

// ErrNotLoggedIn is returned by NewClient when the device store holds no
// linked device: the operator runs `clinicbot whatsapp login` first.
var ErrNotLoggedIn = errors.New("whatsapp: no linked device; run `clinicbot whatsapp login`")

// Client is the part of *whatsmeow.Client the Adapter uses. Wrap makes one
// from a real client; tests use a recording fake.
type Client interface {
	Connect() error
	Disconnect()
	IsConnected() bool
	AddEventHandler(handler func(evt any)) uint32
	RemoveEventHandler(id uint32) bool

	SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message) (whatsmeow.SendResponse, error)
	Upload(ctx context.Context, data []byte, kind whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	SendChatPresence(ctx context.Context, chat types.JID, state types.ChatPresence, media types.ChatPresenceMedia) error
	MarkRead(ctx context.Context, ids []types.MessageID, at time.Time, chat, sender types.JID) error

	// PNForLID returns the phone-number JID of a hidden-user (@lid) JID, or
	// an empty JID when the mapping is not known.
	PNForLID(ctx context.Context, lid types.JID) (types.JID, error)
}

// Wrap adapts a real whatsmeow client to Client.
func Wrap(cli *whatsmeow.Client) Client { return meowClient{cli} }

type meowClient struct{ cli *whatsmeow.Client }

func (m meowClient) Connect() error    { return m.cli.Connect() }
func (m meowClient) Disconnect()       { m.cli.Disconnect() }
func (m meowClient) IsConnected() bool { return m.cli.IsConnected() }

func (m meowClient) AddEventHandler(handler func(evt any)) uint32 {
	return m.cli.AddEventHandler(handler)
}

func (m meowClient) RemoveEventHandler(id uint32) bool { return m.cli.RemoveEventHandler(id) }

func (m meowClient) SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message) (whatsmeow.SendResponse, error) {
	return m.cli.SendMessage(ctx, to, msg)
}

func (m meowClient) Upload(ctx context.Context, data []byte, kind whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	return m.cli.Upload(ctx, data, kind)
}

func (m meowClient) SendChatPresence(ctx context.Context, chat types.JID, state types.ChatPresence, media types.ChatPresenceMedia) error {
	return m.cli.SendChatPresence(ctx, chat, state, media)
}

func (m meowClient) MarkRead(ctx context.Context, ids []types.MessageID, at time.Time, chat, sender types.JID) error {
	return m.cli.MarkRead(ctx, ids, at, chat, sender)
}

func (m meowClient) PNForLID(ctx context.Context, lid types.JID) (types.JID, error) {
	return m.cli.Store.LIDs.GetPNForLID(ctx, lid)
}

// maxReconnectErrors caps whatsmeow's reconnect back-off (it waits two
// seconds per consecutive failure): at most a minute between attempts.
const maxReconnectErrors = 30

// NewClient returns a whatsmeow client for the device linked by Login, set to
// reconnect by itself after a dropped connection with a bounded back-off.
// It returns ErrNotLoggedIn when no device is linked.
func NewClient(ctx context.Context, container *sqlstore.Container, log *slog.Logger) (*whatsmeow.Client, error) {
	device, err := container.GetFirstDevice(ctx)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: load device: %w", err)
	}
	if device.ID == nil {
		return nil, ErrNotLoggedIn
	}
	cli := whatsmeow.NewClient(device, newMeowLog(log, "client"))
	cli.EnableAutoReconnect = true
	cli.AutoReconnectHook = func(error) bool {
		// The hook runs after each failed attempt, before the next delay is
		// computed from AutoReconnectErrors.
		cli.AutoReconnectErrors = min(cli.AutoReconnectErrors, maxReconnectErrors)
		return true
	}
	return cli, nil
}

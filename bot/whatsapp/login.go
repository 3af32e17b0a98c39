package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/mdp/qrterminal/v3"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store/sqlstore"
)

// Errors of Login.
var (
	// ErrAlreadyLoggedIn: the device store already holds a linked device.
	ErrAlreadyLoggedIn = errors.New("whatsapp: a device is already linked")
	// ErrLoginTimeout: no phone linked the device before the codes ran out.
	ErrLoginTimeout = errors.New("whatsapp: login timed out")
)

// LoginOptions says how to link the device.
type LoginOptions struct {
	// Phone, when set, links by pairing code for this number (international
	// format, digits only or with "+"), instead of by QR code.
	Phone string
	// Out is where the QR code or pairing code and the instructions go (the
	// operator's terminal).
	Out io.Writer
	// Log receives whatsmeow's own log lines.
	Log *slog.Logger
}

// Login links a new WhatsApp device, kept in container, to the caregivers'
// WhatsApp account: the `clinicbot whatsapp login` command. It shows a QR code
// in the terminal to scan under WhatsApp › Linked devices, or with
// opts.Phone a code to type there, and returns once the phone has linked the
// device. A store that already holds a device returns ErrAlreadyLoggedIn.
func Login(ctx context.Context, container *sqlstore.Container, opts LoginOptions) error {
	device, err := container.GetFirstDevice(ctx)
	if err != nil {
		return fmt.Errorf("whatsapp: load device: %w", err)
	}
	if device.ID != nil {
		return ErrAlreadyLoggedIn
	}
	cli := whatsmeow.NewClient(device, newMeowLog(opts.Log, "login"))
	return login(ctx, meowLogin{cli}, opts)
}

// loginClient is the part of *whatsmeow.Client that linking uses.
type loginClient interface {
	QRChannel(ctx context.Context) (<-chan whatsmeow.QRChannelItem, error)
	Connect() error
	Disconnect()
	PairPhone(ctx context.Context, phone string) (string, error)
}

type meowLogin struct{ cli *whatsmeow.Client }

func (m meowLogin) QRChannel(ctx context.Context) (<-chan whatsmeow.QRChannelItem, error) {
	return m.cli.GetQRChannel(ctx)
}
func (m meowLogin) Connect() error { return m.cli.Connect() }
func (m meowLogin) Disconnect()    { m.cli.Disconnect() }
func (m meowLogin) PairPhone(ctx context.Context, phone string) (string, error) {
	// The display name must be "Browser (OS)" with a browser and OS that
	// WhatsApp accepts, or the server answers 400.
	return m.cli.PairPhone(ctx, phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
}

func login(ctx context.Context, cli loginClient, opts LoginOptions) error {
	// The channel must exist before Connect: it listens for the QR events.
	ch, err := cli.QRChannel(ctx)
	if err != nil {
		return fmt.Errorf("whatsapp: login: %w", err)
	}
	if err := cli.Connect(); err != nil {
		return fmt.Errorf("whatsapp: login: connect: %w", err)
	}
	defer cli.Disconnect()
	paired := false
	for {
		var item whatsmeow.QRChannelItem
		select {
		case <-ctx.Done():
			return fmt.Errorf("whatsapp: login: %w", ctx.Err())
		case it, ok := <-ch:
			if !ok {
				return ErrLoginTimeout
			}
			item = it
		}
		switch {
		case item.Event == whatsmeow.QRChannelEventCode && opts.Phone == "":
			fmt.Fprintln(opts.Out, "Scan this code in WhatsApp › Settings › Linked devices › Link a device:")
			qrterminal.GenerateHalfBlock(item.Code, qrterminal.L, opts.Out)
		case item.Event == whatsmeow.QRChannelEventCode:
			// A code event means the login socket is up; the pairing code
			// is asked for once and stays valid until the QR codes run out.
			if paired {
				continue
			}
			code, err := cli.PairPhone(ctx, opts.Phone)
			if err != nil {
				return fmt.Errorf("whatsapp: login: pair phone: %w", err)
			}
			paired = true
			fmt.Fprintf(opts.Out, "In WhatsApp › Settings › Linked devices › Link with phone number, enter: %s\n", code)
		case item == whatsmeow.QRChannelSuccess:
			fmt.Fprintln(opts.Out, "Linked: this device now answers the caregivers' WhatsApp.")
			return nil
		case item == whatsmeow.QRChannelTimeout:
			return ErrLoginTimeout
		case item.Event == whatsmeow.QRChannelEventError:
			return fmt.Errorf("whatsapp: login: %w", item.Error)
		default:
			return fmt.Errorf("whatsapp: login: %s", item.Event)
		}
	}
}

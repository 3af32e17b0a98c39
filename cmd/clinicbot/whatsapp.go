package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot/whatsapp"
)

// whatsAppLeaseTTL is how long a crashed replica keeps the WhatsApp
// connection's lease; the adapter renews it every 10 seconds.
const whatsAppLeaseTTL = 30 * time.Second

// startWhatsApp connects the linked device and serves it in a goroutine
// that wg owns; fail receives the reason it stopped for good. With Redis
// the replicas share one lease, so only one holds the connection.
func (e *env) startWhatsApp(ctx context.Context, a *app, wg *sync.WaitGroup, fail func(error)) (*whatsapp.Adapter, error) {
	dialect, dsn := e.cfg.WhatsAppDB()
	container, err := whatsapp.OpenDeviceStore(ctx, dialect, dsn, e.log)
	if err != nil {
		return nil, exposed(err)
	}
	cli, err := whatsapp.NewClient(ctx, container, e.log)
	if err != nil {
		container.Close()
		if errors.Is(err, whatsapp.ErrNotLoggedIn) {
			return nil, fmt.Errorf("WHATSAPP_ENABLED is set but no device is linked: %w", err)
		}
		return nil, err
	}
	// Notices reach the caregivers who ever wrote, from any process: their
	// chats are kept, sealed, beside the device.
	const aadChat = "clinicbot/whatsapp/chat/v1"
	addresses, err := whatsapp.OpenAddressBook(ctx, dialect, dsn,
		func(b []byte) ([]byte, error) { return a.protector.Seal(b, aadChat) },
		func(b []byte) ([]byte, error) { return a.protector.Open(b, aadChat) })
	if err != nil {
		container.Close()
		return nil, err
	}
	opts := whatsapp.Options{
		Handler:        a.router,
		Log:            e.log,
		MessageTimeout: e.cfg.UpdateTimeout,
		// A caregiver's id is their phone number: keep only a pseudonym.
		Pseudonym: func(id string) string { return a.protector.BookerPseudonym(booking.ChannelWhatsApp, id) },
		Addresses: addresses,
	}
	if a.rdb != nil {
		opts.Lease = whatsapp.NewRedisLease(a.rdb, "clinicbot:whatsapp:lease", whatsAppLeaseTTL)
	}
	adapter := whatsapp.New(whatsapp.Wrap(cli), opts)
	wg.Go(func() {
		defer container.Close()
		defer addresses.Close()
		fail(adapter.Run(ctx))
	})
	e.log.Info("whatsapp serving")
	return adapter, nil
}

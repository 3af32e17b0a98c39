// Package bot is the channel-neutral router between chat adapters and the
// conversation engine: it hands each booker's updates to the engine one at a
// time and in order, takes each update into effect at most once, and keeps
// going whatever one update does. It knows no chat SDK type.
package bot

import (
	"context"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/dialog"
)

// Update is one inbound message from a chat adapter.
type Update struct {
	// Booker is who sent it.
	Booker booking.Booker
	// ID identifies the update for deduplication, unique per channel:
	// a Telegram update_id, a WhatsApp message id.
	ID string
	// Input is the message, free of SDK types.
	Input dialog.Input
}

// Handler handles one update and returns what to answer. *Router implements
// it; adapters depend on this interface only.
type Handler interface {
	Handle(ctx context.Context, u Update) (dialog.Result, error)
	// Go runs job when the booker's earlier updates and jobs are done, and
	// before any handed over later: an adapter hands it the handling and
	// answering of one update, so that one booker's replies go out in the
	// order the updates came. Per-booker ordering lives here, not in the
	// adapters.
	Go(ctx context.Context, b booking.Booker, job func(ctx context.Context)) error
}

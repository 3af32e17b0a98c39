package dialogtest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

// notices claims the outbox's notices due by the clock's time and hands
// each to the router, as the dispatcher in `clinicbot serve` does (update
// id "notice-N"), writing what the booker is sent; each is marked sent.
func (r *runner) notices() {
	ctx := context.Background()
	ob, ok := r.env.Service.Store.(booking.Outbox)
	if !ok {
		r.t.Fatalf("! notices: %T is not a booking.Outbox", r.env.Service.Store)
	}
	now := r.env.Clock.Now()
	ns, err := ob.ClaimNotices(ctx, booking.NoticeClaim{Owner: "transcript", At: now, Lease: time.Minute, Limit: 100})
	if err != nil {
		r.t.Fatalf("ClaimNotices() = %v", err)
	}
	if len(ns) == 0 {
		r.out.WriteString("< (no notice due)\n")
	}
	for _, n := range ns {
		r.out.WriteString(fmt.Sprintf("< (notice: %s to %s:%s)\n", n.Kind, n.Booking.Booker.Channel, n.Booking.Booker.ID))
		u := bot.Update{Booker: n.Booking.Booker, ID: fmt.Sprintf("notice-%d", n.ID),
			Input: dialog.Input{Kind: dialog.InputNotice, Notice: &n}}
		r.noticing = true
		r.answer(r.send(u))
		r.noticing = false
		if err := ob.NoticeSent(ctx, n.ID, "transcript", "", now); err != nil {
			r.t.Fatalf("NoticeSent() = %v", err)
		}
	}
}

// closeSlot closes the slot of the booking written ref (REF1, ...) as an
// operator would, for why.
func (r *runner) closeSlot(ref, why string) {
	ctx := context.Background()
	var real string
	for k, v := range r.refs {
		if v == ref {
			real = k
		}
	}
	if real == "" {
		r.t.Fatalf("! close: no booking %s yet", ref)
	}
	ss, ok := r.env.Service.Store.(booking.StaffStore)
	if !ok {
		r.t.Fatalf("! close: %T is not a booking.StaffStore", r.env.Service.Store)
	}
	bs, err := r.env.Service.Store.Bookings(ctx, booking.BookingQuery{})
	if err != nil {
		r.t.Fatalf("Bookings() = %v", err)
	}
	for _, b := range bs {
		if string(b.Reference) != real {
			continue
		}
		if _, err := ss.CloseSlot(ctx, booking.SlotChange{Actor: booking.StaffActor{Name: "operator"},
			SlotID: b.Slot.ID, Reason: why, At: r.env.Clock.Now()}); err != nil {
			r.t.Fatalf("CloseSlot() = %v", err)
		}
		return
	}
	r.t.Fatalf("! close: booking %s not found", ref)
}

// noticeToken is the token of a reminder's option id, which depends on the
// booking's random reference: transcripts show it as TOKEN.
var noticeToken = regexp.MustCompile(`^(r[kc]\.[^.]+\.[0-9]+\.)[0-9a-f]{16}$`)

// expand turns "prefix*" into the newest option offered with that prefix;
// any other id is itself.
func (r *runner) expand(id string) string {
	prefix, ok := strings.CutSuffix(id, "*")
	if !ok {
		return id
	}
	for i := len(r.offered) - 1; i >= 0; i-- {
		if strings.HasPrefix(r.offered[i], prefix) {
			return r.offered[i]
		}
	}
	r.t.Fatalf("no option offered starts %q", prefix)
	return ""
}

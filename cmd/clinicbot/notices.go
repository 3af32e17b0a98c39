package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

// cliActor is who the operator commands act as, in the staff audit.
var cliActor = booking.StaffActor{Name: "cli"}

// outbox is the core's store as the outbox of notices.
func (c *core) outbox() (booking.Outbox, error) {
	ob, ok := c.raw.(booking.Outbox)
	if !ok {
		return nil, fmt.Errorf("store %T keeps no outbox", c.raw)
	}
	return ob, nil
}

// slotRange is what `slots close` and `slots reopen` select: a clinic's
// (or video's) slots starting on a day, between two times.
type slotRange struct {
	service  booking.ServiceKind
	clinic   booking.ClinicID
	from, to time.Time
	reason   string
}

// parseSlotRange reads the flags of `slots close|reopen`.
func (e *env) parseSlotRange(name string, args []string, needReason bool) (slotRange, error) {
	fs := e.flags(name)
	clinic := fs.String("clinic", "", `the clinic's ID, or "video" for the video consultation service`)
	date := fs.String("date", "", "the day, Hong Kong time (YYYY-MM-DD)")
	from := fs.String("from", "00:00", "the first slot's start, at or after HH:MM")
	to := fs.String("to", "", "slots starting before HH:MM (default: the end of the day)")
	reason := fs.String("reason", "", "why, told to the people who booked")
	if err := parse(fs, args, 0); err != nil {
		return slotRange{}, err
	}
	loc := booking.HongKong()
	day, err := time.ParseInLocation(time.DateOnly, *date, loc)
	if err != nil {
		return slotRange{}, usagef("%s: --date %q: want YYYY-MM-DD", name, *date)
	}
	r := slotRange{service: booking.ServiceClinic, clinic: booking.ClinicID(*clinic), reason: strings.TrimSpace(*reason)}
	switch {
	case *clinic == "":
		return slotRange{}, usagef("%s: --clinic is required", name)
	case *clinic == "video":
		r.service, r.clinic = booking.ServiceVideo, ""
	}
	f, err := booking.ParseClock(*from)
	if err != nil {
		return slotRange{}, usagef("%s: --from %q: want HH:MM", name, *from)
	}
	t := 24 * time.Hour
	if *to != "" {
		if t, err = booking.ParseClock(*to); err != nil || t <= f {
			return slotRange{}, usagef("%s: --to %q: want HH:MM after --from", name, *to)
		}
	}
	if needReason && r.reason == "" {
		return slotRange{}, usagef("%s: --reason is required: it is told to the people who booked", name)
	}
	r.from, r.to = day.Add(f).UTC(), day.Add(t).UTC()
	return r, nil
}

// rangeSlots returns the slots r selects, or a usage error for a clinic
// that does not exist.
func rangeSlots(ctx context.Context, c *core, r slotRange) ([]booking.Slot, error) {
	if r.clinic != "" {
		if _, err := c.svc.Clinic(ctx, r.clinic); errors.Is(err, booking.ErrNotFound) {
			return nil, usagef("no clinic %q", r.clinic)
		}
	}
	return c.store.Slots(ctx, booking.SlotQuery{Service: r.service, ClinicID: r.clinic, From: r.from, To: r.to})
}

// slotsClose closes the slots of a clinic on a day: their bookings are
// cancelled, their places freed, and each booking's chat told why, with
// a "book again" button (through the outbox).
func (e *env) slotsClose(ctx context.Context, args []string) error {
	r, err := e.parseSlotRange("slots close", args, true)
	if err != nil {
		return err
	}
	c, ss, err := e.openStaff(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	slots, err := rangeSlots(ctx, c, r)
	if err != nil {
		return err
	}
	closed, cancelled, started := 0, 0, 0
	for _, sl := range slots {
		bs, err := ss.CloseSlot(ctx, booking.SlotChange{Actor: cliActor, SlotID: sl.ID, Reason: r.reason, At: e.now().UTC()})
		switch {
		case errors.Is(err, booking.ErrAppointmentStarted):
			started++
			continue
		case err != nil:
			return fmt.Errorf("close slot %d: %w", sl.ID, err)
		}
		closed++
		cancelled += len(bs)
	}
	fmt.Fprintf(e.stdout, "closed %d slot(s) of %d selected; cancelled %d booking(s), each chat told through the outbox", closed, len(slots), cancelled)
	if started > 0 {
		fmt.Fprintf(e.stdout, "; %d had started and were left as they were", started)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// slotsReopen gives the closed slots of a clinic on a day their places back.
func (e *env) slotsReopen(ctx context.Context, args []string) error {
	r, err := e.parseSlotRange("slots reopen", args, false)
	if err != nil {
		return err
	}
	c, ss, err := e.openStaff(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	slots, err := rangeSlots(ctx, c, r)
	if err != nil {
		return err
	}
	for _, sl := range slots {
		if err := ss.ReopenSlot(ctx, booking.SlotChange{Actor: cliActor, SlotID: sl.ID, Reason: r.reason, At: e.now().UTC()}); err != nil {
			return fmt.Errorf("reopen slot %d: %w", sl.ID, err)
		}
	}
	fmt.Fprintf(e.stdout, "reopened the closed slots among %d selected\n", len(slots))
	return nil
}

// bookingsCancel cancels one booking by its reference for an operator;
// the booking's chat is told why (through the outbox).
func (e *env) bookingsCancel(ctx context.Context, args []string) error {
	fs := e.flags("bookings cancel")
	reason := fs.String("reason", "", "why, told to the person who booked")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("bookings cancel: want: bookings cancel REF --reason TEXT")
	}
	ref := booking.Reference(strings.ToUpper(strings.TrimSpace(args[0])))
	if err := parse(fs, args[1:], 0); err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("bookings cancel: --reason is required: it is told to the person who booked")
	}
	c, ss, err := e.openStaff(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	bs, err := c.store.Bookings(ctx, booking.BookingQuery{From: e.now().UTC()})
	if err != nil {
		return err
	}
	for _, b := range bs {
		if b.Reference != ref {
			continue
		}
		got, err := ss.StaffCancel(ctx, booking.BookingChange{Actor: cliActor, BookingID: b.ID, Reason: strings.TrimSpace(*reason), At: e.now().UTC()})
		if err != nil {
			return fmt.Errorf("cancel %s: %w", ref, err)
		}
		if b.Status == booking.StatusCancelled {
			fmt.Fprintf(e.stdout, "%s was already cancelled\n", got.Reference)
			return nil
		}
		fmt.Fprintf(e.stdout, "cancelled %s (%s); its place is free and its chat is told through the outbox\n", got.Reference, got.PatientMasked)
		return nil
	}
	return fmt.Errorf("no booking %s whose appointment is still to come: %w", ref, booking.ErrNotFound)
}

// outboxStatus prints the outbox's counts and its oldest notice due and
// not yet sent.
func (e *env) outboxStatus(ctx context.Context, args []string) error {
	if err := parse(e.flags("outbox"), args, 0); err != nil {
		return err
	}
	c, err := e.openCore(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	ob, err := c.outbox()
	if err != nil {
		return err
	}
	now := e.now()
	n, err := ob.NoticeCounts(ctx, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "pending %d (of which sending %d)\nsent    %d\nfailed  %d\ndropped %d (reminders of bookings cancelled first)\n",
		n.Pending+n.Sending, n.Sending, n.Sent, n.Failed, n.Dropped)
	if n.OldestPending.IsZero() {
		fmt.Fprintln(e.stdout, "oldest pending: none due")
	} else {
		fmt.Fprintf(e.stdout, "oldest pending: due %s, %s ago\n",
			n.OldestPending.In(booking.HongKong()).Format("2006-01-02 15:04:05 MST"), now.Sub(n.OldestPending).Round(time.Second))
	}
	return nil
}

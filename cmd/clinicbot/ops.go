package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot/whatsapp"
	"github.com/clinicbot/clinicbot/internal/importer"
)

// migrate brings the PostgreSQL schema up to date (opening the store
// migrates it, under an advisory lock), and the WhatsApp device store's when
// WhatsApp is enabled. The embedded SQLite store migrates itself on every
// start, so there migrate only checks the file opens.
func (e *env) migrate(ctx context.Context, args []string) error {
	if err := parse(e.flags("migrate"), args, 0); err != nil {
		return err
	}
	store, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	if e.cfg.WhatsAppEnabled {
		dialect, dsn := e.cfg.WhatsAppDB()
		container, err := whatsapp.OpenDeviceStore(ctx, dialect, dsn, e.log)
		if err != nil {
			return exposed(err)
		}
		if err := container.Close(); err != nil {
			return fmt.Errorf("whatsapp: close device store: %w", err)
		}
	}
	fmt.Fprintln(e.stdout, "schema up to date")
	return nil
}

// whatsAppLogin links the WhatsApp device.
func (e *env) whatsAppLogin(ctx context.Context, args []string) error {
	fs := e.flags("whatsapp login")
	phone := fs.String("phone", "", "link by pairing code for this number (e.g. +85291234567) instead of a QR code")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	dialect, dsn := e.cfg.WhatsAppDB()
	container, err := whatsapp.OpenDeviceStore(ctx, dialect, dsn, e.log)
	if err != nil {
		return exposed(err)
	}
	defer container.Close()
	err = whatsapp.Login(ctx, container, whatsapp.LoginOptions{Phone: *phone, Out: e.stdout, Log: e.log})
	if errors.Is(err, whatsapp.ErrAlreadyLoggedIn) {
		fmt.Fprintln(e.stdout, "a WhatsApp device is already linked")
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "WhatsApp device linked; set WHATSAPP_ENABLED=true and run clinicbot serve")
	return nil
}

// readFile opens an import file and tells its format.
func readFile(name string) (*os.File, importer.Format, error) {
	format, err := importer.FormatOf(name)
	if err != nil {
		return nil, "", usagef("%v", err)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, "", err
	}
	return f, format, nil
}

// importClinics adds or updates the clinics of a file, all or none.
func (e *env) importClinics(ctx context.Context, args []string) error {
	fs := e.flags("clinics import")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	f, format, err := readFile(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	clinics, err := importer.ParseClinics(fs.Arg(0), format, f)
	if err != nil {
		return err
	}
	c, err := e.openCore(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.store.SaveClinics(ctx, clinics); err != nil {
		return fmt.Errorf("save clinics: %w", err)
	}
	fmt.Fprintf(e.stdout, "imported %d clinic(s)\n", len(clinics))
	return nil
}

// importSchedule adds or updates the slots of a file: every row is checked
// first, then one SaveSlots call stores them all or none.
func (e *env) importSchedule(ctx context.Context, args []string) error {
	fs := e.flags("schedule import")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	f, format, err := readFile(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := e.openCore(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	clinics, err := seedClinics(ctx, c.store)
	if err != nil {
		return err
	}
	slots, err := importer.ParseSchedule(fs.Arg(0), format, f, clinics, booking.HongKong())
	if err != nil {
		return err
	}
	saved, err := c.store.SaveSlots(ctx, slots)
	if err != nil {
		var ve *booking.ValidationError
		if errors.As(err, &ve) && ve.Field == "capacity" {
			return fmt.Errorf("nothing imported: a slot's new capacity is below the places already booked: %w", err)
		}
		return fmt.Errorf("nothing imported: %w", err)
	}
	fmt.Fprintf(e.stdout, "imported %d slot(s): %d new, %d updated, %d unchanged\n", len(slots), saved.Added, saved.Updated, saved.Unchanged)
	return nil
}

// generateSchedule opens the default slots on the days that have none.
func (e *env) generateSchedule(ctx context.Context, args []string) error {
	fs := e.flags("schedule generate")
	days := fs.Int("days", e.cfg.ScheduleDays, "how many days from today to cover")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *days < 1 || *days > 366 {
		return usagef("schedule generate: --days wants 1 to 366")
	}
	c, err := e.openCore(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	added, err := fillSchedule(ctx, c.store, e.now(), *days)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added %d slot(s) over the next %d day(s)\n", added, *days)
	return nil
}

// listBookings prints a day's bookings per clinic, for clinic staff. The
// patient appears only masked.
func (e *env) listBookings(ctx context.Context, args []string) error {
	fs := e.flags("bookings list")
	loc := booking.HongKong()
	date := fs.String("date", e.now().In(loc).Format(time.DateOnly), "the day, Hong Kong time (YYYY-MM-DD)")
	clinic := fs.String("clinic", "", "only this clinic's ID")
	service := fs.String("service", "", "only this service: clinic or video")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	day, err := time.ParseInLocation(time.DateOnly, *date, loc)
	if err != nil {
		return usagef("bookings list: --date %q: want YYYY-MM-DD", *date)
	}
	q := booking.BookingQuery{ClinicID: booking.ClinicID(*clinic), Service: booking.ServiceKind(*service), From: day.UTC(), To: day.AddDate(0, 0, 1).UTC()}
	if q.Service != "" && !q.Service.Valid() {
		return usagef("bookings list: --service %q: want clinic or video", *service)
	}
	c, err := e.openCore(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	clinics, err := c.store.Clinics(ctx)
	if err != nil {
		return err
	}
	names := make(map[booking.ClinicID]booking.Clinic, len(clinics))
	for _, cl := range clinics {
		names[cl.ID] = cl
	}
	if q.ClinicID != "" {
		if _, ok := names[q.ClinicID]; !ok {
			return usagef("bookings list: no clinic %q", *clinic)
		}
	}
	bookings, err := c.store.Bookings(ctx, q)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Bookings on %s (Hong Kong time): %d\n", day.Format("2006-01-02 Mon"), len(bookings))
	// Group by place, keeping the store's order (slot start) within each.
	type place struct {
		service booking.ServiceKind
		clinic  booking.ClinicID
	}
	var order []place
	groups := make(map[place][]booking.Booking)
	for _, b := range bookings {
		p := place{b.Slot.Service, b.Slot.ClinicID}
		if _, ok := groups[p]; !ok {
			order = append(order, p)
		}
		groups[p] = append(groups[p], b)
	}
	for _, p := range order {
		fmt.Fprintln(e.stdout)
		if p.service == booking.ServiceVideo {
			fmt.Fprintln(e.stdout, "視像診症服務 Video consultation")
		} else {
			cl := names[p.clinic]
			fmt.Fprintf(e.stdout, "%s %s [%s]\n", cl.Name.ZhHK, cl.Name.En, p.clinic)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, b := range groups[p] {
			fmt.Fprintf(tw, "  %s–%s\t%s\t%s\t%s\t%s\n",
				b.Slot.Start.In(loc).Format("15:04"), b.Slot.End.In(loc).Format("15:04"),
				b.Reference, b.PatientMasked, documentLabel(b.DocumentType), b.Status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func documentLabel(t booking.DocumentType) string {
	if t == booking.DocumentHKID {
		return "HKID"
	}
	return "other ID"
}

// purge removes the personal data of bookings whose appointment ended
// before the retention period.
func (e *env) purge(ctx context.Context, args []string) error {
	if err := parse(e.flags("purge"), args, 0); err != nil {
		return err
	}
	c, err := e.openCore(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	before := e.now().Add(-e.cfg.Retention.Duration())
	n, err := c.store.Purge(ctx, before)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed the personal data of %d booking(s) whose appointment ended before %s\n",
		n, before.In(booking.HongKong()).Format("2006-01-02 15:04 MST"))
	return nil
}

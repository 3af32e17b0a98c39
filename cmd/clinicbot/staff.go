package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/internal/health"
	"github.com/clinicbot/clinicbot/staff"
)

// staffStore is the core's store as the staff console's StaffStore.
func (c *core) staffStore() (booking.StaffStore, error) {
	ss, ok := c.raw.(booking.StaffStore)
	if !ok {
		return nil, fmt.Errorf("store %T keeps no staff accounts", c.raw)
	}
	return ss, nil
}

// openStaff opens the core for a staff command and its store as the
// console's StaffStore; the caller closes the core.
func (e *env) openStaff(ctx context.Context) (*core, booking.StaffStore, error) {
	c, err := e.openCore(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	ss, err := c.staffStore()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, ss, nil
}

// staffConsole builds the console over the core.
func (e *env) staffConsole(c *core) (*staff.Server, error) {
	ss, err := c.staffStore()
	if err != nil {
		return nil, err
	}
	return staff.New(staff.Options{
		Store:    c.store,
		Staff:    ss,
		Logger:   e.log,
		Now:      e.now,
		Insecure: loopbackAddr(e.cfg.HTTPAddr),
	})
}

// loopbackAddr reports whether addr listens on a loopback address only,
// where the console's cookies may go without TLS.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// staffAdd creates a console account and prints its one-time password, or
// takes the password from standard input.
func (e *env) staffAdd(ctx context.Context, args []string) error {
	fs := e.flags("staff add")
	clinic := fs.String("clinic", "", "the clinic's ID: the account sees only this clinic")
	admin := fs.Bool("admin", false, "the account sees every clinic and video consultation")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	// The name may come before the flags (flag stops at the first
	// argument that is not one) or after them.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
		if err := parse(fs, args, 0); err != nil {
			return err
		}
	} else {
		if err := parse(fs, args, 1); err != nil {
			return err
		}
		name = fs.Arg(0)
	}
	if (*clinic == "") == !*admin {
		return usagef("staff add: give exactly one of --clinic ID and --admin")
	}
	if strings.TrimSpace(name) != name || name == "" || len(name) > 64 {
		return usagef("staff add: NAME %q: want 1-64 characters without surrounding spaces", name)
	}
	password, shown := staff.NewPassword(), true
	if *fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the password: %w", err)
		}
		password, shown = strings.TrimRight(line, "\r\n"), false
	}
	hash, err := staff.HashPassword(password)
	if err != nil {
		return usagef("staff add: %v", err)
	}
	c, ss, err := e.openStaff(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	err = ss.AddStaff(ctx, booking.StaffAccount{Name: name, ClinicID: booking.ClinicID(*clinic), PasswordHash: hash, CreatedAt: e.now()})
	switch {
	case errors.Is(err, booking.ErrConflict):
		return fmt.Errorf("an account %q exists already", name)
	case errors.Is(err, booking.ErrNotFound):
		return usagef("staff add: no clinic %q", *clinic)
	case err != nil:
		return err
	}
	if shown {
		fmt.Fprintf(e.stdout, "added %s; password (shown once, give it in person): %s\n", name, password)
	} else {
		fmt.Fprintf(e.stdout, "added %s\n", name)
	}
	return nil
}

// staffList prints the accounts, never their hashes.
func (e *env) staffList(ctx context.Context, args []string) error {
	if err := parse(e.flags("staff list"), args, 0); err != nil {
		return err
	}
	c, ss, err := e.openStaff(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	accounts, err := ss.StaffAccounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSEES\tCREATED\tFAILED LOGINS")
	for _, a := range accounts {
		sees := string(a.ClinicID)
		if a.Admin() {
			sees = "all (admin)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", a.Name, sees, a.CreatedAt.In(booking.HongKong()).Format("2006-01-02 15:04"), a.Failures)
	}
	return tw.Flush()
}

// staffRemove removes an account and signs it out everywhere.
func (e *env) staffRemove(ctx context.Context, args []string) error {
	fs := e.flags("staff remove")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	c, ss, err := e.openStaff(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := ss.RemoveStaff(ctx, fs.Arg(0), e.now()); errors.Is(err, booking.ErrNotFound) {
		return fmt.Errorf("no account %q", fs.Arg(0))
	} else if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %s\n", fs.Arg(0))
	return nil
}

// staffServe serves only the staff console (with /healthz and /readyz) on
// HTTP_ADDR, for a back office that runs no bot, until ctx ends.
func (e *env) staffServe(ctx context.Context, args []string) error {
	if err := parse(e.flags("staff serve"), args, 0); err != nil {
		return err
	}
	c, err := e.openCore(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	console, err := e.staffConsole(c)
	if err != nil {
		return err
	}
	log := e.log
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", health.Live)
	mux.Handle("GET /readyz", &health.Checker{Checks: c.checks(), Timeout: 2 * time.Second, Logger: log.With("component", "health")})
	mux.Handle(staff.Prefix, console)
	mux.Handle("GET /{$}", http.RedirectHandler(staff.Prefix, http.StatusSeeOther))
	srv, ln, err := e.listen(ctx, mux)
	if err != nil {
		return err
	}
	log.Info("staff console listening", "addr", ln.Addr().String())
	var wg sync.WaitGroup
	served := make(chan error, 1)
	wg.Go(func() { served <- srv.Serve(ln) })
	select {
	case <-ctx.Done():
	case err := <-served:
		wg.Wait()
		return fmt.Errorf("http: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "error", err)
	}
	wg.Wait()
	log.Info("stopped")
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/clinicbot/clinicbot/internal/config"
	"github.com/clinicbot/clinicbot/internal/filemode"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command failed
	exitUsage   = 2 // bad command line or configuration, or data on disk refused (key, file modes)
)

// usageError is a bad command line: it is answered with the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// refusal is a start refused because of the data on disk or its key
// (exit 2): what is wrong and what the operator should do about it.
type refusal struct {
	what, todo string
	err        error // the cause, if any
}

func (r *refusal) Error() string { return r.what + ". What to do: " + r.todo }

func (r *refusal) Unwrap() error { return r.err }

// exposed turns a *filemode.ExposedError in err into a refusal that says
// what to run; other errors pass unchanged.
func exposed(err error) error {
	var ee *filemode.ExposedError
	if !errors.As(err, &ee) {
		return err
	}
	return &refusal{
		what: ee.Error() + ", and it holds personal data or keys",
		todo: "chmod 600 " + strings.Join(ee.Paths(), " "),
		err:  err,
	}
}

const usage = `clinicbot books, looks up and cancels clinic appointments for another person by chat.

Usage:
  clinicbot [serve] [--lang L]        serve Telegram and/or WhatsApp; with neither configured,
                                      chat in this terminal
  clinicbot chat [--lang L]           chat in this terminal (zh-HK, en or zh-CN)
  clinicbot migrate                   bring the PostgreSQL schema up to date
  clinicbot whatsapp login [--phone N]  link the WhatsApp device (QR code, or pairing code for N)
  clinicbot clinics import FILE       add or update clinics (.yaml, .yml, .json)
  clinicbot schedule import FILE      add or update slots (.csv, .yaml, .yml); all or nothing
  clinicbot schedule generate [--days N]  open the default slots on days that have none
  clinicbot bookings list [--date D] [--clinic ID] [--service clinic|video]
                                      a day's bookings per clinic, patients masked
  clinicbot bookings cancel REF --reason TEXT
                                      cancel a booking; its chat is told why
  clinicbot slots close --clinic ID --date D [--from HH:MM --to HH:MM] --reason TEXT
                                      close a clinic's (or "video") slots: their bookings are
                                      cancelled and each chat told, with "book again"
  clinicbot slots reopen --clinic ID --date D [--from HH:MM --to HH:MM]
                                      give closed slots their places back
  clinicbot outbox                    the notices: pending, sent, failed, and the oldest pending
  clinicbot purge                     remove the personal data of bookings past the retention
  clinicbot staff add NAME (--clinic ID | --admin) [--password-stdin]
                                      a staff console account; prints a one-time password
  clinicbot staff list                the staff console accounts
  clinicbot staff remove NAME         remove an account and end its sessions
  clinicbot staff serve               serve only the staff console (/staff/) on HTTP_ADDR

Configuration is read from environment variables only (see README.md).
`

// env is what one run of the program is given.
type env struct {
	cfg    config.Config
	log    *slog.Logger
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
}

// run runs the command in args and returns the exit code.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cfg, err := config.Load(environ)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "clinicbot: the configuration has %d problem(s):\n", len(ce.Problems))
			for _, p := range ce.Problems {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
		} else {
			fmt.Fprintf(stderr, "clinicbot: %v\n", err)
		}
		return exitUsage
	}
	cmd, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	// The terminal chat keeps the log quiet unless asked: it shares the
	// terminal with the conversation.
	level := slog.LevelInfo
	if cmd == "chat" || (cmd == "serve" && !cfg.Serves()) {
		level = slog.LevelWarn
	}
	e := &env{
		cfg:    cfg,
		log:    newLogger(cfg, stderr, cfg.Level(level)),
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		now:    time.Now,
	}
	err = e.dispatch(ctx, cmd, rest)
	var (
		ue *usageError
		rf *refusal
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "clinicbot: %v\n\n%s", err, usage)
		return exitUsage
	case errors.As(err, &rf):
		fmt.Fprintf(stderr, "clinicbot %s: refusing to start: %s.\n  What to do: %s\n", cmd, rf.what, rf.todo)
		return exitUsage
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case cmd == "serve" && cfg.Serves():
		// A service's failure is a log record like the rest of its output.
		e.log.Error("serve failed", "error", err)
		return exitFailure
	default:
		fmt.Fprintf(stderr, "clinicbot %s: %v\n", cmd, err)
		return exitFailure
	}
}

func (e *env) dispatch(ctx context.Context, cmd string, args []string) error {
	sub := func() (string, []string) {
		if len(args) == 0 {
			return "", nil
		}
		return args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return e.serve(ctx, args)
	case "chat":
		return e.chat(ctx, args)
	case "migrate":
		return e.migrate(ctx, args)
	case "whatsapp":
		if s, rest := sub(); s == "login" {
			return e.whatsAppLogin(ctx, rest)
		}
		return usagef("whatsapp: want: whatsapp login")
	case "clinics":
		if s, rest := sub(); s == "import" {
			return e.importClinics(ctx, rest)
		}
		return usagef("clinics: want: clinics import FILE")
	case "schedule":
		switch s, rest := sub(); s {
		case "import":
			return e.importSchedule(ctx, rest)
		case "generate":
			return e.generateSchedule(ctx, rest)
		}
		return usagef("schedule: want: schedule import FILE, or schedule generate")
	case "bookings":
		switch s, rest := sub(); s {
		case "list":
			return e.listBookings(ctx, rest)
		case "cancel":
			return e.bookingsCancel(ctx, rest)
		}
		return usagef("bookings: want: bookings list, or bookings cancel REF --reason TEXT")
	case "slots":
		switch s, rest := sub(); s {
		case "close":
			return e.slotsClose(ctx, rest)
		case "reopen":
			return e.slotsReopen(ctx, rest)
		}
		return usagef("slots: want: slots close, or slots reopen")
	case "outbox":
		return e.outboxStatus(ctx, args)
	case "purge":
		return e.purge(ctx, args)
	case "staff":
		switch s, rest := sub(); s {
		case "add":
			return e.staffAdd(ctx, rest)
		case "list":
			return e.staffList(ctx, rest)
		case "remove":
			return e.staffRemove(ctx, rest)
		case "serve":
			return e.staffServe(ctx, rest)
		}
		return usagef("staff: want: staff add, staff list, staff remove or staff serve")
	}
	return usagef("unknown command %q", cmd)
}

// flags returns a flag set for a command whose errors are usage errors.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses args into fs and wants exactly nargs arguments after the flags.
func parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() != nargs {
		return usagef("%s: want %d argument(s), got %d", fs.Name(), nargs, fs.NArg())
	}
	return nil
}

// newLogger logs to w: JSON when w is not a terminal (or LOG_FORMAT=json),
// text otherwise.
func newLogger(cfg config.Config, w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	jsonOut := cfg.LogFormat == "json" || (cfg.LogFormat == "auto" && !isTerminal(w))
	if jsonOut {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

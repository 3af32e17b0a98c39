// Package console is the terminal chat: one booker talking to clinicbot on
// standard input and output, through the same router and engine as the
// chat networks. Options are numbered; a number picks one, and typed text
// works wherever a number does. Input may be piped, so that a whole
// conversation can be scripted: each input line gets one reply block, and
// blocks are set apart by a separator line.
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

// Separator is the line that begins every reply block.
const Separator = "────────────────────────────────"

// Booker is the terminal's booker.
var Booker = booking.Booker{Channel: booking.ChannelConsole, ID: "local"}

// Chat is a terminal conversation.
type Chat struct {
	Handler bot.Handler
	// Booker defaults to Booker.
	Booker booking.Booker
	// Lang is the language of a new session ("zh-HK", "en", "zh-CN").
	Lang string
	In   io.Reader
	Out  io.Writer
	// Now stamps update IDs; nil means time.Now.
	Now func() time.Time
}

// Run opens with the main menu, then answers each line read until the end
// of input or until ctx ends; both end it cleanly with a nil error. An
// update the handler fails on is reported in its block and the chat goes on.
func (c *Chat) Run(ctx context.Context) error {
	if c.Handler == nil || c.In == nil || c.Out == nil {
		return errors.New("console: handler, input and output are required")
	}
	booker := c.Booker
	if booker == (booking.Booker{}) {
		booker = Booker
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	out := bufio.NewWriter(c.Out)
	// Update IDs must be unique across runs: the router may remember them
	// (in Redis) to drop redelivered updates.
	run := strconv.FormatInt(now().UnixNano(), 36)
	seq := 0
	var last dialog.Reply // the latest reply that offered options

	send := func(in dialog.Input) error {
		seq++
		in.LanguageHint = c.Lang
		u := bot.Update{Booker: booker, ID: "console-" + run + "-" + strconv.Itoa(seq), Input: in}
		res, err := c.Handler.Handle(ctx, u)
		fmt.Fprintln(out, Separator)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(out, "(error: %v)\n", err)
			return out.Flush()
		}
		// Numbers refer to the options of this answer only.
		last = dialog.Reply{}
		for i, r := range res.Replies {
			if i > 0 {
				fmt.Fprintln(out)
			}
			writeReply(out, r)
			if len(r.Options) > 0 {
				last = r
			}
		}
		return out.Flush()
	}

	if err := send(dialog.Input{Kind: dialog.InputText, Text: "/start"}); err != nil {
		return done(ctx, err)
	}
	lines := make(chan string)
	readErr := make(chan error, 1)
	// The reader may stay blocked on a terminal after ctx ends; it holds
	// nothing and ends with the process.
	go func() {
		sc := bufio.NewScanner(c.In)
		sc.Buffer(make([]byte, 0, 4096), 64*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if err != nil {
				return fmt.Errorf("console: read: %w", err)
			}
			return nil
		case line := <-lines:
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			if err := send(input(line, last)); err != nil {
				return done(ctx, err)
			}
		}
	}
}

func done(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// input turns a typed line into an Input: the number of an option offered
// by the latest reply presses that option; anything else is typed text.
func input(line string, last dialog.Reply) dialog.Input {
	if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(last.Options) {
		return dialog.Input{Kind: dialog.InputOption, Option: last.Options[n-1].ID, Nonce: last.Nonce}
	}
	return dialog.Input{Kind: dialog.InputText, Text: line}
}

// writeReply writes one reply: its text, its numbered options, and a note
// of any attachment.
func writeReply(w io.Writer, r dialog.Reply) {
	fmt.Fprintln(w, strings.TrimRight(r.Text, "\n"))
	for i, o := range r.Options {
		fmt.Fprintf(w, "  %d. %s\n", i+1, o.Label)
	}
	if r.Location != nil {
		l := r.Location
		fmt.Fprintf(w, "📍 %s", l.Name)
		if l.Address != "" {
			fmt.Fprintf(w, ", %s", l.Address)
		}
		if l.Lat != 0 || l.Lng != 0 {
			fmt.Fprintf(w, " https://www.google.com/maps/search/?api=1&query=%.6f,%.6f", l.Lat, l.Lng)
		}
		fmt.Fprintln(w)
	}
	if r.Calendar != nil {
		fmt.Fprintf(w, "📅 %s (%s, %d bytes)\n", r.Calendar.Name, r.Calendar.MIME, len(r.Calendar.Data))
	}
}

package dialog

import (
	"fmt"
	"strings"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// evLog: the booker asked who acted for the patient.
const evLog = "log"

// accessLogStep is "who acted for me", offered once the enquiry (B) has
// verified the patient: each action on the patient's bookings that the
// audit trail still holds, with its date and time, the channel and the
// acting chat masked, and the failed verifications counted. It ends the
// flow: the log is read on entry, before the answers are dropped.
func accessLogStep() step {
	st := menuStep("log", askAccessLog, "who acted for the patient")
	st.on = func(t *turn) (string, error) {
		log, err := t.e.svc.AccessLog(t.ctx, t.patient().Document)
		if err != nil {
			return "", fmt.Errorf("dialog: access log: %w", err)
		}
		t.accessLog = &log
		return "", nil
	}
	return st
}

func askAccessLog(t *turn) (Reply, error) {
	log := t.accessLog
	if log == nil {
		// Asked again once the patient's details are gone.
		r := t.reply("log.again", nil)
		r.Options = []Option{t.exitOption()}
		return r, nil
	}
	lang := t.s.Lang
	lines := make([]string, 0, len(log.Records)+2)
	for _, rec := range log.Records {
		lines = append(lines, t.text("log.line", map[string]any{
			"at":     locales.FormatDateTime(lang, t.local(rec.At)),
			"action": t.text("log.action."+string(rec.Action), nil),
			"who":    t.actor(rec.Booker),
		}))
	}
	if more := log.Total - len(log.Records); more > 0 {
		lines = append(lines, t.text("log.more", map[string]any{"n": more}))
	}
	if len(lines) == 0 {
		lines = append(lines, t.text("log.empty", nil))
	}
	if log.Failed > 0 {
		lines = append(lines, t.text("log.failed", map[string]any{
			"n": log.Failed, "at": locales.FormatDateTime(lang, t.local(log.LastFailed)),
		}))
	}
	r := t.reply("log.prompt", map[string]any{"list": strings.Join(lines, "\n")})
	r.Options = []Option{t.exitOption()}
	return r, nil
}

// actor names the chat that acted: its channel and its id masked, and
// whether it is this chat.
func (t *turn) actor(b booking.Booker) string {
	who := t.text("log.chat", map[string]any{"channel": t.text("channel."+string(b.Channel), nil), "chat": b.Masked()})
	if b == t.booker {
		who += t.text("log.self", nil)
	}
	return who
}

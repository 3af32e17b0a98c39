package dialog

import (
	"fmt"
	"strings"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// evLog: the booker asked who acted for the patient.
const evLog = "log"

// resultStep is the enquiry's result (B6): the booking, and "who acted
// for the patient". Unlike the other flows' last steps it keeps the
// patient's details, which the log is read with, until the booker leaves
// it; like them, it lets the booker go on to another flow.
func resultStep() step {
	shown := askBookingShown("enquiry.done", "enquiry.again", true)
	st := menuStep("result", func(t *turn) (Reply, error) {
		r, err := shown(t)
		if err == nil && t.s.Answers.DocNumber != "" {
			r.Options = append([]Option{{ID: optLog, Label: t.text("opt.log", nil)}}, r.Options...)
		}
		return r, err
	}, "B6 查詢完成")
	st.ends = false
	menu := st.opts
	st.opts = func(t *turn) ([]choice, error) {
		cs, err := menu(t)
		return append([]choice{{id: optLog, key: "opt.log"}}, cs...), err
	}
	st.read = func(t *turn) (string, error) {
		c, err := t.choose()
		if err != nil || c.id != optLog {
			return readMenu(t)
		}
		return evLog, nil
	}
	st.next[evLog] = "log"
	return st
}

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

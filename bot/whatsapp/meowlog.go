package whatsapp

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// meowLog sends whatsmeow's own log lines to slog. whatsmeow formats JIDs,
// which are phone numbers, into its lines: every run of five or more digits
// is masked. Its debug lines dump protocol nodes and are dropped.
type meowLog struct {
	log    *slog.Logger
	module string
}

func newMeowLog(log *slog.Logger, module string) waLog.Logger {
	return meowLog{log: log, module: module}
}

var digitRun = regexp.MustCompile(`[0-9]{5,}`)

// redactDigits masks every run of five or more digits.
func redactDigits(s string) string { return digitRun.ReplaceAllLiteralString(s, "#####") }

func (l meowLog) emit(level slog.Level, format string, args []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, "whatsmeow", "module", l.module,
		"detail", redactDigits(fmt.Sprintf(format, args...)))
}

func (l meowLog) Errorf(format string, args ...any) { l.emit(slog.LevelError, format, args) }
func (l meowLog) Warnf(format string, args ...any)  { l.emit(slog.LevelWarn, format, args) }
func (l meowLog) Infof(format string, args ...any)  { l.emit(slog.LevelInfo, format, args) }
func (l meowLog) Debugf(string, ...any)             {}

func (l meowLog) Sub(module string) waLog.Logger {
	return meowLog{log: l.log, module: l.module + "/" + module}
}

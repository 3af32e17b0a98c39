package telegram

import (
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/clinicbot/clinicbot/locales"
)

// The session languages (dialog.Result.Lang).
const (
	langZhHK = locales.ZhHK
	langEn   = locales.En
)

// catalog holds the adapter's own wording (keys telegram.*): what only a
// Telegram chat needs, said before or around the engine's answer. Everything
// about the flows comes from the engine.
var catalog = locales.MustLoad()

// Locale keys of the adapter's own wording.
const (
	keyPrivateOnly = "telegram.private_only"
	keyDeleted     = "telegram.deleted"
	keyStale       = "telegram.stale"
	keyUnsupported = "telegram.unsupported"
	keySlowDown    = "telegram.slow_down"
)

// say renders one of the adapter's own messages in lang.
func say(lang, key string) string { return catalog.Text(lang, key, nil) }

// commands are the engine's global commands, shown in Telegram's menu; each
// is described by the locale key telegram.command.<name>.
var commands = []string{"start", "back", "exit", "language", "help"}

// commandLanguages maps a setMyCommands language_code to the session
// language of its descriptions. Telegram matches the two-letter code only,
// so "zh" reaches Traditional and Simplified Chinese clients alike; in a Hong
// Kong service it gets Traditional (zh-HK), as does everyone else ("").
var commandLanguages = []struct{ code, lang string }{
	{"", langZhHK},
	{"en", langEn},
	{"zh", langZhHK},
}

func botCommands(lang string) []tgbotapi.BotCommand {
	out := make([]tgbotapi.BotCommand, len(commands))
	for i, c := range commands {
		out[i] = tgbotapi.BotCommand{Command: c, Description: say(lang, "telegram.command."+c)}
	}
	return out
}

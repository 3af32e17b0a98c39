package whatsapp

import (
	"strconv"
	"strings"

	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/locales"
)

// catalog holds the adapter's own wording (keys whatsapp.*): how to answer
// in a chat without buttons. The commands it names ("0", "選單") are this
// adapter's (see commandWords); the flows' wording comes from the engine.
var catalog = locales.MustLoad()

// Locale keys of the adapter's own wording.
const (
	keyAnswerOption = "whatsapp.answer_option"
	keyAnswerText   = "whatsapp.answer_text"
)

// renderText writes a reply as one WhatsApp text: the engine's text, its
// options as a numbered list (buttons and list messages do not show on
// linked-device accounts), and, when the caregiver is to answer it (last),
// how to answer.
func renderText(r dialog.Reply, lang string, last bool) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(r.Text, "\n"))
	if len(r.Options) > 0 {
		b.WriteString("\n")
		for i, o := range r.Options {
			b.WriteString("\n")
			b.WriteString(strconv.Itoa(i + 1))
			b.WriteString(". ")
			b.WriteString(o.Label)
		}
	}
	if last {
		hint := keyAnswerText
		if len(r.Options) > 0 {
			hint = keyAnswerOption
		}
		b.WriteString("\n\n")
		b.WriteString(catalog.Text(lang, hint, nil))
	}
	return b.String()
}

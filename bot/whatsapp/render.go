package whatsapp

import (
	"strconv"
	"strings"

	"github.com/clinicbot/clinicbot/dialog"
)

// text is one adapter wording in the three languages of dialog.Result.Lang.
type text struct{ zhHK, en, zhCN string }

func (t text) in(lang string) string {
	switch lang {
	case "en":
		return t.en
	case "zh-CN":
		return t.zhCN
	}
	return t.zhHK
}

// The adapter's own wording: how to answer in a chat without buttons. The
// commands it names ("0", "選單") are this adapter's (see commandWords), so
// the wording lives with them; the flows' wording comes from the engine.
var (
	textAnswerOption = text{
		zhHK: "請回覆選項的號碼或文字；回覆 0 返回上一步，回覆「選單」返回主選單。",
		en:   "Reply with the option's number or words; reply 0 to go back, or \"menu\" for the main menu.",
		zhCN: "请回复选项的号码或文字；回复 0 返回上一步，回复「菜单」返回主菜单。",
	}
	textAnswerText = text{
		zhHK: "回覆 0 返回上一步，回覆「選單」返回主選單。",
		en:   "Reply 0 to go back, or \"menu\" for the main menu.",
		zhCN: "回复 0 返回上一步，回复「菜单」返回主菜单。",
	}
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
		hint := textAnswerText
		if len(r.Options) > 0 {
			hint = textAnswerOption
		}
		b.WriteString("\n\n")
		b.WriteString(hint.in(lang))
	}
	return b.String()
}

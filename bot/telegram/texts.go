package telegram

import (
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/clinicbot/clinicbot/locales"
)

// The session languages (dialog.Result.Lang).
const (
	langZhHK = locales.ZhHK
	langEn   = locales.En
	langZhCN = locales.ZhCN
)

// text is one adapter wording in the three languages.
type text struct{ zhHK, en, zhCN string }

func (t text) in(lang string) string {
	switch lang {
	case langEn:
		return t.en
	case langZhCN:
		return t.zhCN
	}
	return t.zhHK
}

// The adapter's own wording: what only a Telegram chat needs, said before
// or around the engine's answer. Everything about the flows comes from the
// engine's catalog (package locales).
var (
	textPrivateOnly = text{
		zhHK: "為保障私隱，請私訊我（開啟與我的私人對話）來預約、查詢或取消診期。",
		en:   "To protect privacy, please message me in a private chat to book, enquire about or cancel an appointment.",
		zhCN: "为保障私隐，请私信我（开启与我的私人对话）来预约、查询或取消诊期。",
	}
	textDeleted = text{
		zhHK: "為保障私隱，我已刪除你剛才載有病人個人資料的訊息，以免共用這部電話的人看到。",
		en:   "To protect privacy, I deleted your message with the patient's personal data, so that others who use this phone cannot see it.",
		zhCN: "为保障私隐，我已删除你刚才载有病人个人资料的讯息，以免共用这部电话的人看到。",
	}
	textStale = text{
		zhHK: "這個按鈕已過時，請使用最新的訊息。",
		en:   "This button is out of date. Please use the latest message.",
		zhCN: "这个按钮已过时，请使用最新的讯息。",
	}
	textUnsupported = text{
		zhHK: "我只能讀取文字、按鈕和分享的聯絡人。",
		en:   "I can read only text, buttons and shared contacts.",
		zhCN: "我只能读取文字、按钮和分享的联络人。",
	}
	textShareContact = text{
		zhHK: "📱 傳送我的電話號碼",
		en:   "📱 Send my phone number",
		zhCN: "📱 发送我的电话号码",
	}
)

// command is one entry of the bot's command menu.
type command struct {
	name string
	desc text
}

// commands are the engine's global commands, shown in Telegram's menu.
var commands = []command{
	{"start", text{zhHK: "主選單", en: "Main menu", zhCN: "主菜单"}},
	{"back", text{zhHK: "返回上一步", en: "Go back one step", zhCN: "返回上一步"}},
	{"exit", text{zhHK: "離開目前的步驟", en: "Leave the current flow", zhCN: "离开目前的步骤"}},
	{"language", text{zhHK: "選擇語言", en: "Choose a language", zhCN: "选择语言"}},
	{"help", text{zhHK: "說明", en: "Help", zhCN: "说明"}},
}

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
		out[i] = tgbotapi.BotCommand{Command: c.name, Description: c.desc.in(lang)}
	}
	return out
}

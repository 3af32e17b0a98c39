package whatsapp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/clinicbot/clinicbot/dialog"
)

func TestTextInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"number", "2", "2"},
		{"number_spaced", "  2\n", "2"},
		{"full_width_number", "２", "２"}, // the engine folds width itself
		{"zero", "0", "/back"},
		{"full_width_zero", "０", "/back"},
		{"zero_spaced", " 0 ", "/back"},
		{"double_zero", "00", "00"},
		{"menu_en", "Menu", "/menu"},
		{"menu_en_upper", "MENU", "/menu"},
		{"menu_zh_hk", "選單", "/menu"},
		{"menu_zh_cn", "菜单", "/menu"},
		{"main_menu_zh_hk", "主選單", "/menu"},
		{"menu_in_sentence", "show menu", "show menu"},
		{"words", "為他人預約", "為他人預約"},
		{"hkid", "A123456(3)", "A123456(3)"},
		{"command", "/start", "/start"},
		{"empty", "   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := dialog.Input{Kind: dialog.InputText, Text: tt.want}
			if got := textInput(tt.in); got != want {
				t.Errorf("textInput(%q) = %+v, want %+v", tt.in, got, want)
			}
		})
	}
}

func TestMessageInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		msg    *waE2E.Message
		want   dialog.Input
		wantOK bool
	}{
		{"nil", nil, dialog.Input{}, false},
		{"conversation", &waE2E.Message{Conversation: proto.String("1")}, dialog.Input{Kind: dialog.InputText, Text: "1"}, true},
		{"extended_text", &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("menu")}}, dialog.Input{Kind: dialog.InputText, Text: "/menu"}, true},
		{"contact", &waE2E.Message{ContactMessage: &waE2E.ContactMessage{Vcard: proto.String("BEGIN:VCARD\r\nTEL;type=CELL:+85291234567\r\nEND:VCARD")}}, dialog.Input{Kind: dialog.InputContact, Phone: "+85291234567"}, true},
		{"contacts_array", &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{Contacts: []*waE2E.ContactMessage{
			{Vcard: proto.String("BEGIN:VCARD\nTEL:61234567\nEND:VCARD")},
			{Vcard: proto.String("BEGIN:VCARD\nTEL:98765432\nEND:VCARD")},
		}}}, dialog.Input{Kind: dialog.InputContact, Phone: "61234567"}, true},
		{"contact_without_number", &waE2E.Message{ContactMessage: &waE2E.ContactMessage{Vcard: proto.String("BEGIN:VCARD\nFN:A\nEND:VCARD")}}, dialog.Input{Kind: dialog.InputContact}, true},
		{"sticker", &waE2E.Message{StickerMessage: &waE2E.StickerMessage{}}, dialog.Input{Kind: dialog.InputText}, true},
		{"voice", &waE2E.Message{AudioMessage: &waE2E.AudioMessage{}}, dialog.Input{Kind: dialog.InputText}, true},
		{"reaction", &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍")}}, dialog.Input{}, false},
		{"protocol", &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{}}, dialog.Input{}, false},
		{"poll_vote", &waE2E.Message{PollUpdateMessage: &waE2E.PollUpdateMessage{}}, dialog.Input{}, false},
		{"empty", &waE2E.Message{}, dialog.Input{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := messageInput(tt.msg)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("messageInput() = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestVCardPhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, vcard, want string
	}{
		{"whatsapp", "BEGIN:VCARD\nVERSION:3.0\nN:;Chan;;;\nFN:Chan\nitem1.TEL;waid=85291234567:+852 9123 4567\nitem1.X-ABLabel:Mobile\nEND:VCARD", "+852 9123 4567"},
		{"crlf", "BEGIN:VCARD\r\nTEL;TYPE=CELL:9123 4567\r\nEND:VCARD\r\n", "9123 4567"},
		{"lone_cr", "BEGIN:VCARD\rTEL:91234567\rEND:VCARD", "91234567"},
		{"lower_case", "begin:vcard\ntel:91234567\nend:vcard", "91234567"},
		{"empty_first", "TEL:\nTEL:91234567", "91234567"},
		{"telephone_like_name", "TELEX:123\nX-TEL:456", ""},
		{"none", "BEGIN:VCARD\nFN:A\nEND:VCARD", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := vcardPhone(tt.vcard); got != tt.want {
				t.Errorf("vcardPhone(%q) = %q, want %q", tt.vcard, got, tt.want)
			}
		})
	}
}

func FuzzTextInput(f *testing.F) {
	for _, s := range []string{"0", "１", "menu", "選單", " 菜单 ", "A123456(3)", "1970/1/1", "", "\x00", "ＭＥＮＵ"} {
		f.Add(s)
	}
	commands := map[string]bool{}
	for _, c := range commandWords {
		commands[c] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := textInput(s)
		if in.Kind != dialog.InputText || in.Option != "" || in.Phone != "" {
			t.Fatalf("textInput(%q) = %+v: not plain text", s, in)
		}
		if in.Text != strings.TrimSpace(s) && !commands[in.Text] {
			t.Fatalf("textInput(%q).Text = %q: neither the trimmed text nor a command", s, in.Text)
		}
		if commands[in.Text] && in.Text != strings.TrimSpace(s) && textInput(in.Text).Text != in.Text {
			t.Fatalf("command %q does not read as itself", in.Text)
		}
	})
}

func FuzzVCardPhone(f *testing.F) {
	for _, s := range []string{"item1.TEL;waid=1:+852 9123 4567", "TEL:1\r\nTEL:2", ":::", "TEL", ".TEL:1", "a.b.TEL;x=y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := vcardPhone(s)
		if !strings.Contains(s, got) {
			t.Fatalf("vcardPhone(%q) = %q: not taken from the card", s, got)
		}
		if strings.ContainsAny(got, "\r\n") || got != strings.TrimSpace(got) {
			t.Fatalf("vcardPhone(%q) = %q: not one trimmed line", s, got)
		}
	})
}

func TestRenderText(t *testing.T) {
	t.Parallel()
	opts := []dialog.Option{{ID: "book", Label: "為他人預約"}, {ID: "enq", Label: "為他人查詢"}}
	tests := []struct {
		name  string
		reply dialog.Reply
		lang  string
		last  bool
		want  string
	}{
		{"options_last", dialog.Reply{Text: "請選擇：", Options: opts}, "zh-HK", true,
			"請選擇：\n\n1. 為他人預約\n2. 為他人查詢\n\n" + "請回覆選項的號碼或文字；回覆 0 返回上一步，回覆「選單」返回主選單。"},
		{"options_not_last", dialog.Reply{Text: "請選擇：\n", Options: opts}, "zh-HK", false,
			"請選擇：\n\n1. 為他人預約\n2. 為他人查詢"},
		{"text_prompt", dialog.Reply{Text: "請輸入病人的出生日期。"}, "zh-HK", true,
			"請輸入病人的出生日期。\n\n" + "回覆 0 返回上一步，回覆「選單」返回主選單。"},
		{"notice", dialog.Reply{Text: "已離開。"}, "zh-HK", false, "已離開。"},
		{"english", dialog.Reply{Text: "Choose:", Options: opts[:1]}, "en", true,
			"Choose:\n\n1. 為他人預約\n\n" + "Reply with the option's number or words; reply 0 to go back, or \"menu\" for the main menu."},
		{"simplified", dialog.Reply{Text: "请输入。"}, "zh-CN", true, "请输入。\n\n" + "回复 0 返回上一步，回复「菜单」返回主菜单。"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, renderText(tt.reply, tt.lang, tt.last)); diff != "" {
				t.Errorf("renderText() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHintsNameTheCommands: every language's hints name the words that
// commandWords maps, so what a caregiver is told works.
func TestHintsNameTheCommands(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		lang, menu string
	}{{"zh-HK", "選單"}, {"en", "menu"}, {"zh-CN", "菜单"}} {
		for _, key := range []string{keyAnswerOption, keyAnswerText} {
			s := catalog.Text(tt.lang, key, nil)
			if !strings.Contains(s, "0") || !strings.Contains(s, tt.menu) {
				t.Errorf("%s hint %q does not name 0 and %q", tt.lang, s, tt.menu)
			}
			if commandWords[tt.menu] != "/menu" || commandWords["0"] != "/back" {
				t.Errorf("%q or 0 is not a command word", tt.menu)
			}
		}
	}
}

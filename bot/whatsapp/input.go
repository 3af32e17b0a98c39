package whatsapp

import (
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"golang.org/x/text/width"

	"github.com/clinicbot/clinicbot/dialog"
)

// The words a caregiver types for the engine's global commands. Options are
// numbered from 1, so "0" is free to mean "back"; the engine resolves the
// option numbers and words itself.
var commandWords = map[string]string{
	"0":    "/back",
	"menu": "/menu",
	"選單":   "/menu",
	"菜单":   "/menu",
	"主選單":  "/menu",
	"主菜单":  "/menu",
}

// messageInput turns a WhatsApp message into the engine's input. ok is false
// for what is not written to the bot (reactions, edits, revocations, polls,
// protocol messages): those get no answer.
func messageInput(m *waE2E.Message) (in dialog.Input, ok bool) {
	if m == nil {
		return dialog.Input{}, false
	}
	if text := m.GetConversation(); text != "" {
		return textInput(text), true
	}
	if text := m.GetExtendedTextMessage().GetText(); text != "" {
		return textInput(text), true
	}
	if c := m.GetContactMessage(); c != nil {
		return dialog.Input{Kind: dialog.InputContact, Phone: vcardPhone(c.GetVcard())}, true
	}
	if cs := m.GetContactsArrayMessage().GetContacts(); len(cs) > 0 {
		return dialog.Input{Kind: dialog.InputContact, Phone: vcardPhone(cs[0].GetVcard())}, true
	}
	// Media carries nothing the engine can read, but a caregiver who sent it
	// is waiting for an answer: empty text makes the engine ask again.
	if m.ImageMessage != nil || m.VideoMessage != nil || m.AudioMessage != nil || m.DocumentMessage != nil ||
		m.StickerMessage != nil || m.LocationMessage != nil || m.LiveLocationMessage != nil || m.PtvMessage != nil {
		return dialog.Input{Kind: dialog.InputText}, true
	}
	return dialog.Input{}, false
}

// textInput reads typed text: a command word becomes the engine's command,
// anything else goes to the engine trimmed but otherwise as typed.
func textInput(s string) dialog.Input {
	s = strings.TrimSpace(s)
	if cmd, ok := commandWords[strings.ToLower(width.Fold.String(s))]; ok {
		return dialog.Input{Kind: dialog.InputText, Text: cmd}
	}
	return dialog.Input{Kind: dialog.InputText, Text: s}
}

// vcardPhone returns the first telephone number of a vCard (a shared
// contact), or "" when it has none. WhatsApp writes it as
// "item1.TEL;waid=85291234567:+852 9123 4567".
func vcardPhone(vcard string) string {
	// Lines end in CRLF, LF or (from some exporters) a lone CR.
	vcard = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(vcard)
	for line := range strings.Lines(vcard) {
		name, value, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, ";")
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:] // a group prefix such as "item1."
		}
		if strings.EqualFold(name, "TEL") {
			if v := strings.TrimSpace(value); v != "" {
				return v
			}
		}
	}
	return ""
}

package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/locales"
)

// allowedUpdates are the update kinds the bot asks Telegram for.
var allowedUpdates = []string{tgbotapi.UpdateTypeMessage, tgbotapi.UpdateTypeCallbackQuery}

// Telegram's limits.
const (
	maxCallbackData = 64   // bytes of callback_data
	maxText         = 4096 // characters (UTF-16 code units) of a message
	maxAlert        = 200  // characters of a callback query answer
	maxCaption      = 1024 // characters (UTF-16 code units) of a document's caption
)

// callbackSep separates the step nonce from the option ID in callback data.
const callbackSep = ":"

// staleKey is the key of the reply the engine puts first in its answer to a
// button from an older step; its Text is shown as an alert, the replies after
// it (the current step) are sent as usual.
const staleKey = "stale"

// callbackData encodes a button's callback data: the nonce, then the option.
func callbackData(nonce, option string) (string, error) {
	if strings.Contains(nonce, callbackSep) {
		return "", fmt.Errorf("telegram: nonce contains %q", callbackSep)
	}
	d := nonce + callbackSep + option
	if len(d) > maxCallbackData {
		return "", fmt.Errorf("telegram: callback data for option %q is %d bytes, over %d", option, len(d), maxCallbackData)
	}
	return d, nil
}

// parseCallback decodes callback data written by callbackData. Data without
// a separator is an option without a nonce (the engine treats it as stale).
func parseCallback(data string) (nonce, option string) {
	n, o, ok := strings.Cut(data, callbackSep)
	if !ok {
		return "", data
	}
	return n, o
}

func bookerOf(chatID int64) booking.Booker {
	return booking.Booker{Channel: booking.ChannelTelegram, ID: strconv.FormatInt(chatID, 10)}
}

// chatOf returns the chat an update belongs to, or false for kinds the bot
// does not handle.
func chatOf(u *tgbotapi.Update) (int64, bool) {
	switch {
	case u.Message != nil && u.Message.Chat != nil:
		return u.Message.Chat.ID, true
	case u.CallbackQuery != nil && u.CallbackQuery.Message != nil && u.CallbackQuery.Message.Chat != nil:
		return u.CallbackQuery.Message.Chat.ID, true
	}
	return 0, false
}

// handle handles one update to the end: errors are logged here, where they
// are handled, and never stop the next update.
func (b *Bot) handle(ctx context.Context, u tgbotapi.Update) {
	log := b.log.With("update_id", u.UpdateID)
	defer func() {
		// A panic would otherwise end the process, and Telegram would hand
		// the same update to the next one: a crash loop. Its value may hold
		// personal data, so only its type is logged.
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "update handling panicked", "panic_type", fmt.Sprintf("%T", p))
		}
	}()
	if b.turnedAway(ctx, log, u) {
		return
	}
	switch {
	case u.Message != nil:
		b.handleMessage(ctx, log, u.UpdateID, u.Message)
	case u.CallbackQuery != nil:
		b.handleCallback(ctx, log, u.UpdateID, u.CallbackQuery)
	default:
		log.DebugContext(ctx, "update ignored", "reason", "kind")
	}
}

func (b *Bot) handleMessage(ctx context.Context, log *slog.Logger, updateID int, m *tgbotapi.Message) {
	if m.Chat == nil || m.From == nil || m.From.IsBot {
		log.DebugContext(ctx, "update ignored", "reason", "sender")
		return
	}
	chatID := m.Chat.ID
	log = log.With("chat_id", chatID)
	if !m.Chat.IsPrivate() {
		b.sendNotice(ctx, log, chatID, say(locales.Match(m.From.LanguageCode), keyPrivateOnly))
		return
	}
	// In a private chat only the booker writes; a contact they share may be
	// someone else's (the patient's), so its user_id is not checked.
	if m.From.ID != chatID {
		log.WarnContext(ctx, "update ignored", "reason", "sender_not_chat")
		return
	}
	in := dialog.Input{LanguageHint: m.From.LanguageCode}
	switch {
	case m.Contact != nil && m.Contact.PhoneNumber != "":
		in.Kind, in.Phone = dialog.InputContact, m.Contact.PhoneNumber
	case m.Text != "":
		in.Kind, in.Text = dialog.InputText, m.Text
	default:
		b.sendNotice(ctx, log, chatID, say(locales.Match(m.From.LanguageCode), keyUnsupported))
		return
	}
	booker := bookerOf(chatID)
	ctx = b.withStanding(ctx, chatID)
	res, err := b.handler.Handle(ctx, bot.Update{Booker: booker, ID: strconv.Itoa(updateID), Input: in})
	if err != nil {
		log.ErrorContext(ctx, "handle update", "error", err)
		return
	}
	replies := res.Replies
	if res.Sensitive {
		// The message holds the patient's identity document number or date
		// of birth: it must not stay on a phone that others may use. The
		// booker is told so once a conversation: three notices in one
		// booking would bury the questions.
		_, err := b.request(ctx, "deleteMessage", tgbotapi.NewDeleteMessage(chatID, m.MessageID))
		switch {
		case err != nil && !errors.Is(err, ErrMessageGone):
			log.ErrorContext(ctx, "delete sensitive message", "error", err)
		case res.FirstSensitive:
			notice := dialog.Reply{Key: keyDeleted, Text: say(res.Lang, keyDeleted)}
			replies = append([]dialog.Reply{notice}, replies...)
		}
	}
	b.deliver(ctx, log, booker, chatID, nil, false, replies, res.Lang)
}

func (b *Bot) handleCallback(ctx context.Context, log *slog.Logger, updateID int, q *tgbotapi.CallbackQuery) {
	chatID, ok := chatOf(&tgbotapi.Update{CallbackQuery: q})
	if !ok || q.From == nil {
		b.answer(ctx, log, q.ID, "")
		return
	}
	log = log.With("chat_id", chatID)
	if !q.Message.Chat.IsPrivate() {
		b.answer(ctx, log, q.ID, say(locales.Match(q.From.LanguageCode), keyPrivateOnly))
		return
	}
	nonce, option := parseCallback(q.Data)
	booker := bookerOf(chatID)
	in := dialog.Input{Kind: dialog.InputOption, Option: option, Nonce: nonce, LanguageHint: q.From.LanguageCode}
	ctx = b.withStanding(ctx, chatID)
	res, err := b.handler.Handle(ctx, bot.Update{Booker: booker, ID: strconv.Itoa(updateID), Input: in})
	if err != nil {
		b.answer(ctx, log, q.ID, "")
		log.ErrorContext(ctx, "handle update", "error", err)
		return
	}
	replies := res.Replies
	if len(replies) > 0 && replies[0].Key == staleKey {
		// The current step comes as a new message: editing it into the old
		// one would leave two live copies.
		b.answer(ctx, log, q.ID, alertText(replies[0].Text, res.Lang))
		b.deliver(ctx, log, booker, chatID, q.Message, false, replies[1:], res.Lang)
		return
	}
	if res.Retract && len(replies) > 0 && !replies[0].Replace {
		// The pressed message said the patient's date of birth back: it is
		// edited into the first reply, which costs no more calls than
		// removing its keyboard would, and leaves no copy in the chat.
		replies = slices.Clone(replies)
		replies[0].Replace = true
	}
	b.answer(ctx, log, q.ID, "")
	b.deliver(ctx, log, booker, chatID, q.Message, true, replies, res.Lang)
}

// joined returns replies with each reply that is text alone joined to the
// head of the next, so that one answer costs one message (Telegram's send
// budget is the service's capacity): a greeting and the menu, a notice and
// the next question. A reply with options or attachments ends a message;
// texts that together would be too long for one stay apart.
func joined(replies []dialog.Reply) []dialog.Reply {
	out := make([]dialog.Reply, 0, len(replies))
	for _, r := range replies {
		if n := len(out); n > 0 {
			prev := out[n-1]
			text := prev.Text + "\n\n" + r.Text
			if len(prev.Options) == 0 && prev.Calendar == nil && prev.Location == nil && prev.Text != "" && r.Text != "" &&
				utf16Len(text) <= maxText {
				r.Text, r.Replace = text, prev.Replace
				out[n-1] = r
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// alertText is text fitted to a callback alert (200 characters), or the
// adapter's own stale-button text when there is none.
func alertText(text, lang string) string {
	if text == "" {
		return say(lang, keyStale)
	}
	if r := []rune(text); len(r) > maxAlert {
		return string(r[:maxAlert-1]) + "…"
	}
	return text
}

// answer answers a callback query: with alert shown as an alert, or with
// nothing (which stops the button's spinner).
func (b *Bot) answer(ctx context.Context, log *slog.Logger, queryID, alert string) {
	cfg := tgbotapi.CallbackConfig{CallbackQueryID: queryID, Text: alert, ShowAlert: alert != ""}
	if _, err := b.request(ctx, "answerCallbackQuery", cfg); err != nil {
		log.WarnContext(ctx, "answer callback query", "error", err)
	}
}

// sendNotice sends one of the adapter's own texts.
func (b *Bot) sendNotice(ctx context.Context, log *slog.Logger, chatID int64, text string) {
	cfg := tgbotapi.NewMessage(chatID, text)
	if _, err := b.message(ctx, chatID, "sendMessage", cfg); err != nil {
		log.ErrorContext(ctx, "send notice", "error", err)
	}
}

// deliver sends the replies to chat, one limited call for each in the
// normal flow: pressed is the message whose button was pressed, or nil;
// when mayEdit, a first reply that replaces the prompt is edited into it,
// and otherwise sent as a new message. The pressed prompt keeps its
// keyboard: removing it would cost a second call for every press, and a
// button of an older step is answered as stale. A booker who blocked the
// bot is forgotten and sent nothing more.
func (b *Bot) deliver(ctx context.Context, log *slog.Logger, booker booking.Booker, chatID int64, pressed *tgbotapi.Message, mayEdit bool, replies []dialog.Reply, lang string) {
	if len(replies) == 1 && replies[0].Key == bot.KeyBusy {
		// The router asks a newcomer to come back: said ahead of other
		// newcomers' answers, as waiting in silence is what it spares them.
		_, err := b.messageAs(ctx, chatID, bot.InConversation, "sendMessage", tgbotapi.NewMessage(chatID, replies[0].Text))
		if !b.blocked(ctx, log, booker, err) && err != nil {
			log.ErrorContext(ctx, "send waiting message", "error", err)
		}
		return
	}
	replies = joined(replies)
	edit := mayEdit && pressed != nil && pressed.Text != "" && len(replies) > 0 && replies[0].Replace && editable(replies[0])
	for i, r := range replies {
		var err error
		if i == 0 && edit {
			err = b.editReply(ctx, chatID, pressed.MessageID, r)
			if errors.Is(err, ErrMessageGone) {
				err = b.sendReply(ctx, chatID, r, lang)
			}
		} else {
			err = b.sendReply(ctx, chatID, r, lang)
		}
		if b.blocked(ctx, log, booker, err) {
			return
		}
		if errors.Is(err, errNewcomerWaited) {
			// Said instead of the answer: the conversation the newcomer
			// started waits for them, as a chat does.
			log.DebugContext(ctx, "newcomer asked to come back", "reason", "send_budget_wait", "key", r.Key)
			b.tellBusy(ctx, log, chatID, lang)
			return
		}
		if err != nil {
			log.ErrorContext(ctx, "send reply", "key", r.Key, "error", err)
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// blocked reports whether err says the booker blocked the bot, and if so
// forgets their session.
func (b *Bot) blocked(ctx context.Context, log *slog.Logger, booker booking.Booker, err error) bool {
	if !errors.Is(err, ErrForbidden) {
		return false
	}
	log.InfoContext(ctx, "booker blocked the bot; forgetting the session")
	if b.forgetter != nil {
		if err := b.forgetter.Forget(ctx, booker); err != nil {
			log.ErrorContext(ctx, "forget blocked booker", "error", err)
		}
	}
	return true
}

// editable reports whether r can be edited into an earlier message: one
// message's worth of text, with at most an inline keyboard.
func editable(r dialog.Reply) bool {
	return r.Text != "" && utf16Len(r.Text) <= maxText
}

// inlineKeyboard renders r's options, one button a row, or returns nil.
func inlineKeyboard(r dialog.Reply) (*tgbotapi.InlineKeyboardMarkup, error) {
	if len(r.Options) == 0 {
		return nil, nil
	}
	rows := make([][]tgbotapi.InlineKeyboardButton, len(r.Options))
	for i, o := range r.Options {
		data, err := callbackData(r.Nonce, o.ID)
		if err != nil {
			return nil, err
		}
		rows[i] = tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(o.Label, data))
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &kb, nil
}

// markup is the reply_markup of r's (last) message: the options, else the
// removal of any reply keyboard left in the chat (earlier releases offered
// a contact-sharing one).
func markup(r dialog.Reply) (any, error) {
	kb, err := inlineKeyboard(r)
	switch {
	case err != nil:
		return nil, err
	case kb != nil:
		return kb, nil
	}
	return tgbotapi.NewRemoveKeyboard(false), nil
}

func (b *Bot) editReply(ctx context.Context, chatID int64, messageID int, r dialog.Reply) error {
	kb, err := inlineKeyboard(r)
	if err != nil {
		return err
	}
	cfg := tgbotapi.NewEditMessageText(chatID, messageID, r.Text)
	cfg.ReplyMarkup = kb // nil removes the old keyboard
	if _, err := b.message(ctx, chatID, "editMessageText", cfg); err != nil && !errors.Is(err, ErrNotModified) {
		return err
	}
	return b.sendAttachments(ctx, chatID, r)
}

func (b *Bot) sendReply(ctx context.Context, chatID int64, r dialog.Reply, lang string) error {
	mk, err := markup(r)
	if err != nil {
		return err
	}
	if r.Text == "" && len(r.Options) > 0 {
		return fmt.Errorf("telegram: reply %q has a keyboard but no text", r.Key)
	}
	if r.Calendar != nil && r.Text != "" && utf16Len(r.Text) <= maxCaption {
		// The calendar file carries the text as its caption: one message
		// where two were sent.
		cfg := tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: r.Calendar.Name, Bytes: r.Calendar.Data})
		cfg.Caption, cfg.ReplyMarkup = r.Text, mk
		if _, err := b.message(ctx, chatID, "sendDocument", cfg); err != nil {
			return err
		}
		r.Calendar = nil
		return b.sendAttachments(ctx, chatID, r)
	}
	chunks := splitText(r.Text, maxText)
	for i, c := range chunks {
		cfg := tgbotapi.NewMessage(chatID, c)
		if i == len(chunks)-1 {
			cfg.ReplyMarkup = mk
		}
		if _, err := b.message(ctx, chatID, "sendMessage", cfg); err != nil {
			return err
		}
	}
	return b.sendAttachments(ctx, chatID, r)
}

// sendAttachments sends r's calendar file as a document and its place as a
// venue, or as text when only its address is known.
func (b *Bot) sendAttachments(ctx context.Context, chatID int64, r dialog.Reply) error {
	if f := r.Calendar; f != nil {
		cfg := tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: f.Name, Bytes: f.Data})
		if _, err := b.message(ctx, chatID, "sendDocument", cfg); err != nil {
			return err
		}
	}
	l := r.Location
	if l == nil {
		return nil
	}
	var c tgbotapi.Chattable
	method := "sendVenue"
	switch {
	case l.Lat != 0 || l.Lng != 0:
		address := l.Address
		if address == "" {
			address = l.Name // Telegram requires one
		}
		c = tgbotapi.NewVenue(chatID, l.Name, address, l.Lat, l.Lng)
	case l.Address != "":
		c, method = tgbotapi.NewMessage(chatID, l.Name+"\n"+l.Address), "sendMessage"
	default:
		return nil // nothing to show beyond the name the reply gave
	}
	_, err := b.message(ctx, chatID, method, c)
	return err
}

// A newcomer whose answer would wait longer than busyAfter for Telegram's
// send budget is asked to come back instead of starting a conversation
// that the bookers already in one would wait behind; told once every
// busyEvery at most, their other updates meanwhile are dropped.
const (
	busyAfter = 3 * time.Second
	busyEvery = time.Minute
)

// standing is where chat's booker stands, InConversation when no Stander
// is known.
func (b *Bot) standing(chatID int64) bot.Standing {
	if b.stander == nil {
		return bot.InConversation
	}
	return b.stander.Standing(bookerOf(chatID))
}

// turnedAway answers u, and reports true, when it is a newcomer's and the
// send budget is short (tellBusy); a button's spinner is stopped all the
// same.
func (b *Bot) turnedAway(ctx context.Context, log *slog.Logger, u tgbotapi.Update) bool {
	chatID, ok := chatOf(&u)
	if !ok || !b.busyFor(chatID) {
		return false
	}
	b.turnAway(ctx, log, chatID, u)
	return true
}

// busyFor reports whether chat's booker is a newcomer and the send budget
// short.
func (b *Bot) busyFor(chatID int64) bool {
	return b.standing(chatID) == bot.Newcomer && b.limiter.backlog() > busyAfter
}

// turnAway answers u, of chat, with the waiting message (tellBusy), and
// stops a button's spinner.
func (b *Bot) turnAway(ctx context.Context, log *slog.Logger, chatID int64, u tgbotapi.Update) {
	log = log.With("chat_id", chatID)
	log.DebugContext(ctx, "newcomer asked to come back", "reason", "send_budget")
	if u.CallbackQuery != nil {
		b.answer(ctx, log, u.CallbackQuery.ID, "")
	}
	b.tellBusy(ctx, log, chatID, locales.Match(languageOf(&u)))
}

// tellBusy sends chat the waiting message, ahead of newcomers' messages,
// unless it was sent less than busyEvery ago.
func (b *Bot) tellBusy(ctx context.Context, log *slog.Logger, chatID int64, lang string) {
	now := b.limiter.now()
	b.mu.Lock()
	if len(b.told) > sweepAbove {
		for c, at := range b.told {
			if now.Sub(at) >= busyEvery {
				delete(b.told, c)
			}
		}
	}
	tell := now.Sub(b.told[chatID]) >= busyEvery
	if tell {
		b.told[chatID] = now
	}
	b.mu.Unlock()
	if !tell {
		return
	}
	cfg := tgbotapi.NewMessage(chatID, say(lang, bot.KeyBusy))
	if _, err := b.messageAs(ctx, chatID, bot.InConversation, "sendMessage", cfg); err != nil {
		log.ErrorContext(ctx, "send waiting message", "error", err)
	}
}

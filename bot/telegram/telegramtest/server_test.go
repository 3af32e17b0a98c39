package telegramtest_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
)

// client talks to srv through the real tgbotapi client.
func client(t *testing.T, srv *telegramtest.Server) *tgbotapi.BotAPI {
	t.Helper()
	api, err := tgbotapi.NewBotAPIWithClient(srv.Token, srv.Endpoint(), http.DefaultClient)
	if err != nil {
		t.Fatalf("NewBotAPIWithClient: %v", err)
	}
	return api
}

func apiError(t *testing.T, err error) *tgbotapi.Error {
	t.Helper()
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v is not a *tgbotapi.Error", err)
	}
	return te
}

func TestWrongToken(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t)
	_, err := tgbotapi.NewBotAPIWithClient("1:wrong", srv.Endpoint(), http.DefaultClient)
	if te := apiError(t, err); te.Code != http.StatusUnauthorized {
		t.Errorf("code = %d, want 401", te.Code)
	}
}

func TestServerValidates(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t)
	api := client(t, srv)
	const chat = 10
	srv.SendText(chat, "hi") // the chat exists from now on

	keyboard := func(data string) tgbotapi.InlineKeyboardMarkup {
		return tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("B", data)))
	}
	msg := func(text string, data string) tgbotapi.MessageConfig {
		m := tgbotapi.NewMessage(chat, text)
		if data != "" {
			m.ReplyMarkup = keyboard(data)
		}
		return m
	}
	first, err := api.Send(msg("prompt", "n1:ok"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	sameEdit := tgbotapi.NewEditMessageTextAndMarkup(chat, first.MessageID, "prompt", keyboard("n1:ok"))
	tests := []struct {
		name string
		c    tgbotapi.Chattable
		want string // description; "" for success
	}{
		{"unknown_chat", tgbotapi.NewMessage(99, "x"), "Bad Request: chat not found"},
		{"empty_text", msg(" ", ""), "Bad Request: message text is empty"},
		{"text_4096", msg(strings.Repeat("a", 4096), ""), ""},
		{"text_4097", msg(strings.Repeat("a", 4097), ""), "Bad Request: message is too long"},
		{"text_counts_utf16", msg(strings.Repeat("😀", 2049), ""), "Bad Request: message is too long"},
		{"data_64", msg("x", strings.Repeat("d", 64)), ""},
		{"data_65", msg("x", strings.Repeat("d", 65)), "Bad Request: BUTTON_DATA_INVALID"},
		{"edit_unknown", tgbotapi.NewEditMessageText(chat, 999, "x"), "Bad Request: message to edit not found"},
		{"edit_same", sameEdit, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"},
		{"delete_unknown", tgbotapi.NewDeleteMessage(chat, 999), "Bad Request: message to delete not found"},
		{"callback_unknown", tgbotapi.NewCallback("nope", ""), "Bad Request: query is too old and response timeout expired or query ID is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.Request(tt.c)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Request = %v, want success", err)
			case tt.want != "":
				if te := apiError(t, err); te.Code != http.StatusBadRequest || te.Message != tt.want {
					t.Errorf("Request = %d %q, want 400 %q", te.Code, te.Message, tt.want)
				}
			}
		})
	}
}

func TestGetUpdatesOffset(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t)
	api := client(t, srv)
	a, b, c := srv.SendText(1, "a"), srv.SendText(2, "b"), srv.SendText(1, "c")

	ids := func(us []tgbotapi.Update) []int {
		var out []int
		for _, u := range us {
			out = append(out, u.UpdateID)
		}
		return out
	}
	got, err := api.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil {
		t.Fatalf("GetUpdates: %v", err)
	}
	if diff := cmp.Diff([]int{a, b, c}, ids(got)); diff != "" {
		t.Errorf("first poll (-want +got):\n%s", diff)
	}
	// Polling again without an offset confirms nothing.
	if diff := cmp.Diff([]int{a, b, c}, srv.Pending()); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	got, err = api.GetUpdates(tgbotapi.UpdateConfig{Offset: b})
	if err != nil {
		t.Fatalf("GetUpdates: %v", err)
	}
	if diff := cmp.Diff([]int{b, c}, ids(got)); diff != "" {
		t.Errorf("poll from b (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{b, c}, srv.Pending()); diff != "" {
		t.Errorf("pending after offset b (-want +got):\n%s", diff)
	}
	// A long poll returns as soon as an update arrives.
	done := make(chan []tgbotapi.Update)
	go func() {
		us, err := api.GetUpdates(tgbotapi.UpdateConfig{Offset: c + 1, Timeout: 30})
		if err != nil {
			t.Errorf("GetUpdates: %v", err)
		}
		done <- us
	}()
	d := srv.SendText(3, "d")
	if diff := cmp.Diff([]int{d}, ids(<-done)); diff != "" {
		t.Errorf("long poll (-want +got):\n%s", diff)
	}
	if got[0].Message.Text != "b" || got[0].Message.Chat.ID != 2 || got[0].Message.From.ID != 2 {
		t.Errorf("update b = %+v", got[0].Message)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t)
	api := client(t, srv)
	srv.SendText(5, "hi")
	srv.SendText(6, "hi")
	srv.FailNext("sendMessage", http.StatusTooManyRequests, 3)
	srv.Block(6)

	_, err := api.Send(tgbotapi.NewMessage(5, "x"))
	if te := apiError(t, err); te.Code != http.StatusTooManyRequests || te.RetryAfter != 3 {
		t.Errorf("injected 429 = %d retry_after %d, want 429 retry_after 3", te.Code, te.RetryAfter)
	}
	if _, err := api.Send(tgbotapi.NewMessage(5, "x")); err != nil {
		t.Errorf("after the 429: %v", err)
	}
	_, err = api.Send(tgbotapi.NewMessage(6, "x"))
	if te := apiError(t, err); te.Code != http.StatusForbidden {
		t.Errorf("blocked chat = %d, want 403", te.Code)
	}
}

func TestDocumentAndCallback(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t)
	api := client(t, srv)
	srv.SendText(7, "hi")
	if _, err := api.Send(tgbotapi.NewDocument(7, tgbotapi.FileBytes{Name: "a.ics", Bytes: []byte("BEGIN")})); err != nil {
		t.Fatalf("send document: %v", err)
	}
	m, err := api.Send(tgbotapi.NewMessage(7, "pick"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Press(7, m.MessageID, "n:x"); err == nil {
		t.Error("Press on a message without that button succeeded")
	}
	kb := tgbotapi.NewEditMessageReplyMarkup(7, m.MessageID, tgbotapi.NewInlineKeyboardMarkup(
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("X", "n:x"))))
	if _, err := api.Request(kb); err != nil {
		t.Fatalf("add keyboard: %v", err)
	}
	id, err := srv.Press(7, m.MessageID, "n:x")
	if err != nil {
		t.Fatalf("Press: %v", err)
	}
	us, err := api.GetUpdates(tgbotapi.UpdateConfig{Offset: id})
	if err != nil || len(us) != 1 || us[0].CallbackQuery == nil {
		t.Fatalf("GetUpdates = %v, %v; want the press", us, err)
	}
	q := us[0].CallbackQuery
	if q.Data != "n:x" || q.Message.MessageID != m.MessageID || q.Message.ReplyMarkup == nil {
		t.Errorf("callback = %+v", q)
	}
	if _, err := api.Request(tgbotapi.NewCallbackWithAlert(q.ID, "old")); err != nil {
		t.Errorf("answer: %v", err)
	}
	if _, err := api.Request(tgbotapi.NewCallback(q.ID, "")); err == nil {
		t.Error("a second answer succeeded")
	}
	msgs := srv.Messages(7)
	if d := msgs[1].Document; d == nil || d.Name != "a.ics" || string(d.Data) != "BEGIN" {
		t.Errorf("document = %+v", d)
	}
	want := []telegramtest.Answer{{QueryID: q.ID, ChatID: 7, Text: "old", ShowAlert: true}}
	if diff := cmp.Diff(want, srv.Answers()); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

// TestLimitSends: past the limit of messages a second the server answers
// 429 with retry_after, as Telegram does; other methods are not counted.
func TestLimitSends(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t)
	api := client(t, srv)
	srv.SendText(5, "hi")
	srv.LimitSends(2)
	for i := range 2 {
		if _, err := api.Send(tgbotapi.NewMessage(5, "x")); err != nil {
			t.Fatalf("message %d within the limit: %v", i+1, err)
		}
	}
	if _, err := api.Request(tgbotapi.NewDeleteMessage(5, 1)); err != nil {
		t.Errorf("deleteMessage past the limit: %v", err)
	}
	_, err := api.Send(tgbotapi.NewMessage(5, "x"))
	if te := apiError(t, err); te.Code != http.StatusTooManyRequests || te.RetryAfter != 1 {
		t.Errorf("third message in a second = %d retry_after %d, want 429 retry_after 1", te.Code, te.RetryAfter)
	}
}

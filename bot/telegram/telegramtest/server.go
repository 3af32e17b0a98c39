// Package telegramtest is a fake Telegram Bot API server for tests, served
// by net/http/httptest on 127.0.0.1 only.
//
// It implements the methods clinicbot calls (getMe, getUpdates, sendMessage,
// editMessageText, editMessageReplyMarkup, answerCallbackQuery, deleteMessage,
// sendDocument, sendVenue, setMyCommands, setWebhook, deleteWebhook), checks
// requests the way Telegram does (64-byte callback data, 4096-character texts,
// edits of unknown or unchanged messages), keeps every chat's messages as a
// client would show them, and lets a test play the user (SendText, Press,
// SendContact) and inject failures (FailNext, Block).
//
// Updates are delivered as Telegram does: by getUpdates, confirmed only by a
// later call with a higher offset, or, once a webhook is set, by POSTing them
// to it with the secret header.
package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// BotUser is the fake bot's own user.
var BotUser = User{ID: 1000, IsBot: true, FirstName: "Clinic Bot", Username: "clinic_test_bot"}

// Telegram's limits, as the server enforces them.
const (
	MaxText         = 4096 // UTF-16 code units of a message text
	MaxCaption      = 1024 // UTF-16 code units of a document caption
	MaxCallbackData = 64   // bytes of callback_data
	MaxAlert        = 200  // characters of a callback answer
)

// Server is a fake Bot API server. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:41234".
	URL string
	// Token is the only token the server accepts.
	Token string

	hs     *httptest.Server
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	nextUpdate int
	queue      []json.RawMessage // unconfirmed updates, ascending IDs
	queueIDs   []int
	chats      map[int64]*chat
	queries    map[string]*query
	nextQuery  int
	failNext   map[string][]failure
	blocked    map[int64]bool
	answers    []Answer
	calls      []Call
	commands   map[string][]Command
	webhook    Webhook
	deliveries []Delivery
	langs      map[int64]string
	// sendLimit is how many messages a second the bot may send or edit
	// (0: any number); sent counts them in the second that began at
	// window.
	sendLimit int
	window    time.Time
	sent      int
}

type chat struct {
	typ     string
	nextMsg int
	msgs    []*Message
}

type query struct {
	chatID   int64
	answered bool
}

type failure struct {
	code       int
	retryAfter int
}

// User is a Telegram user as the server writes it.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

// Message is a message in a chat as a client would show it.
type Message struct {
	ID      int
	FromBot bool
	// Text is the text (a user's or the bot's).
	Text string
	// Buttons is the inline keyboard, if any.
	Buttons [][]Button
	// ContactButton is the label of a request_contact reply-keyboard button;
	// OneTime says that keyboard hides once used.
	ContactButton string
	OneTime       bool
	// RemoveKeyboard says the message removed any reply keyboard.
	RemoveKeyboard bool
	Document       *Document
	// Caption is a document's text, shown under it.
	Caption string
	Venue   *Venue
	// Contact is the phone number of a contact the user shared.
	Contact string
	Deleted bool
	// Edits counts successful edits.
	Edits int
}

// Button is an inline keyboard button.
type Button struct {
	Text string
	Data string
}

// Document is a file the bot sent.
type Document struct {
	Name string
	Data []byte
}

// Venue is a place the bot sent.
type Venue struct {
	Lat, Lng       float64
	Title, Address string
}

// Answer is an answerCallbackQuery call.
type Answer struct {
	QueryID   string
	ChatID    int64
	Text      string
	ShowAlert bool
}

// Call is one Bot API request and the HTTP status it got.
type Call struct {
	Method string
	ChatID int64
	Status int
}

// Command is a bot command set by setMyCommands.
type Command struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

// Webhook is the webhook set by setWebhook.
type Webhook struct {
	URL                string
	Secret             string
	AllowedUpdates     []string
	DropPendingUpdates bool
}

// Delivery is one webhook POST and the status it got.
type Delivery struct {
	UpdateID int
	Status   int
}

// NewServer starts a server on 127.0.0.1 and closes it when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("telegramtest: listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		Token:      "123456:TEST-token",
		ctx:        ctx,
		cancel:     cancel,
		changed:    make(chan struct{}),
		nextUpdate: 500,
		chats:      make(map[int64]*chat),
		queries:    make(map[string]*query),
		failNext:   make(map[string][]failure),
		blocked:    make(map[int64]bool),
		commands:   make(map[string][]Command),
		langs:      make(map[int64]string),
	}
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.hs.Listener.Close()
	s.hs.Listener = l
	s.hs.Start()
	s.URL = s.hs.URL
	s.client = s.hs.Client()
	tb.Cleanup(s.Close)
	return s
}

// Endpoint is the server's method URL in tgbotapi's format.
func (s *Server) Endpoint() string { return s.URL + "/bot%s/%s" }

// Close stops the server and its webhook deliveries.
func (s *Server) Close() {
	s.cancel()
	s.hs.CloseClientConnections()
	s.hs.Close()
	s.wg.Wait()
}

// notify wakes waiters; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor waits until cond holds, re-checking after every change of the
// server's state, and fails the test after 15 seconds. cond may call the
// server's methods.
func (s *Server) WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("telegramtest: timed out waiting for %s", what)
		}
	}
}

// --- the user's side ---

// SetLanguage sets the language_code the user of chatID sends with.
func (s *Server) SetLanguage(chatID int64, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.langs[chatID] = code
}

func (s *Server) chat(id int64, typ string) *chat {
	c, ok := s.chats[id]
	if !ok {
		c = &chat{typ: typ, nextMsg: 1}
		s.chats[id] = c
	}
	return c
}

func (s *Server) userOf(id int64) User {
	return User{ID: id, FirstName: "User" + strconv.FormatInt(id, 10), LanguageCode: s.langs[id]}
}

func (c *chat) add(m *Message) *Message {
	m.ID = c.nextMsg
	c.nextMsg++
	c.msgs = append(c.msgs, m)
	return m
}

func (c *chat) find(id int) *Message {
	for _, m := range c.msgs {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// enqueue adds an update built around its ID; s.mu must be held.
func (s *Server) enqueue(build func(id int) map[string]any) int {
	id := s.nextUpdate
	s.nextUpdate++
	u := build(id)
	u["update_id"] = id
	raw, err := json.Marshal(u)
	if err != nil {
		panic(fmt.Sprintf("telegramtest: marshal update: %v", err))
	}
	s.queue = append(s.queue, raw)
	s.queueIDs = append(s.queueIDs, id)
	s.notify()
	return id
}

func (s *Server) userMessage(chatID, userID int64, typ string, m *Message) map[string]any {
	c := s.chat(chatID, typ)
	c.add(m)
	msg := map[string]any{
		"message_id": m.ID,
		"from":       s.userOf(userID),
		"chat":       map[string]any{"id": chatID, "type": typ},
		"date":       1700000000 + m.ID,
	}
	if m.Text != "" {
		msg["text"] = m.Text
	}
	if m.Contact != "" {
		msg["contact"] = map[string]any{"phone_number": m.Contact, "first_name": "Contact"}
	}
	if m.Text == "" && m.Contact == "" {
		msg["sticker"] = map[string]any{"file_id": "sticker", "file_unique_id": "sticker", "width": 512, "height": 512, "is_animated": false}
	}
	return map[string]any{"message": msg}
}

// SendText sends text from the user of the private chat chatID (the user's
// ID is the chat's) and returns the update ID.
func (s *Server) SendText(chatID int64, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueue(func(int) map[string]any {
		return s.userMessage(chatID, chatID, "private", &Message{Text: text})
	})
}

// SendContact shares a contact with phone in the private chat chatID.
func (s *Server) SendContact(chatID int64, phone string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueue(func(int) map[string]any {
		return s.userMessage(chatID, chatID, "private", &Message{Contact: phone})
	})
}

// SendSticker sends a message with neither text nor contact.
func (s *Server) SendSticker(chatID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueue(func(int) map[string]any {
		return s.userMessage(chatID, chatID, "private", &Message{})
	})
}

// SendGroupText sends text from userID in the group chat groupID.
func (s *Server) SendGroupText(groupID, userID int64, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueue(func(int) map[string]any {
		return s.userMessage(groupID, userID, "group", &Message{Text: text})
	})
}

// Press presses the button with callback data data on the bot's message
// messageID in the private chat chatID, and returns the update ID. It fails
// when the message has no such button, as a client would not show it.
func (s *Server) Press(chatID int64, messageID int, data string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return 0, fmt.Errorf("telegramtest: no chat %d", chatID)
	}
	m := c.find(messageID)
	if m == nil || !m.FromBot || m.Deleted {
		return 0, fmt.Errorf("telegramtest: no bot message %d in chat %d", messageID, chatID)
	}
	found := false
	for _, row := range m.Buttons {
		for _, b := range row {
			found = found || b.Data == data
		}
	}
	if !found {
		return 0, fmt.Errorf("telegramtest: message %d has no button %q", messageID, data)
	}
	s.nextQuery++
	qid := "q" + strconv.Itoa(s.nextQuery)
	s.queries[qid] = &query{chatID: chatID}
	msg := s.wireMessage(chatID, c.typ, m)
	return s.enqueue(func(int) map[string]any {
		return map[string]any{"callback_query": map[string]any{
			"id":            qid,
			"from":          s.userOf(chatID),
			"message":       msg,
			"chat_instance": "ci" + strconv.FormatInt(chatID, 10),
			"data":          data,
		}}
	}), nil
}

// PressButton presses the button labelled label on the bot's newest message
// in chatID that has one, failing the test if there is none.
func (s *Server) PressButton(tb testing.TB, chatID int64, label string) int {
	tb.Helper()
	msgs := s.Messages(chatID)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if !m.FromBot || m.Deleted {
			continue
		}
		for _, row := range m.Buttons {
			for _, b := range row {
				if b.Text == label {
					id, err := s.Press(chatID, m.ID, b.Data)
					if err != nil {
						tb.Fatal(err)
					}
					return id
				}
			}
		}
	}
	tb.Fatalf("telegramtest: chat %d has no button %q", chatID, label)
	return 0
}

// --- fault injection ---

// FailNext makes the next call of method fail with HTTP code (429 with
// retry_after seconds, or 403, 400, 500).
func (s *Server) FailNext(method string, code, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[method] = append(s.failNext[method], failure{code: code, retryAfter: retryAfter})
}

// LimitSends makes the server answer 429 Too Many Requests (retry_after 1)
// to a message sent or edited beyond perSecond in one second, as Telegram
// does to a bot over its overall limit; 0 lifts the limit.
func (s *Server) LimitSends(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLimit = perSecond
}

// overLimit counts a message sent or edited now and reports whether it is
// over the limit. s.mu is held.
func (s *Server) overLimit(method string) bool {
	if s.sendLimit <= 0 || !(strings.HasPrefix(method, "send") || strings.HasPrefix(method, "editMessage")) {
		return false
	}
	now := time.Now()
	if now.Sub(s.window) >= time.Second {
		s.window, s.sent = now, 0
	}
	s.sent++
	return s.sent > s.sendLimit
}

// Block makes every message to chatID fail with 403, as when the user
// blocked the bot.
func (s *Server) Block(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chatID] = true
}

// --- what a test observes ---

// Messages returns a copy of the chat's messages, oldest first, deleted
// ones included (marked).
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[chatID]
	if !ok {
		return nil
	}
	out := make([]Message, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = *m
		out[i].Buttons = slices.Clone(m.Buttons)
	}
	return out
}

// LastMessages returns the bot's messages after the user's last message in
// chatID (what the bot answered to it), deleted ones left out.
func (s *Server) LastMessages(chatID int64) []Message {
	msgs := s.Messages(chatID)
	var out []Message
	for _, m := range msgs {
		switch {
		case !m.FromBot:
			out = out[:0]
		case !m.Deleted:
			out = append(out, m)
		}
	}
	return out
}

// Answers returns the answerCallbackQuery calls made so far.
func (s *Server) Answers() []Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.answers)
}

// Calls returns every request made so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Commands returns the command lists set, by language code.
func (s *Server) Commands() map[string][]Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]Command, len(s.commands))
	for k, v := range s.commands {
		out[k] = slices.Clone(v)
	}
	return out
}

// CurrentWebhook returns the webhook set, if any.
func (s *Server) CurrentWebhook() Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

// Deliveries returns the webhook POSTs made so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Pending returns the IDs of the updates not confirmed yet.
func (s *Server) Pending() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queueIDs)
}

// --- the Bot API ---

type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func (e *apiError) Error() string { return e.desc }

func badRequest(desc string) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + desc}
}

var pathPattern = regexp.MustCompile(`^/bot([^/]+)/([A-Za-z]+)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := pathPattern.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeError(w, &apiError{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	if m[1] != s.Token {
		writeError(w, &apiError{code: http.StatusUnauthorized, desc: "Unauthorized"})
		return
	}
	method := m[2]
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			writeError(w, badRequest("bad multipart form"))
			return
		}
	} else if err := r.ParseForm(); err != nil {
		writeError(w, badRequest("bad form"))
		return
	}
	chatID, _ := strconv.ParseInt(r.FormValue("chat_id"), 10, 64)

	var result any
	var err error
	if method == "getUpdates" {
		result, err = s.getUpdates(r)
	} else {
		s.mu.Lock()
		if f := s.failNext[method]; len(f) > 0 {
			s.failNext[method] = f[1:]
			err = &apiError{code: f[0].code, desc: failureText(f[0]), retryAfter: f[0].retryAfter}
		} else if s.overLimit(method) {
			err = &apiError{code: http.StatusTooManyRequests, desc: "Too Many Requests: retry after 1", retryAfter: 1}
		} else {
			result, err = s.call(method, chatID, r)
		}
		s.mu.Unlock()
	}
	status := http.StatusOK
	var ae *apiError
	if errors.As(err, &ae) {
		status = ae.code
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, ChatID: chatID, Status: status})
	s.notify()
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeResult(w, result)
}

func failureText(f failure) string {
	switch f.code {
	case http.StatusTooManyRequests:
		return "Too Many Requests: retry after " + strconv.Itoa(f.retryAfter)
	case http.StatusForbidden:
		return "Forbidden: bot was blocked by the user"
	case http.StatusBadRequest:
		return "Bad Request: injected"
	}
	return "Internal Server Error"
}

func writeResult(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
}

func writeError(w http.ResponseWriter, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{code: http.StatusInternalServerError, desc: err.Error()}
	}
	body := map[string]any{"ok": false, "error_code": ae.code, "description": ae.desc}
	if ae.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": ae.retryAfter}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.code)
	json.NewEncoder(w).Encode(body)
}

// call runs every method but getUpdates; s.mu is held.
func (s *Server) call(method string, chatID int64, r *http.Request) (any, error) {
	switch method {
	case "getMe":
		return BotUser, nil
	case "sendMessage", "sendDocument", "sendVenue":
		return s.send(method, chatID, r)
	case "editMessageText", "editMessageReplyMarkup":
		return s.edit(method, chatID, r)
	case "deleteMessage":
		return s.deleteMessage(chatID, r)
	case "answerCallbackQuery":
		return s.answerCallbackQuery(r)
	case "setMyCommands":
		return s.setMyCommands(r)
	case "setWebhook":
		return s.setWebhook(r)
	case "deleteWebhook":
		s.webhook = Webhook{}
		if r.FormValue("drop_pending_updates") == "true" {
			s.queue, s.queueIDs = nil, nil
		}
		return true, nil
	}
	return nil, &apiError{code: http.StatusNotFound, desc: "Not Found: method not found"}
}

func (s *Server) privateChat(chatID int64) (*chat, error) {
	c, ok := s.chats[chatID]
	if !ok {
		return nil, badRequest("chat not found")
	}
	if s.blocked[chatID] {
		return nil, &apiError{code: http.StatusForbidden, desc: "Forbidden: bot was blocked by the user"}
	}
	return c, nil
}

func checkText(text string) error {
	if strings.TrimSpace(text) == "" {
		return badRequest("message text is empty")
	}
	if n := len(utf16.Encode([]rune(text))); n > MaxText {
		return badRequest("message is too long")
	}
	return nil
}

// markup is the part of reply_markup the server keeps.
type markup struct {
	InlineKeyboard [][]struct {
		Text         string  `json:"text"`
		CallbackData *string `json:"callback_data"`
	} `json:"inline_keyboard"`
	Keyboard [][]struct {
		Text           string `json:"text"`
		RequestContact bool   `json:"request_contact"`
	} `json:"keyboard"`
	OneTimeKeyboard bool `json:"one_time_keyboard"`
	RemoveKeyboard  bool `json:"remove_keyboard"`
}

// applyMarkup parses reply_markup into m.
func applyMarkup(raw string, m *Message, inlineOnly bool) error {
	m.Buttons, m.ContactButton, m.OneTime, m.RemoveKeyboard = nil, "", false, false
	if raw == "" {
		return nil
	}
	var mk markup
	if err := json.Unmarshal([]byte(raw), &mk); err != nil {
		return badRequest("can't parse reply keyboard markup JSON object")
	}
	if inlineOnly && (mk.Keyboard != nil || mk.RemoveKeyboard) {
		return badRequest("inline keyboard expected")
	}
	for _, row := range mk.InlineKeyboard {
		var out []Button
		for _, b := range row {
			if b.CallbackData == nil || len(*b.CallbackData) == 0 || len(*b.CallbackData) > MaxCallbackData {
				return badRequest("BUTTON_DATA_INVALID")
			}
			if b.Text == "" {
				return badRequest("text buttons are unallowed in the inline keyboard")
			}
			out = append(out, Button{Text: b.Text, Data: *b.CallbackData})
		}
		m.Buttons = append(m.Buttons, out)
	}
	for _, row := range mk.Keyboard {
		for _, b := range row {
			if b.RequestContact {
				m.ContactButton = b.Text
			}
		}
	}
	m.OneTime = mk.OneTimeKeyboard
	m.RemoveKeyboard = mk.RemoveKeyboard
	return nil
}

func (s *Server) send(method string, chatID int64, r *http.Request) (any, error) {
	c, err := s.privateChat(chatID)
	if err != nil {
		return nil, err
	}
	m := &Message{FromBot: true}
	switch method {
	case "sendMessage":
		m.Text = r.FormValue("text")
		if err := checkText(m.Text); err != nil {
			return nil, err
		}
	case "sendDocument":
		if r.MultipartForm == nil {
			return nil, badRequest("there is no document in the request")
		}
		f, h, err := r.FormFile("document")
		if err != nil {
			return nil, badRequest("there is no document in the request")
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil || len(data) == 0 {
			return nil, badRequest("file must be non-empty")
		}
		m.Document = &Document{Name: h.Filename, Data: data}
		m.Caption = r.FormValue("caption")
		if n := len(utf16.Encode([]rune(m.Caption))); n > MaxCaption {
			return nil, badRequest("message caption is too long")
		}
	case "sendVenue":
		v := &Venue{Title: r.FormValue("title"), Address: r.FormValue("address")}
		var errLat, errLng error
		v.Lat, errLat = strconv.ParseFloat(r.FormValue("latitude"), 64)
		v.Lng, errLng = strconv.ParseFloat(r.FormValue("longitude"), 64)
		if errLat != nil || errLng != nil || v.Title == "" || v.Address == "" {
			return nil, badRequest("wrong venue")
		}
		m.Venue = v
	}
	if err := applyMarkup(r.FormValue("reply_markup"), m, false); err != nil {
		return nil, err
	}
	c.add(m)
	return s.wireMessage(chatID, c.typ, m), nil
}

func (s *Server) edit(method string, chatID int64, r *http.Request) (any, error) {
	c, err := s.privateChat(chatID)
	if err != nil {
		return nil, err
	}
	id, _ := strconv.Atoi(r.FormValue("message_id"))
	m := c.find(id)
	if m == nil || !m.FromBot || m.Deleted {
		return nil, badRequest("message to edit not found")
	}
	next := *m
	if method == "editMessageText" {
		if m.Text == "" {
			return nil, badRequest("there is no text in the message to edit")
		}
		next.Text = r.FormValue("text")
		if err := checkText(next.Text); err != nil {
			return nil, err
		}
	}
	if err := applyMarkup(r.FormValue("reply_markup"), &next, true); err != nil {
		return nil, err
	}
	next.ContactButton, next.OneTime, next.RemoveKeyboard = m.ContactButton, m.OneTime, m.RemoveKeyboard
	if next.Text == m.Text && slices.EqualFunc(next.Buttons, m.Buttons, slices.Equal) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	next.Edits++
	*m = next
	return s.wireMessage(chatID, c.typ, m), nil
}

func (s *Server) deleteMessage(chatID int64, r *http.Request) (any, error) {
	c, ok := s.chats[chatID]
	if !ok {
		return nil, badRequest("chat not found")
	}
	id, _ := strconv.Atoi(r.FormValue("message_id"))
	m := c.find(id)
	if m == nil || m.Deleted {
		return nil, badRequest("message to delete not found")
	}
	m.Deleted = true
	return true, nil
}

func (s *Server) answerCallbackQuery(r *http.Request) (any, error) {
	id := r.FormValue("callback_query_id")
	q, ok := s.queries[id]
	if !ok || q.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	text := r.FormValue("text")
	if len([]rune(text)) > MaxAlert {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	q.answered = true
	s.answers = append(s.answers, Answer{QueryID: id, ChatID: q.chatID, Text: text, ShowAlert: r.FormValue("show_alert") == "true"})
	return true, nil
}

var commandPattern = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

func (s *Server) setMyCommands(r *http.Request) (any, error) {
	var cmds []Command
	if err := json.Unmarshal([]byte(r.FormValue("commands")), &cmds); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	for _, c := range cmds {
		if !commandPattern.MatchString(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := len([]rune(c.Description)); n < 1 || n > 256 {
			return nil, badRequest("command description must be 1-256 characters")
		}
	}
	s.commands[r.FormValue("language_code")] = cmds
	return true, nil
}

var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(r *http.Request) (any, error) {
	wh := Webhook{URL: r.FormValue("url"), Secret: r.FormValue("secret_token"), DropPendingUpdates: r.FormValue("drop_pending_updates") == "true"}
	if wh.Secret != "" && !secretPattern.MatchString(wh.Secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	if raw := r.FormValue("allowed_updates"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &wh.AllowedUpdates); err != nil {
			return nil, badRequest("can't parse allowed updates")
		}
	}
	if wh.DropPendingUpdates {
		s.queue, s.queueIDs = nil, nil
	}
	s.webhook = wh
	if wh.URL != "" {
		s.wg.Add(1)
		go s.deliver(wh)
	}
	return true, nil
}

// deliver POSTs queued updates to wh, one at a time, while wh is the
// webhook. An update is dropped after one attempt, whatever its status.
func (s *Server) deliver(wh Webhook) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && s.webhook.URL == wh.URL && s.ctx.Err() == nil {
			changed := s.changed
			s.mu.Unlock()
			select {
			case <-changed:
			case <-s.ctx.Done():
			}
			s.mu.Lock()
		}
		if s.webhook.URL != wh.URL || s.ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		raw, id := s.queue[0], s.queueIDs[0]
		s.queue, s.queueIDs = s.queue[1:], s.queueIDs[1:]
		s.mu.Unlock()

		status := 0
		req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, wh.URL, bytes.NewReader(raw))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", wh.Secret)
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
		}
		s.mu.Lock()
		s.deliveries = append(s.deliveries, Delivery{UpdateID: id, Status: status})
		s.notify()
		s.mu.Unlock()
	}
}

// getUpdates confirms the updates below offset and returns those from it,
// waiting up to timeout seconds for one to arrive.
func (s *Server) getUpdates(r *http.Request) (any, error) {
	offset, _ := strconv.Atoi(r.FormValue("offset"))
	limit, _ := strconv.Atoi(r.FormValue("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(r.FormValue("timeout"))
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook.URL != "" {
		return nil, &apiError{code: http.StatusConflict, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	if f := s.failNext["getUpdates"]; len(f) > 0 {
		s.failNext["getUpdates"] = f[1:]
		return nil, &apiError{code: f[0].code, desc: failureText(f[0]), retryAfter: f[0].retryAfter}
	}
	if offset > 0 {
		i := 0
		for i < len(s.queueIDs) && s.queueIDs[i] < offset {
			i++
		}
		if i > 0 {
			s.queue, s.queueIDs = s.queue[i:], s.queueIDs[i:]
			s.notify()
		}
	}
	for len(s.queue) == 0 && timeout > 0 {
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			timeout = 0
		case <-r.Context().Done():
			timeout = 0
		case <-s.ctx.Done():
			timeout = 0
		}
		s.mu.Lock()
	}
	n := min(limit, len(s.queue))
	out := make([]json.RawMessage, n)
	copy(out, s.queue[:n])
	return out, nil
}

// wireMessage is m as the Bot API writes it.
func (s *Server) wireMessage(chatID int64, typ string, m *Message) map[string]any {
	w := map[string]any{
		"message_id": m.ID,
		"chat":       map[string]any{"id": chatID, "type": typ},
		"date":       1700000000 + m.ID,
	}
	if m.FromBot {
		w["from"] = BotUser
	}
	if m.Text != "" {
		w["text"] = m.Text
	}
	if m.Caption != "" {
		w["caption"] = m.Caption
	}
	if m.Document != nil {
		w["document"] = map[string]any{"file_id": "doc" + strconv.Itoa(m.ID), "file_unique_id": "doc" + strconv.Itoa(m.ID), "file_name": m.Document.Name}
	}
	if m.Venue != nil {
		w["venue"] = map[string]any{"location": map[string]any{"latitude": m.Venue.Lat, "longitude": m.Venue.Lng}, "title": m.Venue.Title, "address": m.Venue.Address}
	}
	if len(m.Buttons) > 0 {
		rows := make([][]map[string]any, len(m.Buttons))
		for i, row := range m.Buttons {
			for _, b := range row {
				rows[i] = append(rows[i], map[string]any{"text": b.Text, "callback_data": b.Data})
			}
		}
		w["reply_markup"] = map[string]any{"inline_keyboard": rows}
	}
	return w
}

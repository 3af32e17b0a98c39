package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

// sent is one message the adapter sent.
type sent struct {
	To  types.JID
	Msg *waE2E.Message
}

// fakeClient records what the adapter does with its WhatsApp client.
type fakeClient struct {
	mu          sync.Mutex
	connectErrs []error // returned by the next Connect calls, in order
	connects    int
	disconnects int
	connected   bool
	handlers    map[uint32]func(any)
	nextID      uint32
	sent        []sent
	uploads     [][]byte
	presences   []types.ChatPresence
	reads       []types.MessageID
	lidToPN     map[string]string // LID user → phone number user

	connectedCh chan struct{} // receives at every successful Connect
}

func newFakeClient() *fakeClient {
	return &fakeClient{handlers: make(map[uint32]func(any)), lidToPN: make(map[string]string), connectedCh: make(chan struct{}, 16)}
}

func (f *fakeClient) Connect() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connects++
	if len(f.connectErrs) > 0 {
		err := f.connectErrs[0]
		f.connectErrs = f.connectErrs[1:]
		return err
	}
	f.connected = true
	f.connectedCh <- struct{}{}
	return nil
}

func (f *fakeClient) Disconnect() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disconnects++
	f.connected = false
}

func (f *fakeClient) IsConnected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

func (f *fakeClient) AddEventHandler(h func(any)) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.handlers[f.nextID] = h
	return f.nextID
}

func (f *fakeClient) RemoveEventHandler(id uint32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.handlers[id]
	delete(f.handlers, id)
	return ok
}

// emit delivers evt to the registered handlers, as whatsmeow does.
func (f *fakeClient) emit(evt any) {
	f.mu.Lock()
	hs := make([]func(any), 0, len(f.handlers))
	for _, h := range f.handlers {
		hs = append(hs, h)
	}
	f.mu.Unlock()
	for _, h := range hs {
		h(evt)
	}
}

var errNotConnected = errors.New("fake: not connected")

func (f *fakeClient) SendMessage(_ context.Context, to types.JID, msg *waE2E.Message) (whatsmeow.SendResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.connected {
		return whatsmeow.SendResponse{}, errNotConnected
	}
	f.sent = append(f.sent, sent{To: to, Msg: msg})
	return whatsmeow.SendResponse{ID: fmt.Sprintf("out%d", len(f.sent)), Timestamp: time.Unix(0, 0)}, nil
}

func (f *fakeClient) Upload(_ context.Context, data []byte, kind whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if kind != whatsmeow.MediaDocument {
		return whatsmeow.UploadResponse{}, fmt.Errorf("fake: upload of %q, want a document", kind)
	}
	f.uploads = append(f.uploads, bytes.Clone(data))
	return whatsmeow.UploadResponse{
		URL: "https://mmg.example/d/1", DirectPath: "/d/1",
		MediaKey: []byte("key"), FileEncSHA256: []byte("enc"), FileSHA256: []byte("sha"), FileLength: uint64(len(data)),
	}, nil
}

func (f *fakeClient) SendChatPresence(_ context.Context, _ types.JID, state types.ChatPresence, _ types.ChatPresenceMedia) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presences = append(f.presences, state)
	return nil
}

func (f *fakeClient) MarkRead(_ context.Context, ids []types.MessageID, _ time.Time, _, _ types.JID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, ids...)
	return nil
}

func (f *fakeClient) PNForLID(_ context.Context, lid types.JID) (types.JID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pn, ok := f.lidToPN[lid.User]; ok {
		return types.NewJID(pn, types.DefaultUserServer), nil
	}
	return types.JID{}, nil
}

// sentSince returns the messages sent after the first n.
func (f *fakeClient) sentSince(n int) []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.sent[n:]...)
}

func (f *fakeClient) sentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

func (f *fakeClient) counts() (connects, disconnects int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connects, f.disconnects
}

// Addresses of the test caregivers.
func pnJID(user string) types.JID  { return types.NewJID(user, types.DefaultUserServer) }
func lidJID(user string) types.JID { return types.NewJID(user, types.HiddenUserServer) }

// message is an incoming one-to-one text message from sender.
func message(id string, sender types.JID, text string) *events.Message {
	return &events.Message{
		Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: sender.ToNonAD(), Sender: sender},
			ID:            id,
			Timestamp:     time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		},
		Message: &waE2E.Message{Conversation: proto.String(text)},
	}
}

// recordingHandler answers every update with one prompt and records it.
type recordingHandler struct {
	bot.Lines // per-booker order, as the router keeps it
	mu        sync.Mutex
	updates   []bot.Update
	answer    func(u bot.Update) dialog.Result
}

func (h *recordingHandler) Handle(_ context.Context, u bot.Update) (dialog.Result, error) {
	h.mu.Lock()
	h.updates = append(h.updates, u)
	answer := h.answer
	h.mu.Unlock()
	if answer != nil {
		return answer(u), nil
	}
	return dialog.Result{Lang: "zh-HK", Replies: []dialog.Reply{{Key: "echo", Text: "收到：" + u.Input.Text}}}, nil
}

func (h *recordingHandler) got() []bot.Update {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Update(nil), h.updates...)
}

// harness runs an Adapter over a fakeClient until the test ends.
type harness struct {
	t       *testing.T
	client  *fakeClient
	adapter *Adapter
	handled chan string
	logs    *syncBuffer
	done    chan error
	cancel  context.CancelFunc
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHarness starts an adapter answering with h and waits until it is
// connected. opts.Handler and opts.Log are set here.
func newHarness(t *testing.T, h bot.Handler, opts Options) *harness {
	t.Helper()
	hs := &harness{t: t, client: newFakeClient(), handled: make(chan string, 64), logs: &syncBuffer{}, done: make(chan error, 1)}
	opts.Handler = h
	opts.Log = slog.New(slog.NewTextHandler(hs.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.SendRate == 0 {
		opts.SendRate, opts.SendBurst = 1000, 1000
	}
	hs.adapter = New(hs.client, opts)
	hs.adapter.handled = func(id string) { hs.handled <- id }
	ctx, cancel := context.WithCancel(context.Background())
	hs.cancel = cancel
	go func() { hs.done <- hs.adapter.Run(ctx) }()
	t.Cleanup(func() { hs.stop() })
	hs.waitConnected()
	return hs
}

func (hs *harness) waitConnected() {
	hs.t.Helper()
	select {
	case <-hs.client.connectedCh:
	case <-time.After(10 * time.Second):
		hs.t.Fatal("the adapter never connected")
	}
}

// stop ends Run and returns its error (once; later calls return nil).
func (hs *harness) stop() error {
	if hs.cancel == nil {
		return nil
	}
	hs.cancel()
	hs.cancel = nil
	select {
	case err := <-hs.done:
		return err
	case <-time.After(10 * time.Second):
		hs.t.Fatal("Run did not return after its context ended")
		return nil
	}
}

// runErr waits for Run to return by itself.
func (hs *harness) runErr() error {
	hs.t.Helper()
	select {
	case err := <-hs.done:
		hs.cancel()
		hs.cancel = nil
		return err
	case <-time.After(10 * time.Second):
		hs.t.Fatal("Run did not return")
		return nil
	}
}

// deliver emits evt and waits until the adapter has handled the message
// with update id want.
func (hs *harness) deliver(evt *events.Message, want string) {
	hs.t.Helper()
	hs.client.emit(evt)
	hs.wait(want)
}

func (hs *harness) wait(want string) {
	hs.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case id := <-hs.handled:
			if id == want {
				return
			}
		case <-timeout:
			hs.t.Fatalf("message %s was never handled", want)
		}
	}
}

// say sends text from sender as message id and returns the texts sent back.
func (hs *harness) say(id string, sender types.JID, text string) []string {
	hs.t.Helper()
	n := hs.client.sentCount()
	hs.deliver(message(id, sender, text), "wa:"+id)
	var out []string
	for _, s := range hs.client.sentSince(n) {
		out = append(out, describe(s.Msg))
	}
	return out
}

// describe renders a sent message for comparison and failure output.
func describe(m *waE2E.Message) string {
	switch {
	case m.Conversation != nil:
		return m.GetConversation()
	case m.LocationMessage != nil:
		l := m.GetLocationMessage()
		return fmt.Sprintf("[location %s | %s | %.4f,%.4f]", l.GetName(), l.GetAddress(), l.GetDegreesLatitude(), l.GetDegreesLongitude())
	case m.DocumentMessage != nil:
		d := m.GetDocumentMessage()
		return fmt.Sprintf("[document %s %s %d bytes]", d.GetFileName(), d.GetMimetype(), d.GetFileLength())
	}
	return fmt.Sprintf("[other %v]", m)
}

func joined(msgs []string) string { return strings.Join(msgs, "\n---\n") }

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

package whatsapp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

const caregiver = "85291234567"

// TestIgnored: messages not written to the bot by someone else in a
// one-to-one chat are not handled, and nothing is sent for them.
func TestIgnored(t *testing.T) {
	t.Parallel()
	group := types.NewJID("120363000000000001", types.GroupServer)
	broadcastList := types.NewJID("1700000000", types.BroadcastServer)
	newsletter := types.NewJID("120363000000000002", types.NewsletterServer)
	edit := message("e1", pnJID(caregiver), "1")
	edit.IsEdit = true
	tests := []struct {
		name string
		evt  *events.Message
	}{
		{"group", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: pnJID(caregiver), IsGroup: true}, ID: "g1"},
			Message: &waE2E.Message{Conversation: proto.String("1")},
		}},
		{"group_without_flag", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: pnJID(caregiver)}, ID: "g2"},
			Message: &waE2E.Message{Conversation: proto.String("1")},
		}},
		{"broadcast_list", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: broadcastList, Sender: pnJID(caregiver), IsGroup: true}, ID: "b1"},
			Message: &waE2E.Message{Conversation: proto.String("1")},
		}},
		{"status", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: types.StatusBroadcastJID, Sender: pnJID(caregiver), IsGroup: true}, ID: "s1"},
			Message: &waE2E.Message{Conversation: proto.String("my status")},
		}},
		{"newsletter", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: newsletter, Sender: newsletter}, ID: "n1"},
			Message: &waE2E.Message{Conversation: proto.String("news")},
		}},
		{"own_message", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: pnJID(caregiver), Sender: pnJID("85261234567"), IsFromMe: true}, ID: "o1"},
			Message: &waE2E.Message{Conversation: proto.String("1")},
		}},
		{"meta_ai", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: types.MetaAIJID, Sender: types.MetaAIJID}, ID: "m1"},
			Message: &waE2E.Message{Conversation: proto.String("hi")},
		}},
		{"edit", edit},
		{"reaction", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: pnJID(caregiver), Sender: pnJID(caregiver)}, ID: "r1"},
			Message: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍")}},
		}},
		{"revoke", &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: pnJID(caregiver), Sender: pnJID(caregiver)}, ID: "p1"},
			Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum()}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &recordingHandler{}
			hs := newHarness(t, h, Options{})
			hs.client.emit(tt.evt)
			// A message handled after it proves it was dropped, not queued:
			// one caregiver's messages are handled in order.
			hs.deliver(message("after", pnJID(caregiver), "hello"), "wa:after")
			var ids []string
			for _, u := range h.got() {
				ids = append(ids, u.ID)
			}
			if diff := cmp.Diff([]string{"wa:after"}, ids); diff != "" {
				t.Errorf("handled updates (-want +got):\n%s", diff)
			}
			if n := hs.client.sentCount(); n != 1 {
				t.Errorf("sent %d messages, want 1 (the answer to the later message)", n)
			}
		})
	}
}

// TestOneCaregiverManyAddresses: a caregiver writing from their phone
// number and from their @lid address is one booker, named by the number.
func TestOneCaregiverManyAddresses(t *testing.T) {
	t.Parallel()
	h := &recordingHandler{}
	hs := newHarness(t, h, Options{})
	hs.client.lidToPN["99887766554433"] = caregiver

	withAlt := message("m2", lidJID("123456789012345"), "2")
	withAlt.Info.SenderAlt = pnJID(caregiver)
	withAlt.Info.AddressingMode = types.AddressingModeLID
	device := pnJID(caregiver)
	device.Device = 3 // a message from one of the caregiver's devices

	hs.deliver(message("m1", pnJID(caregiver), "1"), "wa:m1")
	hs.deliver(withAlt, "wa:m2")
	hs.deliver(message("m3", lidJID("99887766554433"), "3"), "wa:m3")
	hs.deliver(message("m4", device, "4"), "wa:m4")
	hs.deliver(message("m5", lidJID("55555555555555"), "5"), "wa:m5") // number unknown

	var got []booking.Booker
	for _, u := range h.got() {
		got = append(got, u.Booker)
	}
	want := []booking.Booker{
		{Channel: booking.ChannelWhatsApp, ID: caregiver},
		{Channel: booking.ChannelWhatsApp, ID: caregiver},
		{Channel: booking.ChannelWhatsApp, ID: caregiver},
		{Channel: booking.ChannelWhatsApp, ID: caregiver},
		{Channel: booking.ChannelWhatsApp, ID: "55555555555555@lid"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bookers (-want +got):\n%s", diff)
	}
	// Answers go to the chat the message came from.
	var to []string
	for _, s := range hs.client.sentSince(0) {
		to = append(to, s.To.String())
	}
	wantTo := []string{caregiver + "@s.whatsapp.net", "123456789012345@lid", "99887766554433@lid", caregiver + "@s.whatsapp.net", "55555555555555@lid"}
	if diff := cmp.Diff(wantTo, to); diff != "" {
		t.Errorf("answered chats (-want +got):\n%s", diff)
	}
}

// TestPseudonym: with a Pseudonym, the booker id the router sees is the
// pseudonym of the caregiver's number, the same from every address, and
// the number itself appears nowhere in it.
func TestPseudonym(t *testing.T) {
	t.Parallel()
	h := &recordingHandler{}
	hs := newHarness(t, h, Options{Pseudonym: func(id string) string { return "p:" + strings.Repeat("x", len(id)) + id[len(id)-1:] }})
	hs.client.lidToPN["99887766554433"] = caregiver
	hs.deliver(message("m1", pnJID(caregiver), "1"), "wa:m1")
	hs.deliver(message("m2", lidJID("99887766554433"), "2"), "wa:m2")
	var got []booking.Booker
	for _, u := range h.got() {
		got = append(got, u.Booker)
	}
	want := booking.Booker{Channel: booking.ChannelWhatsApp, ID: "p:" + strings.Repeat("x", len(caregiver)) + caregiver[len(caregiver)-1:]}
	if diff := cmp.Diff([]booking.Booker{want, want}, got); diff != "" {
		t.Errorf("bookers (-want +got):\n%s", diff)
	}
	// Answers still go to the chat the message came from.
	var to []string
	for _, s := range hs.client.sentSince(0) {
		to = append(to, s.To.String())
	}
	if diff := cmp.Diff([]string{caregiver + "@s.whatsapp.net", "99887766554433@lid"}, to); diff != "" {
		t.Errorf("answered chats (-want +got):\n%s", diff)
	}
}

// TestUpdate: what the handler is given for each kind of message.
func TestUpdate(t *testing.T) {
	t.Parallel()
	vcard := "BEGIN:VCARD\nVERSION:3.0\nFN:Chan\nitem1.TEL;waid=85291234567:+852 9123 4567\nEND:VCARD"
	tests := []struct {
		name string
		msg  *waE2E.Message
		want dialog.Input
	}{
		{"number", &waE2E.Message{Conversation: proto.String(" 2 ")}, dialog.Input{Kind: dialog.InputText, Text: "2", LanguageHint: "zh-HK"}},
		{"zero_is_back", &waE2E.Message{Conversation: proto.String("0")}, dialog.Input{Kind: dialog.InputText, Text: "/back", LanguageHint: "zh-HK"}},
		{"menu", &waE2E.Message{Conversation: proto.String("選單")}, dialog.Input{Kind: dialog.InputText, Text: "/menu", LanguageHint: "zh-HK"}},
		{"extended_text", &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("A123456(3)")}}, dialog.Input{Kind: dialog.InputText, Text: "A123456(3)", LanguageHint: "zh-HK"}},
		{"contact", &waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Chan"), Vcard: proto.String(vcard)}}, dialog.Input{Kind: dialog.InputContact, Phone: "+852 9123 4567", LanguageHint: "zh-HK"}},
		{"image", &waE2E.Message{ImageMessage: &waE2E.ImageMessage{}}, dialog.Input{Kind: dialog.InputText, LanguageHint: "zh-HK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &recordingHandler{}
			hs := newHarness(t, h, Options{})
			evt := message("u1", pnJID(caregiver), "")
			evt.Message = tt.msg
			hs.deliver(evt, "wa:u1")
			got := h.got()
			want := []bot.Update{{Booker: booking.Booker{Channel: booking.ChannelWhatsApp, ID: caregiver}, ID: "wa:u1", Input: tt.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReplyMessages: a reply becomes its numbered text, then the clinic's
// location, then the calendar file; typing is shown while the step works
// and the message is marked read.
func TestReplyMessages(t *testing.T) {
	t.Parallel()
	ics := []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
	h := &recordingHandler{answer: func(bot.Update) dialog.Result {
		return dialog.Result{Lang: "en", Replies: []dialog.Reply{
			{Text: "Booked."},
			{
				Text:     "Choose:",
				Options:  []dialog.Option{{ID: "exit", Label: "Exit"}},
				Location: &dialog.Location{Name: "Wan Tsui GOPC", Address: "2 Wan Tsui Road", Lat: 22.2645, Lng: 114.2372},
				Calendar: &dialog.File{Name: "clinicbot-K7QM4X2P.ics", MIME: "text/calendar", Data: ics},
			},
		}}
	}}
	hs := newHarness(t, h, Options{})
	got := hs.say("r1", pnJID(caregiver), "1")
	want := []string{
		"Booked.",
		"Choose:\n\n1. Exit\n\n" + "Reply with the option's number or words; reply 0 to go back, or \"menu\" for the main menu.",
		"[location Wan Tsui GOPC | 2 Wan Tsui Road | 22.2645,114.2372]",
		"[document clinicbot-K7QM4X2P.ics text/calendar 32 bytes]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	hs.client.mu.Lock()
	defer hs.client.mu.Unlock()
	if diff := cmp.Diff([][]byte{ics}, hs.client.uploads); diff != "" {
		t.Errorf("uploads (-want +got):\n%s", diff)
	}
	doc := hs.client.sent[3].Msg.GetDocumentMessage()
	if doc.GetURL() == "" || doc.GetDirectPath() == "" || len(doc.GetMediaKey()) == 0 || len(doc.GetFileEncSHA256()) == 0 || len(doc.GetFileSHA256()) == 0 {
		t.Errorf("document message lacks upload fields: %v", doc)
	}
	if diff := cmp.Diff([]types.ChatPresence{types.ChatPresenceComposing, types.ChatPresencePaused}, hs.client.presences); diff != "" {
		t.Errorf("chat presences (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]types.MessageID{"r1"}, hs.client.reads); diff != "" {
		t.Errorf("marked read (-want +got):\n%s", diff)
	}
}

// TestNoAnswerNoMessage: an empty Result (a duplicate, in the router's
// words) sends nothing; a handler error sends nothing and is logged.
func TestNoAnswerNoMessage(t *testing.T) {
	t.Parallel()
	h := &recordingHandler{answer: func(bot.Update) dialog.Result { return dialog.Result{Lang: "zh-HK"} }}
	hs := newHarness(t, h, Options{})
	if got := hs.say("d1", pnJID(caregiver), "1"); len(got) != 0 {
		t.Errorf("sent %q for an empty result, want nothing", got)
	}
	fh := handlerFunc(func(context.Context, bot.Update) (dialog.Result, error) { return dialog.Result{}, bot.ErrClosed })
	hs2 := newHarness(t, fh, Options{})
	if got := hs2.say("d2", pnJID(caregiver), "1"); len(got) != 0 {
		t.Errorf("sent %q after a handler error, want nothing", got)
	}
	if !strings.Contains(hs2.logs.String(), "whatsapp message not handled") {
		t.Errorf("handler error not logged:\n%s", hs2.logs)
	}
}

type handlerFunc func(context.Context, bot.Update) (dialog.Result, error)

func (f handlerFunc) Handle(ctx context.Context, u bot.Update) (dialog.Result, error) {
	return f(ctx, u)
}

// handlerLines orders the fakes' messages per caregiver, as the router does.
var handlerLines bot.Lines

func (f handlerFunc) Go(ctx context.Context, b booking.Booker, job func(context.Context)) error {
	return handlerLines.Go(ctx, b, job)
}

// TestOrderAndQueue: one caregiver's messages are handled one at a time in
// order; beyond the queue they are dropped, while another caregiver is
// served alongside.
func TestOrderAndQueue(t *testing.T) {
	t.Parallel()
	started := make(chan string, 16)
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		started <- u.ID
		if u.Booker.ID == caregiver {
			<-release
		}
		mu.Lock()
		order = append(order, u.ID)
		mu.Unlock()
		return dialog.Result{}, nil
	})
	hs := newHarness(t, h, Options{QueueSize: 2})
	hs.client.emit(message("q1", pnJID(caregiver), "1"))
	if id := <-started; id != "wa:q1" {
		t.Fatalf("first started = %s, want wa:q1", id)
	}
	for _, id := range []string{"q2", "q3", "q4"} { // q4 overflows the queue of 2
		hs.client.emit(message(id, pnJID(caregiver), "1"))
	}
	// Another caregiver is not held up by the first.
	hs.client.emit(message("other", pnJID("85261234567"), "1"))
	hs.wait("wa:other")
	close(release)
	hs.wait("wa:q3")
	if err := hs.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"wa:other", "wa:q1", "wa:q2", "wa:q3"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	if !strings.Contains(hs.logs.String(), "queue full") {
		t.Errorf("dropped message not logged:\n%s", hs.logs)
	}
}

// TestPermanentDisconnect: logged out, replaced or banned, Run disconnects
// and returns the reason instead of reconnecting.
func TestPermanentDisconnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		evt  any
		want error
	}{
		{"logged_out", &events.LoggedOut{Reason: events.ConnectFailureLoggedOut}, ErrLoggedOut},
		{"logged_out_on_connect", &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureMainDeviceGone}, ErrLoggedOut},
		{"stream_replaced", &events.StreamReplaced{}, ErrStreamReplaced},
		{"temporary_ban", &events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: time.Hour}, &DisconnectError{}},
		{"client_outdated", &events.ClientOutdated{}, &DisconnectError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs := newHarness(t, &recordingHandler{}, Options{})
			hs.client.emit(tt.evt)
			err := hs.runErr()
			var de *DisconnectError
			if _, wantDE := tt.want.(*DisconnectError); wantDE {
				if !errors.As(err, &de) || de.Reason == "" {
					t.Errorf("Run = %v, want a *DisconnectError with a reason", err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Errorf("Run = %v, want %v", err, tt.want)
			}
			if connects, disconnects := hs.client.counts(); connects != 1 || disconnects != 1 {
				t.Errorf("connects, disconnects = %d, %d; want 1, 1", connects, disconnects)
			}
			if hs.client.IsConnected() {
				t.Error("still connected")
			}
		})
	}
}

// TestDisconnectedKeepsServing: a dropped connection is whatsmeow's to
// reconnect; the adapter keeps serving.
func TestDisconnectedKeepsServing(t *testing.T) {
	t.Parallel()
	hs := newHarness(t, &recordingHandler{}, Options{})
	hs.client.emit(&events.Disconnected{})
	hs.client.emit(&events.Connected{})
	if got := hs.say("k1", pnJID(caregiver), "1"); len(got) != 1 {
		t.Errorf("sent %q after a reconnect, want one answer", got)
	}
	if err := hs.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if connects, _ := hs.client.counts(); connects != 1 {
		t.Errorf("connects = %d, want 1", connects)
	}
}

// TestConnectRetry: a failed connect is retried with back-off, not returned.
func TestConnectRetry(t *testing.T) {
	t.Parallel()
	c := newFakeClient()
	c.connectErrs = []error{errors.New("dial: refused"), errors.New("dial: refused")}
	a := New(c, Options{Handler: &recordingHandler{}, RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond, Log: discardLog()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-c.connectedCh:
	case <-time.After(10 * time.Second):
		t.Fatal("never connected")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if connects, _ := c.counts(); connects != 3 {
		t.Errorf("connects = %d, want 3", connects)
	}
}

// lostLease is held until its first renewal, which finds it lost.
type lostLease struct {
	mu       sync.Mutex
	acquired int
	released int
}

func (l *lostLease) TryAcquire(context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acquired++
	return true, nil
}
func (l *lostLease) Renew(context.Context) error { return ErrLeaseLost }
func (l *lostLease) Release(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released++
	return nil
}

// TestLeaseLost: losing the lease disconnects at once and waits for it again.
func TestLeaseLost(t *testing.T) {
	t.Parallel()
	l := &lostLease{}
	hs := newHarness(t, &recordingHandler{}, Options{Lease: l, LeaseRenew: time.Millisecond, LeaseRetry: time.Millisecond})
	hs.waitConnected() // the second connection, after the lease came back
	if err := hs.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	connects, disconnects := hs.client.counts()
	if connects < 2 || disconnects != connects {
		t.Errorf("connects, disconnects = %d, %d; want ≥ 2 and equal", connects, disconnects)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released != l.acquired {
		t.Errorf("released %d times after %d acquisitions", l.released, l.acquired)
	}
}

// TestRunWithoutHandler fails at once rather than connecting.
func TestRunWithoutHandler(t *testing.T) {
	t.Parallel()
	c := newFakeClient()
	if err := New(c, Options{Log: discardLog()}).Run(context.Background()); err == nil {
		t.Error("Run without a handler = nil, want an error")
	}
	if connects, _ := c.counts(); connects != 0 {
		t.Errorf("connects = %d, want 0", connects)
	}
}

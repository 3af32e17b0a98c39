package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// bookingScript is a complete flow A conversation, from /start to the
// booking: "[id]" presses option id of the latest message, anything else is
// typed; <hkid> is the patient's HKID card number.
var bookingScript = []string{
	"/start", "[book]", "[hkid]", "<hkid>", "1970/1/1", "[yes]", "91234567", "[ok]",
	"[clinic]", "[r:kln]", "[c:kowloon-bay]", "[decline]", "[ok]", "[next]", "3", "[accept]",
}

// conversationWorld is the router and engine over the PostgreSQL store, in a schema of
// its own, with its sessions sealed in Redis under a prefix of its own.
type conversationWorld struct {
	env      *dialogtest.Env
	router   *bot.Router
	sessions *fixture
}

func newConversationWorld(b *testing.B) *conversationWorld {
	b.Helper()
	w := &conversationWorld{}
	sched := dialogtest.DefaultSchedule()
	sched.ClinicCapacity = 1 << 20 // every conversation finds a place
	w.env = dialogtest.NewEnv(b, dialogtest.Config{
		NewBookingStore: func(tb testing.TB) booking.Store {
			s, err := postgres.Open(context.Background(), testenv.PostgresSchema(tb))
			if err != nil {
				tb.Fatalf("postgres.Open() = %v", err)
			}
			tb.Cleanup(func() { s.Close() })
			return s
		},
		NewSessionStore: func(tb testing.TB, now func() time.Time) dialog.SessionStore {
			// A booking.Protector seals the sessions, as in production.
			w.sessions = newFixture(tb, redisstore.Options{Now: now, Idle: 15 * time.Minute})
			return w.sessions.store
		},
	}, sched)
	w.router = w.env.NewRouter(b)
	return w
}

// converse runs bookingScript for booker n (and a patient of n's own) and
// calls after, if not nil, after each update.
func (w *conversationWorld) converse(ctx context.Context, n int, after func(who booking.Booker) error) error {
	who := booking.Booker{Channel: booking.ChannelTelegram, ID: fmt.Sprint("bench-", n)}
	doc, err := booking.NewHKID(string(rune('A'+n/1000000%26)), fmt.Sprintf("%06d", n%1000000))
	if err != nil {
		return err
	}
	nonce := ""
	for i, text := range bookingScript {
		in := dialog.Input{Kind: dialog.InputText, Text: strings.ReplaceAll(text, "<hkid>", doc.Display())}
		if id, ok := strings.CutPrefix(text, "["); ok {
			in = dialog.Input{Kind: dialog.InputOption, Option: strings.TrimSuffix(id, "]"), Nonce: nonce}
		}
		res, err := w.router.Handle(ctx, bot.Update{Booker: who, ID: strconv.Itoa(i), Input: in})
		if err != nil {
			return fmt.Errorf("conversation %d: Handle(%q): %w", n, text, err)
		}
		nonce = res.Replies[len(res.Replies)-1].Nonce
		if text == "[accept]" && !strings.Contains(res.Replies[0].Text, "預約成功") {
			return fmt.Errorf("conversation %d did not book: %s", n, res.Replies[0].Text)
		}
		if after != nil {
			if err := after(who); err != nil {
				return err
			}
		}
	}
	return nil
}

// sessionSize is the most a session took after any update of a
// conversation: the sealed value Redis keeps (the hash field d), the whole
// key in Redis's memory (MEMORY USAGE), and the session's JSON before it is
// deflated and sealed.
type sessionSize struct{ stored, memory, plain int64 }

// report reports the sizes; call it after the timed loop, which resets the
// metrics reported before it.
func (s sessionSize) report(b *testing.B) {
	b.ReportMetric(float64(s.stored), "max_stored_session_bytes")
	b.ReportMetric(float64(s.memory), "max_session_key_memory_bytes")
	b.ReportMetric(float64(s.plain), "max_session_json_bytes")
}

// sessionSize runs conversation n and measures its session.
func (w *conversationWorld) sessionSize(b *testing.B, n int) sessionSize {
	b.Helper()
	ctx := context.Background()
	var stored, memory, plain int64
	err := w.converse(ctx, n, func(who booking.Booker) error {
		key := dialog.SessionKey(who)
		hash := w.sessions.prefix + "sess:{" + key + "}" // the layout in the package doc
		d, err := w.sessions.client.HStrLen(ctx, hash, "d").Result()
		if err != nil {
			return err
		}
		m, err := w.sessions.client.MemoryUsage(ctx, hash).Result()
		if err != nil {
			return err
		}
		s, err := w.sessions.store.Load(ctx, key)
		if err != nil {
			return err
		}
		data, err := s.MarshalBinary()
		if err != nil {
			return err
		}
		stored, memory, plain = max(stored, d), max(memory, m), max(plain, int64(len(data)))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if stored == 0 {
		b.Fatalf("no session stored under %s", w.sessions.prefix)
	}
	return sessionSize{stored, memory, plain}
}

// reportRates reports conversations and updates a second over the timed
// b.N conversations.
func reportRates(b *testing.B) {
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "conversations/s")
	b.ReportMetric(float64(b.N*len(bookingScript))/secs, "updates/s")
}

// BenchmarkBookingConversationRedisPostgres runs complete flow A
// conversations (16 updates from /start to the booking, each through the
// engine's Load, Step and Save) one after another, with the sessions in
// Redis and the bookings in PostgreSQL, and reports the session's size:
//
//	go test -run '^$' -bench Conversation -benchtime 100x ./dialog/redisstore
func BenchmarkBookingConversationRedisPostgres(b *testing.B) {
	w := newConversationWorld(b)
	size := w.sessionSize(b, 0) // untimed: b.Loop starts the clock
	ctx := context.Background()
	for i := 1; b.Loop(); i++ {
		if err := w.converse(ctx, i, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b)
	size.report(b)
}

// BenchmarkBookingConversationRedisPostgresParallel is the same with
// GOMAXPROCS (times -cpu) bookers at once, each conversation with a booker
// and a patient of its own.
func BenchmarkBookingConversationRedisPostgresParallel(b *testing.B) {
	w := newConversationWorld(b)
	ctx := context.Background()
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.converse(ctx, int(next.Add(1)), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRates(b)
}

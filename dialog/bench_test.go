package dialog_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
)

// hkid returns a valid HKID card number for n, e.g. "A123456(3)".
func hkid(n int) string {
	doc, err := booking.NewHKID(string(rune('A'+n/1000000%26)), fmt.Sprintf("%06d", n%1000000))
	if err != nil {
		panic(err)
	}
	return doc.Display()
}

// BenchmarkBookingConversation runs complete flow A conversations (14
// updates from /start to the booking, each through the router: lock,
// dedupe, Step and commit) on SQLite and the MemoryStore, and reports the
// largest stored session.
func BenchmarkBookingConversation(b *testing.B) {
	sched := dialogtest.DefaultSchedule()
	sched.ClinicCapacity = 1 << 20
	env := dialogtest.NewEnv(b, sqliteConfig, sched)
	r := env.NewRouter(b)
	ctx := context.Background()
	maxBytes := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		who := booking.Booker{Channel: booking.ChannelTelegram, ID: fmt.Sprint("bench-", i)}
		script := []string{"/start", "[book]", "[hkid]", hkid(i), "1970/1/1", "[yes]", "91234567", "[ok]", "[clinic]", "[r:kln]", "[c:kowloon-bay]", "[decline]", "[ok]", "[next]", "3", "[accept]"}
		nonce := ""
		for j, text := range script {
			in := dialog.Input{Kind: dialog.InputText, Text: text}
			if id, ok := strings.CutPrefix(text, "["); ok {
				in = dialog.Input{Kind: dialog.InputOption, Option: strings.TrimSuffix(id, "]"), Nonce: nonce}
			}
			res, err := r.Handle(ctx, bot.Update{Booker: who, ID: strconv.Itoa(j), Input: in})
			if err != nil {
				b.Fatalf("Handle(%q) = %v", text, err)
			}
			last := res.Replies[len(res.Replies)-1]
			nonce = last.Nonce
			if text == "[accept]" && !strings.Contains(res.Replies[0].Text, "預約成功") {
				b.Fatalf("conversation %d did not book: %s", i, res.Replies[0].Text)
			}
			s, err := env.Sessions.Load(ctx, dialog.SessionKey(who))
			if err != nil {
				b.Fatal(err)
			}
			data, _ := s.MarshalBinary()
			maxBytes = max(maxBytes, len(data))
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conversations/s")
	b.ReportMetric(float64(maxBytes), "max_session_bytes")
}

package bot_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
	"github.com/clinicbot/clinicbot/dialog/redisstore"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

// TestRouterWithEngine runs the real conversation engine behind the router
// through flow A up to the offer, then presses "Accept booking" twice at
// once and delivers one of the presses twice more: one booking is made.
func TestRouterWithEngine(t *testing.T) {
	t.Parallel()
	for _, c := range coordinators() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			coord := c.new(t)()
			env := dialogtest.NewEnv(t, dialogtest.Config{
				NewBookingStore: func(t testing.TB) booking.Store {
					s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "clinicbot.db"))
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.Close() })
					return s
				},
				NewSessionStore: func(t testing.TB, now func() time.Time) dialog.SessionStore {
					return dialog.NewMemoryStore(now, 0)
				},
			}, dialogtest.DefaultSchedule())
			r := bot.NewRouter(env.NewEngine(t), coord, bot.Options{})
			b := booker("1001")

			var last dialog.Result
			id := 0
			send := func(in dialog.Input) dialog.Result {
				t.Helper()
				id++
				in.LanguageHint = "en"
				res, err := r.Handle(ctx, bot.Update{Booker: b, ID: strconv.Itoa(id), Input: in})
				if err != nil {
					t.Fatalf("Handle(update %d) = %v", id, err)
				}
				if len(res.Replies) == 0 {
					t.Fatalf("Handle(update %d) answered nothing", id)
				}
				last = res
				return res
			}
			for _, text := range []string{
				"hello", "Book for others", "Other passport or identity document", "E1234567",
				"1970", "yes", "91234567", "OK", "Book a designated clinic", "Kowloon", "Robert Black",
			} {
				send(dialog.Input{Kind: dialog.InputText, Text: text})
			}
			if _, ok := coord.(*redisstore.Store); ok {
				// The session as stored, mid-flow with personal data.
				o, err := redisstore.ClientOptions(testenv.RedisURL(t))
				if err != nil {
					t.Fatal(err)
				}
				client := redis.NewClient(o)
				defer client.Close()
				var found []string
				iter := client.Scan(ctx, 0, "clinicbot-test:"+t.Name()+":*sess:{"+dialog.SessionKey(b)+"}", 1000).Iterator()
				for iter.Next(ctx) {
					found = append(found, iter.Val())
				}
				if err := iter.Err(); err != nil || len(found) != 1 {
					t.Fatalf("session keys %v, %v; want one", found, err)
				}
				stored := client.HGet(ctx, found[0], "d").Val()
				s, err := coord.(*redisstore.Store).Load(ctx, dialog.SessionKey(b))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := s.MarshalBinary()
				t.Logf("session at the offer: %d bytes stored (%d bytes JSON, %d frames of history)", len(stored), len(plain), len(s.History))
				if len(stored) >= dialogtest.MaxSessionBytes {
					t.Errorf("session at the offer takes %d bytes, want under %d", len(stored), dialogtest.MaxSessionBytes)
				}
			}
			offer := last.Replies[len(last.Replies)-1]
			if offer.Nonce == "" || len(offer.Options) == 0 || offer.Options[0].ID != "accept" {
				t.Fatalf("last reply = %+v, want the offer with an accept button", offer)
			}
			press := dialog.Input{Kind: dialog.InputOption, Option: "accept", Nonce: offer.Nonce, LanguageHint: "en"}

			var wg sync.WaitGroup
			for _, uid := range []string{"press-1", "press-2", "press-1", "press-2", "press-1"} {
				wg.Go(func() {
					if _, err := r.Handle(ctx, bot.Update{Booker: b, ID: uid, Input: press}); err != nil {
						t.Errorf("Handle(%s) = %v", uid, err)
					}
				})
			}
			wg.Wait()
			bookings, err := env.Service.Store.Bookings(ctx, booking.BookingQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if len(bookings) != 1 {
				t.Errorf("double press made %d bookings, want 1", len(bookings))
			}
		})
	}
}

package bot_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/dialog/dialogtest"
	"github.com/clinicbot/clinicbot/internal/testenv"
	"github.com/clinicbot/clinicbot/locales"
)

// proxiedPostgres returns a migrated booking store in a schema of its own
// that reaches PostgreSQL through a proxy the test can take down; the
// schema is dropped when the test ends.
func proxiedPostgres(t testing.TB) (*postgres.Store, *testenv.Proxy) {
	t.Helper()
	url := testenv.PostgresSchema(t)
	ctx := context.WithoutCancel(t.Context())
	proxy := testenv.NewProxy(t, url, "5432") // keeps the URL's search_path
	cfg, err := pgxpool.ParseConfig(proxy.URL())
	if err != nil {
		t.Fatal(err)
	}
	postgres.Configure(cfg)
	cfg.MaxConns, cfg.MinConns = 4, 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the schema is dropped
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return postgres.NewStore(pool), proxy
}

// TestRouterPostgresUnavailable runs the real engine on PostgreSQL behind
// the router up to the consent, then takes PostgreSQL away (refusing,
// hanging, or stalling the connections the pool holds): the booker is told
// the service is temporarily unavailable well before the router's own
// deadline, and once PostgreSQL is back the same answer goes on to the
// next step.
func TestRouterPostgresUnavailable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		fail func(*testenv.Proxy)
	}{
		{"Down", (*testenv.Proxy).Down},
		{"Hung", (*testenv.Proxy).Hang},
		{"Stalled", (*testenv.Proxy).Stall},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var proxy *testenv.Proxy
			env := dialogtest.NewEnv(t, dialogtest.Config{
				NewBookingStore: func(t testing.TB) booking.Store {
					var s *postgres.Store
					s, proxy = proxiedPostgres(t)
					return s
				},
				NewSessionStore: func(t testing.TB, now func() time.Time) dialog.SessionStore {
					return dialog.NewMemoryStore(now, 0)
				},
			}, dialogtest.DefaultSchedule())
			coord := bot.NewMemoryCoordinator(dialog.NewMemoryStore(time.Now, 0), time.Now)
			const deadline = 10 * time.Second // the router's own bound on an update
			r := bot.NewRouter(env.NewEngine(t), coord, bot.Options{Timeout: deadline})
			b := booker("2001")
			id := 0
			send := func(text string) dialog.Result {
				t.Helper()
				id++
				res, err := r.Handle(ctx, bot.Update{Booker: b, ID: strconv.Itoa(id), Input: dialog.Input{Kind: dialog.InputText, Text: text, LanguageHint: "en"}})
				if err != nil {
					t.Fatalf("Handle(%q) = %v", text, err)
				}
				return res
			}
			for _, text := range []string{"hello", "Book for others", "Other passport or identity document", "E1234567", "1970", "yes", "91234567"} {
				send(text)
			}

			// The first try meets the pooled connection the proxy cut, the
			// second needs a new connection.
			tt.fail(proxy)
			want := locales.MustLoad().Text(locales.En, bot.KeyUnavailable, nil)
			for try := 1; try <= 2; try++ {
				start := time.Now()
				res := send("OK")
				elapsed := time.Since(start)
				if len(res.Replies) == 0 || res.Replies[0].Key != bot.KeyUnavailable || res.Replies[0].Text != want {
					t.Errorf("answer %d with PostgreSQL %s = %+v, want %s %q first", try, tt.name, res.Replies, bot.KeyUnavailable, want)
				}
				t.Logf("PostgreSQL %s, try %d: the booker was told %q after %v", tt.name, try, want, elapsed.Round(time.Millisecond))
				// Without postgres.OpTimeout a stalled connection would hold
				// the update until the router's deadline.
				if elapsed > deadline/2 {
					t.Errorf("answer %d with PostgreSQL %s took %v, want under half the router's deadline %v", try, tt.name, elapsed.Round(time.Millisecond), deadline)
				}
			}

			proxy.Up()
			res := send("OK")
			if len(res.Replies) == 0 || res.Replies[0].Key == bot.KeyUnavailable || res.Replies[0].Key == bot.KeyInternal {
				t.Fatalf("answer after PostgreSQL came back = %+v, want the next step", res.Replies)
			}
			if got := res.States; len(got) == 0 || got[len(got)-1] != "a_service" {
				t.Errorf("states after PostgreSQL came back = %v, want to end at a_service", got)
			}
		})
	}
}

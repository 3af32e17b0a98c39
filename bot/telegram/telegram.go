package telegram

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot"
)

// Token is a Bot API token. It is a secret: it prints and logs redacted.
type Token string

// String redacts the token.
func (Token) String() string { return "[redacted]" }

// GoString redacts the token from %#v.
func (Token) GoString() string { return "[redacted]" }

// LogValue redacts the token for log/slog.
func (Token) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Forgetter drops a booker's conversation; *bot.Router implements it.
type Forgetter interface {
	Forget(ctx context.Context, b booking.Booker) error
}

// Stander tells where a booker stands in a conversation; *bot.Router
// implements it. The Bot orders its sends by it when Telegram's send budget
// is short, and asks newcomers to come back when their answer would wait
// more than a few seconds.
type Stander interface {
	Standing(b booking.Booker) bot.Standing
}

// Options configure a Bot. Token and Handler are required.
type Options struct {
	// Token is the bot's Bot API token.
	Token Token
	// Endpoint is the Bot API method URL in tgbotapi's format, with two %s
	// for the token and the method: "http://127.0.0.1:8081/bot%s/%s" for a
	// local Bot API server. Empty means api.telegram.org.
	Endpoint string
	// HTTPClient makes the requests; nil means a new http.Client. Every
	// request carries a context deadline, so the client needs no Timeout.
	HTTPClient *http.Client
	// Handler handles each update (the router).
	Handler bot.Handler
	// Forgetter drops the session of a booker who blocked the bot; nil
	// forgets nothing.
	Forgetter Forgetter
	// Stander tells where bookers stand; nil means the Handler if it is
	// one, and otherwise every booker counts as in a conversation (sent in
	// arrival order, never asked to come back).
	Stander Stander
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock of the rate limiter; nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends (rate limits, retry_after, poll
	// back-off); nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// PollTimeout is the long-poll timeout of getUpdates; zero means 30s.
	PollTimeout time.Duration
	// UpdateTimeout bounds the handling of one update, replies included;
	// zero means 60s.
	UpdateTimeout time.Duration
	// MaxInFlight bounds the updates Poll handles at once; zero means 64.
	MaxInFlight int
	// Rate is how many messages a second the bot sends overall; zero means
	// DefaultRate. Telegram allows about 30, more for paid broadcasts.
	Rate float64
	// ChatRate is how many messages a second the bot sends to one chat,
	// with bursts of three times that (at least 1); zero means
	// DefaultChatRate.
	ChatRate float64
	// MaxPerChat bounds the updates of one chat Poll holds at once (one
	// handled, the others waiting their turn); the chat's further updates
	// are dropped until it has fewer. Zero means 4: more than a person
	// types or presses before the bot answers.
	MaxPerChat int
}

// Bot is a Telegram adapter. Its methods are safe for concurrent use.
type Bot struct {
	token         Token
	endpoint      string
	client        *http.Client
	handler       bot.Handler
	forgetter     Forgetter
	stander       Stander
	log           *slog.Logger
	sleep         func(ctx context.Context, d time.Duration) error
	pollTimeout   time.Duration
	updateTimeout time.Duration
	maxInFlight   int
	maxPerChat    int
	limiter       *limiter

	mu   sync.Mutex
	told map[int64]time.Time // newcomers asked to come back, and when
}

// The default rate limits, below Telegram's: about one message a second in
// one chat (short bursts allowed) and 30 a second overall.
const (
	DefaultRate     = 25.0
	DefaultChatRate = 1.0
)

// New returns a Bot. It makes no request; Check verifies the token.
func New(opts Options) (*Bot, error) {
	var errs []error
	if opts.Token == "" {
		errs = append(errs, errors.New("token is empty"))
	}
	if opts.Handler == nil {
		errs = append(errs, errors.New("handler is nil"))
	}
	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = tgbotapi.APIEndpoint
	}
	if strings.Count(endpoint, "%s") != 2 {
		errs = append(errs, fmt.Errorf("endpoint %q: want two %%s (token, method)", endpoint))
	}
	if opts.Rate < 0 || opts.ChatRate < 0 {
		errs = append(errs, fmt.Errorf("rates %v overall, %v a chat: want positive, or zero for the default", opts.Rate, opts.ChatRate))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("telegram: options: %w", err)
	}
	b := &Bot{
		token:         opts.Token,
		endpoint:      endpoint,
		client:        opts.HTTPClient,
		handler:       opts.Handler,
		forgetter:     opts.Forgetter,
		stander:       opts.Stander,
		told:          make(map[int64]time.Time),
		log:           opts.Logger,
		sleep:         opts.Sleep,
		pollTimeout:   opts.PollTimeout,
		updateTimeout: opts.UpdateTimeout,
		maxInFlight:   opts.MaxInFlight,
		maxPerChat:    opts.MaxPerChat,
	}
	if b.client == nil {
		b.client = &http.Client{}
	}
	if st, ok := opts.Handler.(Stander); ok && b.stander == nil {
		b.stander = st
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.log = b.log.With("component", "telegram")
	if b.sleep == nil {
		b.sleep = sleep
	}
	if b.pollTimeout <= 0 {
		b.pollTimeout = 30 * time.Second
	}
	if b.updateTimeout <= 0 {
		b.updateTimeout = 60 * time.Second
	}
	if b.maxInFlight <= 0 {
		b.maxInFlight = 64
	}
	if b.maxPerChat <= 0 {
		b.maxPerChat = 4
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	all, chat := cmp.Or(opts.Rate, DefaultRate), cmp.Or(opts.ChatRate, DefaultChatRate)
	// Overall bursts of a fifth of a second's worth: at 25 a second no
	// second-long window holds more than 30, Telegram's limit.
	b.limiter = newLimiter(now, chat, max(1, math.Ceil(3*chat)), all, max(1, math.Ceil(all/5)))
	return b, nil
}

// Check calls getMe: it fails when the token or endpoint is wrong.
func (b *Bot) Check(ctx context.Context) error {
	_, err := b.do(ctx, "getMe", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.MakeRequest("getMe", nil)
	})
	return err
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

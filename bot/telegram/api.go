package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/clinicbot/clinicbot/bot"
)

// Outcomes of Bot API calls that the adapter acts on. An *APIError matches
// them with errors.Is.
var (
	// ErrForbidden: the booker blocked the bot (HTTP 403).
	ErrForbidden = errors.New("telegram: forbidden")
	// ErrNotModified: an edit would leave the message as it is.
	ErrNotModified = errors.New("telegram: message not modified")
	// ErrMessageGone: the message to edit or delete is not there any more
	// or may no longer be edited.
	ErrMessageGone = errors.New("telegram: message gone")
	// ErrTooManyRequests: still rate-limited after every retry.
	ErrTooManyRequests = errors.New("telegram: too many requests")
)

// APIError is an error answer of the Bot API. Description is Telegram's; it
// never carries message text.
type APIError struct {
	Method      string
	Code        int
	Description string
	RetryAfter  time.Duration
}

// Error says which method failed and how, in Telegram's words.
func (e *APIError) Error() string {
	return fmt.Sprintf("telegram: %s: %d %s", e.Method, e.Code, e.Description)
}

// Is matches the sentinel errors. The Bot API tells its 400 errors apart
// only by description, so this is the one place that reads it.
func (e *APIError) Is(target error) bool {
	d := strings.ToLower(e.Description)
	switch target {
	case ErrForbidden:
		return e.Code == http.StatusForbidden
	case ErrTooManyRequests:
		return e.Code == http.StatusTooManyRequests
	case ErrNotModified:
		return e.Code == http.StatusBadRequest && strings.Contains(d, "message is not modified")
	case ErrMessageGone:
		return e.Code == http.StatusBadRequest && (strings.Contains(d, "message to edit not found") ||
			strings.Contains(d, "message can't be edited") ||
			strings.Contains(d, "message to delete not found") ||
			strings.Contains(d, "message can't be deleted"))
	}
	return false
}

// errNewcomerWaited: a newcomer's message waited busyAfter for the send
// budget and was not sent.
var errNewcomerWaited = errors.New("telegram: newcomer waited for the send budget")

// maxRetries is how many times a call answered 429 is retried.
const maxRetries = 5

// defaultCallTimeout bounds a call whose context has no deadline (set-up
// calls such as setWebhook), waits after 429 included.
const defaultCallTimeout = 2 * time.Minute

// transport binds a request to a context and notes the HTTP status; tgbotapi
// builds its requests without a context and drops the status of uploads.
type transport struct {
	ctx    context.Context
	client *http.Client
	status int
}

// Do sends req under the transport's context (tgbotapi.HTTPClient).
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.client.Do(req.WithContext(t.ctx))
	if err != nil {
		// A *url.Error names the URL, and the URL holds the token.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	t.status = resp.StatusCode
	return resp, nil
}

// do runs one Bot API call through fn with ctx, waiting out HTTP 429 (at
// most maxRetries times) and translating errors.
func (b *Bot) do(ctx context.Context, method string, fn func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error)) (*tgbotapi.APIResponse, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCallTimeout)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		t := &transport{ctx: ctx, client: b.client}
		// A BotAPI per call carries the call's context in its client; it
		// needs none of the fields NewBotAPIWithClient fills in besides the
		// token, the client and the endpoint (no getMe round trip).
		api := &tgbotapi.BotAPI{Token: string(b.token), Client: t}
		api.SetAPIEndpoint(b.endpoint)
		resp, err := fn(api)
		if err == nil {
			return resp, nil
		}
		err = translate(method, t.status, err)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != http.StatusTooManyRequests {
			return nil, err
		}
		if attempt == maxRetries {
			return nil, err
		}
		wait := ae.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		b.log.WarnContext(ctx, "rate limited by telegram", "method", method, "retry_after", wait)
		b.limiter.pause(wait)
		if err := b.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("telegram: %s: waiting %v after 429: %w", method, wait, err)
		}
	}
}

// translate turns tgbotapi's errors into *APIError or a wrapped transport
// error.
func translate(method string, status int, err error) error {
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		code := te.Code
		if code == 0 {
			code = status // uploads leave Code empty
		}
		return &APIError{
			Method:      method,
			Code:        code,
			Description: te.Message,
			RetryAfter:  time.Duration(te.RetryAfter) * time.Second,
		}
	}
	return fmt.Errorf("telegram: %s: %w", method, err)
}

// request sends c, which must not be a message (it is not rate-limited).
func (b *Bot) request(ctx context.Context, method string, c tgbotapi.Chattable) (*tgbotapi.APIResponse, error) {
	return b.do(ctx, method, func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.Request(c)
	})
}

// message sends or edits a message in chat after the rate limiter allows,
// and returns the message Telegram answers with (zero for an edit that
// answers true).
//
// It waits for the send budget by the booker's standing: the higher of
// where they stand now and where they stood when their update came (see
// withStanding), so that the answer that ends a conversation (the booking)
// still goes out as a conversation's.
func (b *Bot) message(ctx context.Context, chatID int64, method string, c tgbotapi.Chattable) (tgbotapi.Message, error) {
	if prepaid(ctx) {
		// Its place in the rate limit was waited for before (Notify).
		return b.send(ctx, method, c)
	}
	st := b.standing(chatID)
	if before, ok := ctx.Value(standingKey{}).(bot.Standing); ok && before > st {
		st = before
	}
	return b.messageAs(ctx, chatID, st, method, c)
}

// standingKey holds, in the context of an update's handling, where the
// booker stood when the update came.
type standingKey struct{}

// withStanding notes in ctx where chat's booker stands before their
// update is handled.
func (b *Bot) withStanding(ctx context.Context, chatID int64) context.Context {
	return context.WithValue(ctx, standingKey{}, b.standing(chatID))
}

// messageAs is message, waiting for the send budget as a booker of
// standing st.
//
// A newcomer's message waits for the budget busyAfter at most: then it
// fails with errNewcomerWaited, and the newcomer is asked to come back
// rather than left waiting (and holding one of Poll's places) in silence.
func (b *Bot) messageAs(ctx context.Context, chatID int64, st bot.Standing, method string, c tgbotapi.Chattable) (tgbotapi.Message, error) {
	wctx := ctx
	if st == bot.Newcomer {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeoutCause(ctx, busyAfter, errNewcomerWaited)
		defer cancel()
	}
	if err := b.limiter.wait(wctx, chatID, st, b.sleep); err != nil {
		if ctx.Err() == nil && errors.Is(context.Cause(wctx), errNewcomerWaited) {
			return tgbotapi.Message{}, errNewcomerWaited
		}
		return tgbotapi.Message{}, fmt.Errorf("telegram: %s: rate limit: %w", method, err)
	}
	return b.send(ctx, method, c)
}

// send sends or edits a message now, its place in the rate limit had.
func (b *Bot) send(ctx context.Context, method string, c tgbotapi.Chattable) (tgbotapi.Message, error) {
	resp, err := b.request(ctx, method, c)
	if err != nil {
		return tgbotapi.Message{}, err
	}
	var m tgbotapi.Message
	if len(resp.Result) > 0 && resp.Result[0] == '{' {
		if err := json.Unmarshal(resp.Result, &m); err != nil {
			return tgbotapi.Message{}, fmt.Errorf("telegram: %s: decode message: %w", method, err)
		}
	}
	return m, nil
}

package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// SecretHeader is the header in which Telegram sends a webhook's secret.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxUpdateBytes bounds a webhook request body.
const maxUpdateBytes = 1 << 20

// secretPattern is what Telegram allows as a secret_token.
var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// WebhookHandler returns the handler for Telegram's webhook calls: it
// refuses a request without the secret (401), handles the update with its
// own deadline and answers 200. An empty secret refuses every request.
//
// The update is handled before the answer, so Telegram's max_connections
// bounds the updates in hand; a failure is logged rather than answered with
// an error, which would only make Telegram deliver the update again.
func (b *Bot) WebhookHandler(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get(SecretHeader)
		if secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			b.log.WarnContext(r.Context(), "webhook call refused", "reason", "secret")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var u tgbotapi.Update
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxUpdateBytes)).Decode(&u); err != nil {
			b.log.WarnContext(r.Context(), "webhook call refused", "reason", "body", "error", err)
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		// Telegram gives up on a slow answer and sends the update again;
		// finishing it regardless keeps it taking effect once.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), b.updateTimeout)
		defer cancel()
		b.handle(ctx, u)
		w.WriteHeader(http.StatusOK)
	})
}

// SetWebhook points Telegram at url with secret (1–256 of A–Z, a–z, 0–9,
// _ and -), for messages and button presses, keeping pending updates.
// tgbotapi v5.5.1 knows no secret_token, so the request is built here.
func (b *Bot) SetWebhook(ctx context.Context, url, secret string) error {
	if !secretPattern.MatchString(secret) {
		return errors.New("telegram: setWebhook: secret must be 1-256 of A-Z a-z 0-9 _ -")
	}
	allowed, err := json.Marshal(allowedUpdates)
	if err != nil {
		return fmt.Errorf("telegram: setWebhook: %w", err)
	}
	params := tgbotapi.Params{
		"url":                  url,
		"secret_token":         secret,
		"allowed_updates":      string(allowed),
		"drop_pending_updates": "false",
	}
	_, err = b.do(ctx, "setWebhook", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.MakeRequest("setWebhook", params)
	})
	return err
}

// SetCommands sets the command menu: zh-HK for every language ("") and for
// Chinese ("zh": Telegram cannot tell Traditional from Simplified there),
// English for "en".
func (b *Bot) SetCommands(ctx context.Context) error {
	for _, cl := range commandLanguages {
		cfg := tgbotapi.SetMyCommandsConfig{Commands: botCommands(cl.lang), LanguageCode: cl.code}
		if _, err := b.request(ctx, "setMyCommands", cfg); err != nil {
			return fmt.Errorf("telegram: commands for %q: %w", cl.code, err)
		}
	}
	return nil
}

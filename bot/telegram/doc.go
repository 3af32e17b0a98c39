// Package telegram connects clinicbot to Telegram's Bot API through
// github.com/go-telegram-bot-api/telegram-bot-api/v5.
//
// A Bot turns Telegram updates into bot.Update values for a bot.Handler (the
// router) and renders the engine's dialog.Result back as Telegram messages:
// options as inline keyboards whose callback data carries the step nonce, a
// contact-sharing keyboard where a phone number is asked, the calendar file as
// a document and the clinic as a venue.
//
// Updates arrive by long polling (Poll, which confirms an update to Telegram
// only after it and every update before it have been handled) or by webhook
// (WebhookHandler and SetWebhook). Every request carries a context deadline,
// sends are rate-limited per chat and overall, HTTP 429 is waited out, and a
// booker who blocked the bot has their session forgotten.
//
// No message text, phone number or token reaches a log.
package telegram

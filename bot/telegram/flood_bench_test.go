package telegram_test

import (
	"context"
	"flag"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/bot/telegram"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
	"github.com/clinicbot/clinicbot/dialog"
)

var (
	floodUpdates = flag.Int("flood", 100, "BenchmarkFlood: updates the flooding chat sends at once")
	floodOthers  = flag.Int("flood-others", 20, "BenchmarkFlood: other chats, one update each, sent after the flood")
)

// BenchmarkFlood measures how long other chats wait for their answer while
// one chat floods the bot in polling mode, on the fake Bot API with the
// real clock and rate limits (about one message a second a chat, 25 in
// all). The handler answers at once, so what is measured is the adapter.
// Run it once: go test ./bot/telegram -run '^$' -bench Flood -benchtime 1x
func BenchmarkFlood(b *testing.B) {
	for b.Loop() {
		delays := floodOnce(b, *floodUpdates, *floodOthers)
		slices.Sort(delays)
		b.ReportMetric(delays[len(delays)/2].Seconds(), "others-p50-s")
		b.ReportMetric(delays[len(delays)-1].Seconds(), "others-max-s")
	}
}

func floodOnce(b *testing.B, flood, others int) []time.Duration {
	srv := telegramtest.NewServer(b)
	h := handlerFunc(func(ctx context.Context, u bot.Update) (dialog.Result, error) {
		return dialog.Result{Replies: []dialog.Reply{reply("ok")}, Lang: "en"}, nil
	})
	tg, err := telegram.New(telegram.Options{
		Token: telegram.Token(srv.Token), Endpoint: srv.Endpoint(), Handler: h,
		Logger: slog.New(slog.DiscardHandler), PollTimeout: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	const floodChat = 1
	for range flood {
		srv.SendText(floodChat, "x")
	}
	sent := make([]time.Time, others)
	for i := range others {
		sent[i] = time.Now()
		srv.SendText(int64(100+i), "hello")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tg.Poll(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	delays := make([]time.Duration, others)
	var wg sync.WaitGroup
	for i := range others {
		wg.Go(func() {
			for len(srv.LastMessages(int64(100+i))) == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			delays[i] = time.Since(sent[i])
		})
	}
	wg.Wait()
	return delays
}

package telegram

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a pair of token buckets (golang.org/x/time/rate), one per chat
// and one overall, on an injected clock. reserve takes a token from both at
// once and says how long to wait before using it, so waiters are served in
// the order they came. A 429 from Telegram pauses every chat until its
// retry_after has passed.
type limiter struct {
	mu        sync.Mutex
	now       func() time.Time
	chatRate  rate.Limit
	chatBurst int
	all       *rate.Limiter
	chats     map[int64]*rate.Limiter
	paused    time.Time // no message leaves before this
}

// sweepAbove is the number of chat buckets above which full ones (which
// behave exactly like absent ones) are dropped.
const sweepAbove = 1024

func newLimiter(now func() time.Time, chatRate, chatBurst, globalRate, globalBurst float64) *limiter {
	return &limiter{
		now:       now,
		chatRate:  rate.Limit(chatRate),
		chatBurst: int(chatBurst),
		all:       rate.NewLimiter(rate.Limit(globalRate), int(globalBurst)),
		chats:     make(map[int64]*rate.Limiter),
	}
}

// reserve takes a token for one message to chatID and returns the wait.
func (l *limiter) reserve(chatID int64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.chats) > sweepAbove {
		for id, cl := range l.chats {
			if cl.TokensAt(now) >= float64(l.chatBurst) {
				delete(l.chats, id)
			}
		}
	}
	cl, ok := l.chats[chatID]
	if !ok {
		cl = rate.NewLimiter(l.chatRate, l.chatBurst)
		l.chats[chatID] = cl
	}
	return max(cl.ReserveN(now, 1).DelayFrom(now), l.all.ReserveN(now, 1).DelayFrom(now), l.paused.Sub(now))
}

// pause holds every message back for d from now, as Telegram asks with
// retry_after: the limit it enforces is the bot's, not one call's. A
// shorter pause never cuts a longer one short.
func (l *limiter) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.paused) {
		l.paused = until
	}
}

package telegram

import (
	"sync"
	"time"
)

// limiter is a pair of token buckets, one per chat and one overall, on an
// injected clock. reserve takes a token from both at once and says how long
// to wait before using it, so waiters are served in the order they came.
type limiter struct {
	mu     sync.Mutex
	now    func() time.Time
	chat   rateSpec
	global rateSpec
	all    bucket
	chats  map[int64]*bucket
}

type rateSpec struct {
	rate  float64 // tokens a second
	burst float64
}

// bucket holds tokens as of at; tokens may be negative: reserved ahead.
type bucket struct {
	tokens float64
	at     time.Time
}

// sweepAbove is the number of chat buckets above which full ones (which
// behave exactly like absent ones) are dropped.
const sweepAbove = 1024

func newLimiter(now func() time.Time, chatRate, chatBurst, globalRate, globalBurst float64) *limiter {
	return &limiter{
		now:    now,
		chat:   rateSpec{rate: chatRate, burst: chatBurst},
		global: rateSpec{rate: globalRate, burst: globalBurst},
		all:    bucket{tokens: globalBurst, at: now()},
		chats:  make(map[int64]*bucket),
	}
}

// refill brings b up to now.
func (s rateSpec) refill(b *bucket, now time.Time) {
	if now.After(b.at) {
		b.tokens += now.Sub(b.at).Seconds() * s.rate
		if b.tokens > s.burst {
			b.tokens = s.burst
		}
		b.at = now
	}
}

// take removes a token and returns how long until the bucket is back at zero.
func (s rateSpec) take(b *bucket) time.Duration {
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / s.rate * float64(time.Second))
}

// reserve takes a token for one message to chatID and returns the wait.
func (l *limiter) reserve(chatID int64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.chats) > sweepAbove {
		for id, b := range l.chats {
			l.chat.refill(b, now)
			if b.tokens >= l.chat.burst {
				delete(l.chats, id)
			}
		}
	}
	cb, ok := l.chats[chatID]
	if !ok {
		cb = &bucket{tokens: l.chat.burst, at: now}
		l.chats[chatID] = cb
	}
	l.chat.refill(cb, now)
	l.global.refill(&l.all, now)
	return max(l.chat.take(cb), l.global.take(&l.all))
}

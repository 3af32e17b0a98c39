package telegram

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/clinicbot/clinicbot/bot"
)

// limiter is a pair of token buckets (golang.org/x/time/rate), one per chat
// and one overall, on an injected clock. wait takes a token from the
// chat's, in order, then from the overall one: when messages queue for it,
// by the booker's standing, bookers past consent first, then the others in
// a conversation, then newcomers. A 429 from Telegram pauses every chat
// until its retry_after has passed.
type limiter struct {
	mu        sync.Mutex
	now       func() time.Time
	chatRate  rate.Limit
	chatBurst int
	all       *rate.Limiter
	chats     map[int64]*rate.Limiter
	paused    time.Time // no message leaves before this
	// queue holds the messages waiting for the overall budget, by
	// standing; one pump hands them tokens while any wait.
	queue   [bot.PastConsent + 1][]chan struct{}
	queued  int
	pumping bool
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

// wait blocks until a message of a booker of standing st may go to chatID,
// or ctx ends. The chat's own bucket is served in order (one chat's
// messages are one booker's answers, in order); the overall budget, when
// messages queue for it, by standing, highest first. sleep waits on the
// limiter's clock.
func (l *limiter) wait(ctx context.Context, chatID int64, st bot.Standing, sleep func(context.Context, time.Duration) error) error {
	l.mu.Lock()
	now := l.now()
	d := l.chat(chatID, now).ReserveN(now, 1).DelayFrom(now)
	l.mu.Unlock()
	if d > 0 {
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}

	l.mu.Lock()
	now = l.now()
	if l.queued == 0 && !now.Before(l.paused) {
		r := l.all.ReserveN(now, 1)
		if r.DelayFrom(now) == 0 {
			l.mu.Unlock()
			return nil
		}
		r.CancelAt(now)
	}
	turn := make(chan struct{})
	l.queue[st] = append(l.queue[st], turn)
	l.queued++
	if !l.pumping {
		l.pumping = true
		go l.pump(sleep)
	}
	l.mu.Unlock()
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-turn: // its token goes unused: Telegram is sent less, not more
	default:
		for i, t := range l.queue[st] {
			if t == turn {
				l.queue[st] = append(l.queue[st][:i:i], l.queue[st][i+1:]...)
				l.queued--
				break
			}
		}
	}
	return ctx.Err()
}

// pump hands the overall budget's tokens, as they come, to the waiting
// message of the highest standing; it ends when none waits.
func (l *limiter) pump(sleep func(context.Context, time.Duration) error) {
	for {
		l.mu.Lock()
		if l.queued == 0 {
			l.pumping = false
			l.mu.Unlock()
			return
		}
		now := l.now()
		d := max(l.all.ReserveN(now, 1).DelayFrom(now), l.paused.Sub(now))
		l.mu.Unlock()
		if d > 0 {
			// Bounded by the bucket and retry_after; each waiter bounds
			// its own wait with its context.
			_ = sleep(context.Background(), d)
		}
		l.mu.Lock()
		for st := bot.PastConsent; st >= bot.Newcomer; st-- {
			if q := l.queue[st]; len(q) > 0 {
				close(q[0])
				l.queue[st] = q[1:]
				l.queued--
				break
			}
		}
		l.mu.Unlock()
	}
}

// backlog is how long a message that starts waiting for the overall budget
// now would wait, at least: behind every message queued and any pause.
func (l *limiter) backlog() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := time.Duration(float64(l.queued) / float64(l.all.Limit()) * float64(time.Second))
	return max(d, l.paused.Sub(l.now()))
}

// chat returns chatID's bucket, sweeping full ones when there are many.
// Called with l.mu held.
func (l *limiter) chat(chatID int64, now time.Time) *rate.Limiter {
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
	return cl
}

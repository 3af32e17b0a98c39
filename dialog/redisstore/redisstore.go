// Package redisstore keeps conversation sessions in Redis (go-redis v9), so
// that several replicas of the bot can serve the same bookers.
//
// Each booker has a handful of keys, all carrying the session key as a hash
// tag so that they live in one Redis Cluster slot and one Lua script may
// touch them together:
//
//	<prefix>sess:{<session key>}         hash {v: version, d: sealed session, e: idle deadline}; expires after Idle
//	<prefix>seen:{<session key>}         "<0|1>|<lang>": flow open at the last save, and the language; 30 days
//	<prefix>lock:{<session key>}         the router's lock: a random token, SET NX PX
//	<prefix>upd:{<session key>}          sorted set of the update ids taken into effect, scored by commit
//	                                     time (Unix ms, store's clock): those of the last 24 hours, 1,000 at
//	                                     most; expires 24 hours after the last commit
//
// The version is kept beside the blob in the hash, in clear, so that the
// compare-and-set scripts compare it without opening the sealed blob; the
// blob is opaque binary to Redis. The idle deadline e (Unix milliseconds by
// the store's clock, Options.Now) lets a fake clock expire a session as
// Redis's own expiry (PX, by Redis's clock) does in production. The blob is the session's JSON, deflated
// (a mid-flow session takes about 310 bytes instead of 1.1 KB) and sealed at
// rest (it holds a patient's identity document number while a flow is open),
// bound to its key so that a blob copied under another booker's key does not
// open.
//
// The update ids are one small set per booker rather than a key per update:
// a key costs about 140 bytes of Redis, a set member about 20, and a
// booker's dozen updates in a conversation would otherwise outweigh the
// session itself. Ids may restart at any value (a WhatsApp message id is
// random), so only the ids themselves, not a watermark, say what was seen.
//
// Store implements dialog.SessionStore and, with Begin, Commit and Abort, the
// coordinator the bot router needs: lock, deduplication and session load in
// one round trip, and save, deduplication mark and unlock in a second.
package redisstore

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clinicbot/clinicbot/dialog"
)

// Default option values.
const (
	DefaultPrefix    = "clinicbot:"
	DefaultIdle      = 15 * time.Minute
	DefaultMarkerTTL = 30 * 24 * time.Hour
	DefaultDedupeTTL = 24 * time.Hour
	DefaultDedupeMax = 1000
)

// ErrNotHeld is returned by Commit when the caller no longer holds the
// booker's lock (it expired and may have been taken by another replica);
// nothing was stored.
var ErrNotHeld = errors.New("redisstore: lock not held")

// Sealer seals a session at rest. *booking.Protector satisfies it. The
// second argument binds the sealed value to a purpose: Open fails for a
// value sealed with another.
type Sealer interface {
	Seal(plaintext []byte, purpose string) ([]byte, error)
	Open(sealed []byte, purpose string) ([]byte, error)
}

// Options configure a Store. Sealer is required; the zero value of every
// other field means its default.
type Options struct {
	// Prefix starts every key (DefaultPrefix). Tests use a unique one.
	Prefix string
	// Idle is how long a session lives after its last save (DefaultIdle);
	// every save slides it.
	Idle time.Duration
	// MarkerTTL is how long a booker's language and whether a flow was open
	// are remembered after the last save (DefaultMarkerTTL), to greet a
	// returning booker whose session expired.
	MarkerTTL time.Duration
	// DedupeTTL is how long an update id is remembered (DefaultDedupeTTL).
	DedupeTTL time.Duration
	// DedupeMax is how many of a booker's update ids are remembered at most
	// (DefaultDedupeMax): beyond it the oldest are forgotten before their
	// DedupeTTL. A messenger redelivers only recent updates, and a person
	// sends far fewer in a day; the cap bounds the memory of a runaway
	// client.
	DedupeMax int
	// Sealer seals sessions at rest.
	Sealer Sealer
	// Now is the store's clock (time.Now). It stamps Session.UpdatedAt and,
	// with Idle, decides when a session has expired, so that a fake clock
	// works as in dialog.MemoryStore; Redis itself deletes the session Idle
	// after its last save by Redis's clock.
	Now func() time.Time
	// Logger reports sessions that could not be opened (discarded).
	Logger *slog.Logger
}

// Store keeps sessions in Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	opts   Options
}

// New returns a Store over client. Give the client short timeouts so that an
// unreachable Redis fails an update within a second or two rather than after
// go-redis's 5-second defaults; ClientOptions sets them.
//
// New panics if client or opts.Sealer is nil: sessions are never stored in
// clear.
func New(client redis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redisstore: New with a nil client")
	}
	if opts.Sealer == nil {
		panic("redisstore: New without a Sealer")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Idle <= 0 {
		opts.Idle = DefaultIdle
	}
	if opts.MarkerTTL <= 0 {
		opts.MarkerTTL = DefaultMarkerTTL
	}
	if opts.DedupeTTL <= 0 {
		opts.DedupeTTL = DefaultDedupeTTL
	}
	if opts.DedupeMax <= 0 {
		opts.DedupeMax = DefaultDedupeMax
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Store{client: client, opts: opts}
}

// DefaultPoolSize is the connection pool ClientOptions sets when the URL
// names none. go-redis's own default (10 per CPU, 20 here) ran dry in the
// surge drill: updates then waited PoolTimeout for a connection and were
// answered "try again" although Redis itself was up. Connections are
// cheap for Redis; waiting for one is not for a booker.
const DefaultPoolSize = 64

// ClientLogger routes go-redis's own log lines (dial failures, pool
// events; they carry addresses, never keys or values) to log at Warn.
// Install it with redis.SetLogger; go-redis otherwise prints to stderr.
type ClientLogger struct{ Log *slog.Logger }

// Printf implements go-redis's logging interface.
func (l ClientLogger) Printf(ctx context.Context, format string, v ...any) {
	l.Log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// ClientOptions parses a redis:// URL into client options with timeouts
// short enough that an unreachable Redis is reported within about a second:
// DialTimeout, ReadTimeout and WriteTimeout 500ms, PoolTimeout 1s, one dial
// attempt and one retry, and context deadlines honoured; the pool holds
// DefaultPoolSize connections. Values set in the
// URL's query (e.g. ?dial_timeout=2s) are kept.
func ClientOptions(rawURL string) (*redis.Options, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: parse URL: %w", err)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 500 * time.Millisecond
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 500 * time.Millisecond
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 500 * time.Millisecond
	}
	if o.PoolTimeout == 0 {
		o.PoolTimeout = time.Second
	}
	if o.PoolSize == 0 {
		o.PoolSize = DefaultPoolSize
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
	o.ContextTimeoutEnabled = true
	return o, nil
}

// keys are one booker's Redis keys.
type keys struct {
	sess, seen, lock, upd string
}

func (s *Store) keys(key string) keys {
	tag := "{" + key + "}"
	return keys{
		sess: s.opts.Prefix + "sess:" + tag,
		seen: s.opts.Prefix + "seen:" + tag,
		lock: s.opts.Prefix + "lock:" + tag,
		upd:  s.opts.Prefix + "upd:" + tag,
	}
}

func (s *Store) purpose(key string) string { return "dialog session " + key }

// Load returns the booker's session. See dialog.SessionStore.
func (s *Store) Load(ctx context.Context, key string) (*dialog.Session, error) {
	k := s.keys(key)
	pipe := s.client.Pipeline()
	hash := pipe.HMGet(ctx, k.sess, "v", "d", "e")
	marker := pipe.Get(ctx, k.seen)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: load session: %w", err)
	}
	vals := hash.Val()
	return s.decodeReply(key, vals[0], vals[1], vals[2], marker.Val())
}

// Save stores sess if the stored version still equals sess.Version, slides
// its expiry and increments sess.Version; otherwise it returns
// dialog.ErrStale. See dialog.SessionStore.
func (s *Store) Save(ctx context.Context, key string, sess *dialog.Session) error {
	k := s.keys(key)
	return s.save(ctx, key, sess, []string{k.sess, k.seen}, "", "")
}

// Delete forgets the booker's session and marker.
func (s *Store) Delete(ctx context.Context, key string) error {
	k := s.keys(key)
	if err := s.client.Del(ctx, k.sess, k.seen).Err(); err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	return nil
}

// Begin starts handling one update of the booker: it takes the booker's lock
// with token, and, unless updateID was committed before, loads the session,
// all in one script. While another holder keeps the lock it retries with a
// growing backoff until ctx ends. A duplicate update releases the lock at
// once and returns duplicate true and no session. An empty updateID is never
// a duplicate.
//
// The caller ends the update with Commit or Abort, within lockTTL.
func (s *Store) Begin(ctx context.Context, key, updateID, token string, lockTTL time.Duration) (sess *dialog.Session, duplicate bool, err error) {
	k := s.keys(key)
	ks := []string{k.lock, k.sess, k.seen}
	args := []any{token, lockTTL.Milliseconds()}
	if updateID != "" {
		ks = append(ks, k.upd)
		args = append(args, updateID, s.opts.Now().Add(-s.opts.DedupeTTL).UnixMilli())
	}
	backoff := 2 * time.Millisecond
	for {
		res, err := beginScript.Run(ctx, s.client, ks, args...).Slice()
		if err != nil {
			return nil, false, fmt.Errorf("redisstore: begin: %w", err)
		}
		var status int64 = -1
		if len(res) > 0 {
			status, _ = res[0].(int64)
		}
		switch {
		case status == beginLocked && len(res) == 5:
			sess, err := s.decodeReply(key, res[1], res[2], res[3], res[4])
			if err != nil {
				s.release(ctx, key, token)
				return nil, false, err
			}
			return sess, false, nil
		case status == beginDuplicate:
			return nil, true, nil
		case status == beginBusy && len(res) == 2:
			wait := backoff
			if ttl, _ := res[1].(int64); ttl > 0 && time.Duration(ttl)*time.Millisecond < wait {
				wait = time.Duration(ttl) * time.Millisecond
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, false, fmt.Errorf("redisstore: begin: waiting for the lock: %w", context.Cause(ctx))
			case <-t.C:
			}
			backoff = min(backoff*2, 100*time.Millisecond)
		default:
			return nil, false, fmt.Errorf("redisstore: begin: unexpected script reply %v", res)
		}
	}
}

// Commit ends an update begun with Begin: if token still holds the lock and
// the stored version still equals sess.Version, it stores sess (sliding its
// expiry), writes the marker, marks updateID as taken into effect and
// releases the lock, all in one script, and increments sess.Version. A lost
// lock returns ErrNotHeld, a moved version dialog.ErrStale (releasing the
// lock); either way nothing is stored.
func (s *Store) Commit(ctx context.Context, key, updateID, token string, sess *dialog.Session) error {
	k := s.keys(key)
	ks := []string{k.sess, k.seen, k.lock}
	if updateID != "" {
		ks = append(ks, k.upd)
	}
	return s.save(ctx, key, sess, ks, token, updateID)
}

// Abort ends an update begun with Begin without storing anything: it
// releases the lock if token still holds it.
func (s *Store) Abort(ctx context.Context, key, token string) error {
	if err := unlockScript.Run(ctx, s.client, []string{s.keys(key).lock}, token).Err(); err != nil {
		return fmt.Errorf("redisstore: abort: %w", err)
	}
	return nil
}

// release is Abort for an update Begin itself gives up: the lock would
// otherwise block the booker until it expires.
func (s *Store) release(ctx context.Context, key, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := s.Abort(ctx, key, token); err != nil {
		s.opts.Logger.Warn("release session lock", "err", err)
	}
}

// save runs the compare-and-set script; with a token, over the lock and
// updates keys too (ks is sess, seen[, lock[, updates]]), marking updateID.
func (s *Store) save(ctx context.Context, key string, sess *dialog.Session, ks []string, token, updateID string) error {
	now := s.opts.Now()
	sess.UpdatedAt = now.UTC()
	plain, err := encode(sess)
	if err != nil {
		return fmt.Errorf("redisstore: encode session: %w", err)
	}
	sealed, err := s.opts.Sealer.Seal(plain, s.purpose(key))
	if err != nil {
		return fmt.Errorf("redisstore: seal session: %w", err)
	}
	open := "0"
	if sess.InFlow() {
		open = "1"
	}
	n, err := saveScript.Run(ctx, s.client, ks,
		strconv.FormatInt(sess.Version, 10), sealed, s.opts.Idle.Milliseconds(),
		open+"|"+sess.Lang, s.opts.MarkerTTL.Milliseconds(),
		token, s.opts.DedupeTTL.Milliseconds(), now.Add(s.opts.Idle).UnixMilli(),
		updateID, now.UnixMilli(), now.Add(-s.opts.DedupeTTL).UnixMilli(), s.opts.DedupeMax,
	).Int64()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: save session: %w", err)
	case n == saveStale:
		return dialog.ErrStale
	case n == saveNotHeld:
		return ErrNotHeld
	}
	sess.Version = n
	return nil
}

// decodeReply builds the session from the script's or pipeline's replies:
// the hash fields v, d and e (nil when Redis expired the session) and the
// marker.
func (s *Store) decodeReply(key string, v, d, e, marker any) (*dialog.Session, error) {
	var open bool
	var lang string
	if m, ok := marker.(string); ok {
		flag, l, _ := strings.Cut(m, "|")
		open, lang = flag == "1", l
	}
	blob, ok := d.(string)
	if !ok {
		return &dialog.Session{Lang: lang, TimedOut: open}, nil
	}
	version, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("redisstore: session version %q: %w", v, err)
	}
	// Expired by the store's clock but not yet by Redis's: a new session,
	// keeping the stored version so that the next save replaces it.
	if deadline, err := strconv.ParseInt(fmt.Sprint(e), 10, 64); err == nil && s.opts.Now().UnixMilli() >= deadline {
		return &dialog.Session{Version: version, Lang: lang, TimedOut: open}, nil
	}
	sess := &dialog.Session{}
	plain, err := s.opts.Sealer.Open([]byte(blob), s.purpose(key))
	if err == nil {
		err = decode(plain, sess)
	}
	if err != nil {
		// A session sealed under a retired key, or damaged, is as good as
		// expired: start afresh, keeping the stored version.
		s.opts.Logger.Warn("session could not be opened; starting afresh", "err", err)
		return &dialog.Session{Version: version, Lang: lang, TimedOut: true}, nil
	}
	sess.Version = version
	sess.TimedOut = false
	return sess, nil
}

// maxSessionBytes bounds a decompressed session: far above any real one
// (about 1.3 KB of JSON mid-flow).
const maxSessionBytes = 64 << 10

// flaters are deflate writers at BestSpeed: resetting one at a higher level
// clears a 512 KB hash table, which cost more CPU per save than all the rest
// of the encoding, for a blob only about a tenth smaller.
var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // the level is valid: no error
	return w
}}

// inflaters are deflate readers with their buffers, reused across loads.
var inflaters = sync.Pool{New: func() any {
	return &inflater{r: flate.NewReader(bytes.NewReader(nil))}
}}

type inflater struct {
	r   io.ReadCloser // also a flate.Resetter
	src bytes.Reader
	out bytes.Buffer
}

// encode is the session's JSON, deflated: the /back history repeats the
// answers frame after frame, and compresses to about a quarter.
func encode(sess *dialog.Session) ([]byte, error) {
	plain, err := sess.MarshalBinary()
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(plain)/2))
	w := flaters.Get().(*flate.Writer)
	defer flaters.Put(w)
	w.Reset(buf)
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decode reverses encode.
func decode(data []byte, sess *dialog.Session) error {
	in := inflaters.Get().(*inflater)
	defer inflaters.Put(in)
	in.src.Reset(data)
	if err := in.r.(flate.Resetter).Reset(&in.src, nil); err != nil {
		return err
	}
	in.out.Reset()
	if _, err := in.out.ReadFrom(io.LimitReader(in.r, maxSessionBytes+1)); err != nil {
		return err
	}
	if in.out.Len() > maxSessionBytes {
		return errors.New("session too large")
	}
	return sess.UnmarshalBinary(in.out.Bytes())
}

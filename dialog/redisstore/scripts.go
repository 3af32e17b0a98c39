package redisstore

import "github.com/redis/go-redis/v9"

// Replies of beginScript (first element).
const (
	beginBusy      = 0 // {0, lock PTTL}
	beginLocked    = 1 // {1, v, d, e, marker}
	beginDuplicate = 2 // {2}
)

// beginScript takes the lock, checks the update id and loads the session.
// An id counts as seen only if it was committed after the oldest time still
// remembered: the set is trimmed only when a commit runs.
//
// KEYS: lock, sess, seen[, updates].
// ARGV: token, lock TTL (ms)[, update id, oldest commit time remembered (Unix ms)].
var beginScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, redis.call('PTTL', KEYS[1])}
end
local at = KEYS[4] and redis.call('ZSCORE', KEYS[4], ARGV[3])
if at and tonumber(at) > tonumber(ARGV[4]) then
  redis.call('DEL', KEYS[1])
  return {2}
end
local h = redis.call('HMGET', KEYS[2], 'v', 'd', 'e')
return {1, h[1], h[2], h[3], redis.call('GET', KEYS[3])}
`)

// Replies of saveScript besides the new version.
const (
	saveStale   = -1
	saveNotHeld = -2
)

// saveScript is the compare-and-set save. With a lock key it first checks
// the token, and releases the lock when done (stale or not); with the
// updates key it adds the update id scored by the commit time, drops ids
// older than the dedupe TTL and all but the newest ones beyond the cap, and
// keeps the set for the dedupe TTL after this commit.
//
// KEYS: sess, seen[, lock[, updates]].
// ARGV: expected version, sealed session, idle (ms), marker, marker TTL (ms),
// token, update TTL (ms), idle deadline by the store's clock (Unix ms),
// update id, commit time (Unix ms), oldest commit time remembered (Unix ms),
// most ids remembered.
var saveScript = redis.NewScript(`
if KEYS[3] and redis.call('GET', KEYS[3]) ~= ARGV[6] then
  return -2
end
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then
  if KEYS[3] then redis.call('DEL', KEYS[3]) end
  return -1
end
local nv = tonumber(v) + 1
redis.call('HSET', KEYS[1], 'v', nv, 'd', ARGV[2], 'e', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
if KEYS[4] then
  redis.call('ZADD', KEYS[4], ARGV[10], ARGV[9])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[11])
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -tonumber(ARGV[12]) - 1)
  redis.call('PEXPIRE', KEYS[4], ARGV[7])
end
if KEYS[3] then redis.call('DEL', KEYS[3]) end
return nv
`)

// unlockScript deletes the lock only for its holder.
//
// KEYS: lock. ARGV: token.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

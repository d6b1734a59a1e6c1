import { RedisScript } from './redis-script';

/** `lua` as a script Redis runs even when full (`noeviction`). */
const allowOom = (lua: string) => new RedisScript(`#!lua flags=allow-oom${lua}`);

/** Lua that writes the record KEYS[1] over revision ARGV[1] (returns 0 if it differs); see below. */
const WRITE_OVER_REVISION = `
local stored = redis.call('HGET', KEYS[1], 'revision')
if (tonumber(stored) or 0) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'revision', ARGV[2], 'record', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
`;

const COMPARE_AND_SET_LUA = `${WRITE_OVER_REVISION}if KEYS[2] then redis.call('SET', KEYS[2], KEYS[1], 'PX', ARGV[4]) end
return 1
`;

/**
 * Compare-and-set of one order or attempt. KEYS[1]: the record (a hash of `revision` and `record`
 * JSON); KEYS[2], when it has an mchOrderNo: its index, holding KEYS[1]'s name. ARGV: expected
 * revision (0: none), new revision, JSON, TTL in ms. Returns 1 when written, else 0. Both keys get
 * the same TTL, so the index never outlives its record. Refused while Redis is full.
 */
export const COMPARE_AND_SET = new RedisScript(COMPARE_AND_SET_LUA);

/**
 * `COMPARE_AND_SET` that Redis runs even when full (`noeviction`), for writes that record what
 * already happened (an outcome whose listeners ran, a released claim, a create sent): refusing
 * them would let it happen again. The records are about the size of the ones they replace.
 */
export const COMPARE_AND_SET_ALLOW_OOM = allowOom(COMPARE_AND_SET_LUA);

/**
 * The record JSON an mchOrderNo index (KEYS[1]) points to, or nil. The record key (its full name,
 * any client-side keyPrefix included) is only known once read: Cluster allows it in the same slot.
 */
export const FIND_BY_MCH_ORDER_NO = new RedisScript(`
local ref = redis.call('GET', KEYS[1])
if not ref then return false end
return redis.call('HGET', ref, 'record')
`);

/**
 * Lua that tracks an open payout. KEYS from k: the due and open indexes (sorted sets by next check
 * and by first tracked), the merchants and the return watches' ends (hashes by mchOrderNo). ARGV
 * from a: mchOrderNo, openedAt, dueAt, merchantId ('' keeps the one recorded), watchUntil ('' for
 * none; the first one recorded is kept).
 */
function trackLua(k: number, a: number): string {
  return `
redis.call('ZADD', KEYS[${k}], ARGV[${a + 2}], ARGV[${a}])
redis.call('ZADD', KEYS[${k + 1}], 'NX', ARGV[${a + 1}], ARGV[${a}])
if ARGV[${a + 3}] ~= '' then redis.call('HSET', KEYS[${k + 2}], ARGV[${a}], ARGV[${a + 3}]) end
if ARGV[${a + 4}] ~= '' then redis.call('HSETNX', KEYS[${k + 3}], ARGV[${a}], ARGV[${a + 4}]) end
`;
}

/** Lua that stops tracking ARGV[a] (the same KEYS from k). */
function untrackLua(k: number, a: number): string {
  return `
redis.call('ZREM', KEYS[${k}], ARGV[${a}])
redis.call('ZREM', KEYS[${k + 1}], ARGV[${a}])
redis.call('HDEL', KEYS[${k + 2}], ARGV[${a}])
redis.call('HDEL', KEYS[${k + 3}], ARGV[${a}])
`;
}

/**
 * Tracks an open payout (`trackLua` from KEYS[1] and ARGV[1]). Run even when Redis is full: a
 * create already sent must stay watched (its attempt was written when there was room).
 */
export const TRACK_OPEN = allowOom(`${trackLua(1, 1)}return 1`);

/** Stops tracking an open payout (same KEYS). It only removes, so Redis runs it even when full. */
export const UNTRACK_OPEN = allowOom(`${untrackLua(1, 1)}return 1`);

const SETTLE_LUA = `${WRITE_OVER_REVISION}redis.call('SET', KEYS[2], KEYS[1], 'PX', ARGV[4])
if ARGV[5] == 'untrack' then${untrackLua(3, 6)}else${trackLua(3, 6)}end
return 1
`;

/**
 * `COMPARE_AND_SET` of an order under an mchOrderNo that changes the open index in the same step.
 * KEYS: the record, its index, the four open-index keys; ARGV: as `COMPARE_AND_SET`, then
 * `untrack` and mchOrderNo, or `track` and `TRACK_OPEN`'s ARGV.
 */
export const COMPARE_AND_SET_OPEN = new RedisScript(SETTLE_LUA);

/** `COMPARE_AND_SET_OPEN` that runs while Redis is full (see `COMPARE_AND_SET_ALLOW_OOM`). */
export const COMPARE_AND_SET_OPEN_ALLOW_OOM = allowOom(SETTLE_LUA);

/**
 * What a status report is judged on, in one round trip: KEYS[1] the order's record, KEYS[2] the
 * attempt of its mchOrderNo, KEYS[3] that mchOrderNo's index. Returns the record, attempt and
 * indexed record JSON ('' for each one absent).
 */
export const REPORT_CONTEXT = new RedisScript(`
local ref = redis.call('GET', KEYS[3])
return {
  redis.call('HGET', KEYS[1], 'record') or '',
  redis.call('HGET', KEYS[2], 'record') or '',
  ref and redis.call('HGET', ref, 'record') or ''
}
`);

/**
 * Takes and leases due entries (same KEYS). ARGV: now, limit, lease end. Returns mchOrderNo, dueAt,
 * openedAt, merchantId, watchUntil ('' when none) for each entry taken; each one's score moves to
 * the lease end in the same script, so two replicas never take one entry.
 */
export const TAKE_DUE_OPEN = new RedisScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local taken = {}
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], ARGV[3], due[i])
  taken[#taken + 1] = due[i]
  taken[#taken + 1] = due[i + 1]
  taken[#taken + 1] = redis.call('ZSCORE', KEYS[2], due[i]) or due[i + 1]
  taken[#taken + 1] = redis.call('HGET', KEYS[3], due[i]) or ''
  taken[#taken + 1] = redis.call('HGET', KEYS[4], due[i]) or ''
end
return taken
`);

/**
 * A page of open entries by (openedAt, mchOrderNo) (same KEYS). ARGV: limit, then the cursor's
 * openedAt and mchOrderNo ('' and '' for the first page), which need not be open any more. Returns
 * what `TAKE_DUE_OPEN` does.
 */
export const LIST_OPEN = new RedisScript(`
local limit = tonumber(ARGV[1])
local page
if ARGV[2] == '' then
  page = redis.call('ZRANGE', KEYS[2], 0, limit - 1, 'WITHSCORES')
else
  -- Entries opened in the cursor's millisecond sort by mchOrderNo, byte by byte as the sorted set
  -- orders them (Lua's <= on strings follows the server's locale): skip those up to the cursor's.
  local function upTo(a, b)
    for i = 1, math.min(#a, #b) do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then return x < y end
    end
    return #a <= #b
  end
  local tied = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[2], ARGV[2])
  local skip = 0
  for _, member in ipairs(tied) do
    if upTo(member, ARGV[3]) then skip = skip + 1 end
  end
  page = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', skip, limit)
end
local out = {}
for i = 1, #page, 2 do
  out[#out + 1] = page[i]
  out[#out + 1] = redis.call('ZSCORE', KEYS[1], page[i]) or page[i + 1]
  out[#out + 1] = page[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[3], page[i]) or ''
  out[#out + 1] = redis.call('HGET', KEYS[4], page[i]) or ''
end
return out
`);

/** How many payouts are tracked (KEYS: as TRACK_OPEN): all of them, and those watched for a return. */
export const COUNT_OPEN = new RedisScript(`
return { redis.call('ZCARD', KEYS[2]), redis.call('HLEN', KEYS[4]) }
`);

/**
 * The server's clock in epoch ms. KEYS[1]: any key of the store, so that on a cluster the time is
 * read on the node that holds the store's keys (every key shares one hash tag).
 */
export const SERVER_TIME = new RedisScript(`
local t = redis.call('TIME')
return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`);

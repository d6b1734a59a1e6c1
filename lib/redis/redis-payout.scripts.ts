import { RedisScript } from './redis-script';

/**
 * Compare-and-set of one order. KEYS[1]: the record (a hash of `revision` and `record` JSON);
 * KEYS[2], when the record has an mchOrderNo: its index, which holds KEYS[1]'s name.
 * ARGV: expected revision (0: none stored), new revision, record JSON, TTL in ms.
 * Returns 1 when written, 0 when the stored revision differs. Both keys get the same TTL on every
 * write, so the index never outlives (nor dies before) its record.
 */
export const COMPARE_AND_SET = new RedisScript(`
local stored = redis.call('HGET', KEYS[1], 'revision')
if (tonumber(stored) or 0) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'revision', ARGV[2], 'record', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if KEYS[2] then redis.call('SET', KEYS[2], KEYS[1], 'PX', ARGV[4]) end
return 1
`);

/**
 * The record JSON an mchOrderNo index (KEYS[1]) points to, or nil. The index holds the record key's
 * full name as Redis sees it (any client-side keyPrefix included); it is not declared in KEYS
 * because it is only known once read, which Redis Cluster allows for a key in the same slot.
 */
export const FIND_BY_MCH_ORDER_NO = new RedisScript(`
local ref = redis.call('GET', KEYS[1])
if not ref then return false end
return redis.call('HGET', ref, 'record')
`);

// Types only: nothing of ioredis is loaded at runtime; the host's client brings the code.
import type { Cluster, Redis } from 'ioredis';
import { type PayoutClock, SyncedPayoutClock } from '../clock/payout.clock';
import { parseStored } from '../store/compare-and-set';
import { openChangeParams, openEntry } from '../store/open-payout.index';
import {
  DEFAULT_RECORD_TTL_MS,
  type PayoutAttempt,
  type PayoutOpenCursor,
  type PayoutOpenChange,
  type PayoutOpenDetails,
  type PayoutOpenEntry,
  type PayoutRecord,
  type PayoutReportContext,
  type PayoutStore,
} from '../store/payout-store.interface';
import {
  COMPARE_AND_SET,
  COMPARE_AND_SET_ALLOW_OOM,
  COMPARE_AND_SET_OPEN,
  COMPARE_AND_SET_OPEN_ALLOW_OOM,
  FIND_BY_MCH_ORDER_NO,
  COUNT_OPEN,
  LIST_OPEN,
  REPORT_CONTEXT,
  SERVER_TIME,
  TAKE_DUE_OPEN,
  TRACK_OPEN,
  UNTRACK_OPEN,
} from './redis-payout.scripts';
import type { RedisScript, RedisScriptClient } from './redis-script';

/** Options of `RedisPayoutStore`. */
export interface RedisPayoutStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` that your app owns: the store never connects, quits or
   * reconfigures it. Make commands fail fast while Redis is down (for example
   * `enableOfflineQueue: false` or `maxRetriesPerRequest: 1`), so the webhook answers 503 at once
   * instead of holding Cashy's request. A client-side `keyPrefix` is honoured.
   */
  client: Redis | Cluster;
  /** Start of every key this store writes (default `cashy-payout:`); must not contain `{` or `}`. */
  keyPrefix?: string;
  /** How long an order is kept after its last write, in ms (default 48 h, past Cashy's ~17 h of retries). */
  ttlMs?: number;
  /**
   * The clock the module decides on. Default: the Redis server's (`TIME`), read at start and every
   * 30 s and advanced by each replica's monotonic clock in between, so replicas whose wall clocks
   * disagree still agree on every window, lease and horizon.
   */
  clock?: PayoutClock;
}

/**
 * A `PayoutStore` in Redis, shared by every replica of your app (keys and scripts: docs/stores.md).
 * Every write is one Lua script that checks the revision and writes the record, its mchOrderNo
 * index and their TTLs together. Every key shares the hash tag `{payout}`: the index is looked up
 * without the orderNo, so only a store-wide tag keeps a record and its index in one cluster slot.
 * Redis errors propagate unchanged (the module answers 503, so Cashy retries).
 */
export class RedisPayoutStore implements PayoutStore {
  /** The defaults, in one place. */
  static readonly DEFAULTS = { keyPrefix: 'cashy-payout:', ttlMs: DEFAULT_RECORD_TTL_MS } as const;

  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly clock: PayoutClock;
  // `Redis | Cluster` have overloaded signatures that a union cannot call; both satisfy this.
  private readonly client: Pick<Redis, 'hget'> & RedisScriptClient;

  constructor(options: RedisPayoutStoreOptions) {
    const client = options?.client;
    if (!client || typeof client.evalsha !== 'function' || typeof client.hget !== 'function') {
      throw new TypeError('RedisPayoutStore: client must be an ioredis Redis or Cluster instance');
    }
    this.client = client;
    this.keyPrefix = options.keyPrefix ?? RedisPayoutStore.DEFAULTS.keyPrefix;
    this.ttlMs = options.ttlMs ?? RedisPayoutStore.DEFAULTS.ttlMs;
    // A brace in the prefix would become the hash tag and could scatter one order's keys over slots.
    if (typeof this.keyPrefix !== 'string' || /[{}]/.test(this.keyPrefix))
      throw new RangeError('RedisPayoutStore: keyPrefix must be a string without { or }');
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 1)
      throw new RangeError('RedisPayoutStore: ttlMs must be a whole number of ms >= 1');
    this.clock =
      options.clock ??
      new SyncedPayoutClock(async () =>
        Number(await SERVER_TIME.run(this.client, this.openKeys(), [])),
      );
  }

  /** The key of an order's record (before any client-side `keyPrefix`). */
  recordKey(orderNo: string): string {
    return `${this.keyPrefix}{payout}:order:${orderNo}`;
  }

  /** The key of the index from an mchOrderNo to its record (before any client-side `keyPrefix`). */
  indexKey(mchOrderNo: string): string {
    return `${this.keyPrefix}{payout}:mch:${mchOrderNo}`;
  }

  async get(orderNo: string): Promise<PayoutRecord | undefined> {
    return parseStored(await this.client.hget(this.recordKey(orderNo), 'record'));
  }

  async getReportContext(orderNo: string, mchOrderNo: string): Promise<PayoutReportContext> {
    const keys = [this.recordKey(orderNo), this.attemptKey(mchOrderNo), this.indexKey(mchOrderNo)];
    const reply = await REPORT_CONTEXT.run(this.client, keys, []);
    // '' for each one absent.
    const [record, attempt, indexed] = reply as [string, string, string];
    return {
      record: parseStored(record || null),
      attempt: parseStored(attempt || null),
      sibling: indexedUnder(indexed || null, mchOrderNo),
    };
  }

  async compareAndSet(
    record: PayoutRecord,
    expectedRevision: number,
    open?: PayoutOpenChange,
  ): Promise<boolean> {
    // While Redis is full, a new record or a claim is refused (the webhook answers 503, nothing runs);
    // what rewrites a record with what already happened (an outcome, a released claim) is not.
    const recordsWhatHappened = record.claim === undefined && expectedRevision > 0;
    const keys = [this.recordKey(record.orderNo)];
    if (record.mchOrderNo !== undefined) keys.push(this.indexKey(record.mchOrderNo));
    if (open && record.mchOrderNo !== undefined) {
      const change = ['untrack' in open ? 'untrack' : 'track', ...openChangeParams(open, '')];
      const script = recordsWhatHappened ? COMPARE_AND_SET_OPEN_ALLOW_OOM : COMPARE_AND_SET_OPEN;
      return this.write(script, [...keys, ...this.openKeys()], record, expectedRevision, change);
    }
    const script = recordsWhatHappened ? COMPARE_AND_SET_ALLOW_OOM : COMPARE_AND_SET;
    const written = await this.write(script, keys, record, expectedRevision);
    // With no mchOrderNo to write it with, the open-index change goes on its own.
    if (written && open) {
      if ('untrack' in open) await this.untrackOpen(open.untrack);
      else await this.trackOpen(open.track, open.openedAt, open.dueAt, open.details);
    }
    return written;
  }

  /** The key of a create attempt (before any client-side `keyPrefix`). */
  attemptKey(mchOrderNo: string): string {
    return `${this.keyPrefix}{payout}:attempt:${mchOrderNo}`;
  }

  async getAttempt(mchOrderNo: string): Promise<PayoutAttempt | undefined> {
    return parseStored(await this.client.hget(this.attemptKey(mchOrderNo), 'record'));
  }

  async compareAndSetAttempt(attempt: PayoutAttempt, expectedRevision: number): Promise<boolean> {
    // Before a create is sent, a full Redis refuses (nothing goes out); after, what happened is always recorded.
    const script = attempt.state === 'sending' ? COMPARE_AND_SET : COMPARE_AND_SET_ALLOW_OOM;
    return this.write(script, [this.attemptKey(attempt.mchOrderNo)], attempt, expectedRevision);
  }

  /** Runs a compare-and-set script for `value`: ARGV expected and new revision, JSON, TTL, `more`. */
  private async write(
    script: RedisScript,
    keys: string[],
    value: PayoutRecord | PayoutAttempt,
    expectedRevision: number,
    more: (string | number)[] = [],
  ): Promise<boolean> {
    const args = [expectedRevision, value.revision, JSON.stringify(value), this.ttlMs, ...more];
    return (await script.run(this.client, keys, args)) === 1;
  }

  async trackOpen(
    mchOrderNo: string,
    openedAt: number,
    dueAt: number,
    details?: PayoutOpenDetails,
  ): Promise<void> {
    const args = openChangeParams({ track: mchOrderNo, openedAt, dueAt, details }, '');
    await TRACK_OPEN.run(this.client, this.openKeys(), args);
  }

  async untrackOpen(mchOrderNo: string): Promise<void> {
    await UNTRACK_OPEN.run(this.client, this.openKeys(), [mchOrderNo]);
  }

  async takeDueOpen(now: number, limit: number, leaseMs: number): Promise<PayoutOpenEntry[]> {
    const lease = [now, limit, now + leaseMs];
    return toOpenEntries(await TAKE_DUE_OPEN.run(this.client, this.openKeys(), lease));
  }

  async listOpen(limit: number, after?: PayoutOpenCursor): Promise<PayoutOpenEntry[]> {
    const page = [limit, after?.openedAt ?? '', after?.mchOrderNo ?? ''];
    return toOpenEntries(await LIST_OPEN.run(this.client, this.openKeys(), page));
  }

  async countOpen(): Promise<{ open: number; watching: number }> {
    const [all, watching] = (await COUNT_OPEN.run(this.client, this.openKeys(), [])) as number[];
    return { open: all - watching, watching };
  }

  /** The due and open indexes and the open payouts' merchants (before any client-side `keyPrefix`). */
  private openKeys(): string[] {
    const names = ['due', 'open', 'open-merchant', 'open-watch'];
    return names.map((name) => `${this.keyPrefix}{payout}:${name}`);
  }

  async findByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined> {
    const json = await FIND_BY_MCH_ORDER_NO.run(this.client, [this.indexKey(mchOrderNo)], []);
    return indexedUnder(json, mchOrderNo);
  }
}

/**
 * The record an mchOrderNo index points to, if still written under that mchOrderNo: an order
 * rewritten under another leaves the old index behind until it expires.
 */
function indexedUnder(json: unknown, mchOrderNo: string): PayoutRecord | undefined {
  const record = parseStored<PayoutRecord>(json);
  return record?.mchOrderNo === mchOrderNo ? record : undefined;
}

/** Reads the flat `mchOrderNo, dueAt, openedAt, merchantId, watchUntil, …` list the index scripts return. */
function toOpenEntries(reply: unknown): PayoutOpenEntry[] {
  const flat = (Array.isArray(reply) ? reply : []).map(String);
  const entries: PayoutOpenEntry[] = [];
  for (let i = 0; i + 4 < flat.length; i += 5) {
    const [mchOrderNo, dueAt, openedAt, merchantId, watchUntil] = flat.slice(i, i + 5);
    entries.push(
      openEntry({
        mchOrderNo,
        dueAt: Number(dueAt),
        openedAt: Number(openedAt),
        merchantId: merchantId || undefined,
        watchUntil: watchUntil ? Number(watchUntil) : undefined,
      }),
    );
  }
  return entries;
}

// Types only: nothing of ioredis is loaded at runtime; the host's client brings the code.
import type { Cluster, Redis } from 'ioredis';
import { type PayoutClock, SyncedPayoutClock } from '../clock/payout.clock';
import type {
  PayoutAttempt,
  PayoutOpenCursor,
  PayoutOpenChange,
  PayoutOpenDetails,
  PayoutOpenEntry,
  PayoutRecord,
  PayoutReportContext,
  PayoutStore,
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
  /**
   * How long an order is kept after its last write, in ms. The default, 48 h, outlasts Cashy's ten
   * retries (about 17 h), so a late retry is still recognised as a duplicate.
   */
  ttlMs?: number;
  /**
   * The clock the module decides on. Default: the Redis server's (`TIME`), read at start and every
   * 30 s and advanced by each replica's monotonic clock in between, so replicas whose wall clocks
   * disagree still agree on every window, lease and horizon.
   */
  clock?: PayoutClock;
}

/**
 * A `PayoutStore` in Redis, shared by every replica of your app, so a duplicate or a retry is
 * recognised whichever replica it reaches and concurrent copies emit once in total.
 *
 * Keys (`P` = `keyPrefix`):
 * - `P{payout}:order:<orderNo>`, a hash: `revision` and `record` (the JSON of the `PayoutRecord`);
 * - `P{payout}:mch:<mchOrderNo>`, a string: the name of the record key;
 * - `P{payout}:attempt:<mchOrderNo>`, a hash: `revision` and `record` (the JSON of the `PayoutAttempt`);
 * - `P{payout}:due` and `P{payout}:open`, sorted sets of the open payouts' mchOrderNo by next check
 *   and by first tracked: the built-in reconciliation's index, O(log n) per operation, no scans.
 *
 * `compareAndSet` is one Lua script (one round trip) that checks the revision and writes the record,
 * its index and both TTLs together, so the index can never point at a record that was not written.
 * A script may only touch keys of one slot on Redis Cluster, and the index is looked up by
 * mchOrderNo without knowing the orderNo, so no per-order hash tag can put both in one slot: every
 * key shares the hash tag `{payout}` instead. That keeps all of one store's keys on one cluster
 * node, which payout volumes (orders live for `ttlMs`, a few hundred bytes each) fit comfortably;
 * the keys still start with `keyPrefix`, for ACLs and `SCAN`.
 *
 * Redis errors propagate unchanged; the module turns them into `PayoutStoreError` and the webhook
 * answers 503, so Cashy retries. What the store remembers across a Redis restart is up to your
 * Redis persistence (AOF or RDB): without it, a retry after a restart emits again.
 */
export class RedisPayoutStore implements PayoutStore {
  /** The defaults, in one place. */
  static readonly DEFAULTS = {
    keyPrefix: 'cashy-payout:',
    ttlMs: 48 * 60 * 60 * 1000,
  } as const;

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
    const keyPrefix = options.keyPrefix ?? RedisPayoutStore.DEFAULTS.keyPrefix;
    const ttlMs = options.ttlMs ?? RedisPayoutStore.DEFAULTS.ttlMs;
    // A brace in the prefix would become the hash tag and could scatter one order's keys over slots.
    if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix))
      throw new RangeError('RedisPayoutStore: keyPrefix must be a string without { or }');
    if (!Number.isInteger(ttlMs) || ttlMs < 1)
      throw new RangeError('RedisPayoutStore: ttlMs must be a whole number of ms >= 1');
    this.client = client;
    this.keyPrefix = keyPrefix;
    this.ttlMs = ttlMs;
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
    return this.parse(await this.client.hget(this.recordKey(orderNo), 'record'));
  }

  async getReportContext(orderNo: string, mchOrderNo: string): Promise<PayoutReportContext> {
    const [record, attempt, indexed] = (await REPORT_CONTEXT.run(
      this.client,
      [this.recordKey(orderNo), this.attemptKey(mchOrderNo), this.indexKey(mchOrderNo)],
      [],
    )) as [string, string, string];
    const sibling = this.parse(indexed || null);
    return {
      record: this.parse(record || null),
      attempt: this.parse<PayoutAttempt>(attempt || null),
      // An order rewritten under another mchOrderNo leaves the old index behind until it expires.
      sibling: sibling?.mchOrderNo === mchOrderNo ? sibling : undefined,
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
    if (open && record.mchOrderNo !== undefined) {
      const keys = [
        this.recordKey(record.orderNo),
        this.indexKey(record.mchOrderNo),
        ...this.openKeys(),
      ];
      const script = recordsWhatHappened ? COMPARE_AND_SET_OPEN_ALLOW_OOM : COMPARE_AND_SET_OPEN;
      const written = await script.run(this.client, keys, [
        expectedRevision,
        record.revision,
        JSON.stringify(record),
        this.ttlMs,
        ...('untrack' in open
          ? ['untrack', open.untrack]
          : [
              'track',
              open.track,
              open.openedAt,
              open.dueAt,
              open.details?.merchantId ?? '',
              open.details?.watchUntil ?? '',
            ]),
      ]);
      return written === 1;
    }
    const keys = [this.recordKey(record.orderNo)];
    if (record.mchOrderNo !== undefined) keys.push(this.indexKey(record.mchOrderNo));
    const script = recordsWhatHappened ? COMPARE_AND_SET_ALLOW_OOM : COMPARE_AND_SET;
    const written = await this.write(script, keys, record, expectedRevision);
    if (written && open) await this.applyOpenChange(open);
    return written;
  }

  /** An open-index change on its own (for a record with no mchOrderNo to write it with). */
  private async applyOpenChange(open: PayoutOpenChange): Promise<void> {
    if ('untrack' in open) await this.untrackOpen(open.untrack);
    else await this.trackOpen(open.track, open.openedAt, open.dueAt, open.details);
  }

  /** The key of a create attempt (before any client-side `keyPrefix`). */
  attemptKey(mchOrderNo: string): string {
    return `${this.keyPrefix}{payout}:attempt:${mchOrderNo}`;
  }

  async getAttempt(mchOrderNo: string): Promise<PayoutAttempt | undefined> {
    return this.parse<PayoutAttempt>(await this.client.hget(this.attemptKey(mchOrderNo), 'record'));
  }

  async compareAndSetAttempt(attempt: PayoutAttempt, expectedRevision: number): Promise<boolean> {
    const keys = [this.attemptKey(attempt.mchOrderNo)];
    // Before a create is sent, a full Redis refuses (nothing goes out); after, what happened is always recorded.
    const script = attempt.state === 'sending' ? COMPARE_AND_SET : COMPARE_AND_SET_ALLOW_OOM;
    return this.write(script, keys, attempt, expectedRevision);
  }

  /** Runs a compare-and-set script (`COMPARE_AND_SET` or its allow-oom twin) for `value`. */
  private async write(
    script: RedisScript,
    keys: string[],
    value: PayoutRecord | PayoutAttempt,
    expectedRevision: number,
  ): Promise<boolean> {
    const written = await script.run(this.client, keys, [
      expectedRevision,
      value.revision,
      JSON.stringify(value),
      this.ttlMs,
    ]);
    return written === 1;
  }

  async trackOpen(
    mchOrderNo: string,
    openedAt: number,
    dueAt: number,
    details: PayoutOpenDetails = {},
  ): Promise<void> {
    await TRACK_OPEN.run(this.client, this.openKeys(), [
      mchOrderNo,
      openedAt,
      dueAt,
      details.merchantId ?? '',
      details.watchUntil ?? '',
    ]);
  }

  async untrackOpen(mchOrderNo: string): Promise<void> {
    await UNTRACK_OPEN.run(this.client, this.openKeys(), [mchOrderNo]);
  }

  async takeDueOpen(now: number, limit: number, leaseMs: number): Promise<PayoutOpenEntry[]> {
    return toOpenEntries(
      await TAKE_DUE_OPEN.run(this.client, this.openKeys(), [now, limit, now + leaseMs]),
    );
  }

  async listOpen(limit: number, after?: PayoutOpenCursor): Promise<PayoutOpenEntry[]> {
    return toOpenEntries(
      await LIST_OPEN.run(this.client, this.openKeys(), [
        limit,
        after?.openedAt ?? '',
        after?.mchOrderNo ?? '',
      ]),
    );
  }

  async countOpen(): Promise<{ open: number; watching: number }> {
    const [all, watching] = (await COUNT_OPEN.run(this.client, this.openKeys(), [])) as [
      number,
      number,
    ];
    return { open: all - watching, watching };
  }

  /** The due and open indexes and the open payouts' merchants (before any client-side `keyPrefix`). */
  private openKeys(): string[] {
    return [
      `${this.keyPrefix}{payout}:due`,
      `${this.keyPrefix}{payout}:open`,
      `${this.keyPrefix}{payout}:open-merchant`,
      `${this.keyPrefix}{payout}:open-watch`,
    ];
  }

  async findByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined> {
    const record = this.parse(
      await FIND_BY_MCH_ORDER_NO.run(this.client, [this.indexKey(mchOrderNo)], []),
    );
    // An order rewritten under another mchOrderNo leaves the old index behind until it expires.
    return record?.mchOrderNo === mchOrderNo ? record : undefined;
  }

  private parse<T = PayoutRecord>(json: unknown): T | undefined {
    if (json === null || json === undefined) return undefined;
    return JSON.parse(String(json)) as T;
  }
}

/** Reads the flat `mchOrderNo, dueAt, openedAt, merchantId, watchUntil, …` list the index scripts return. */
function toOpenEntries(reply: unknown): PayoutOpenEntry[] {
  const flat = Array.isArray(reply) ? reply : [];
  const entries: PayoutOpenEntry[] = [];
  for (let i = 0; i + 4 < flat.length; i += 5) {
    const merchantId = String(flat[i + 3]);
    const watchUntil = String(flat[i + 4]);
    entries.push({
      mchOrderNo: String(flat[i]),
      dueAt: Number(flat[i + 1]),
      openedAt: Number(flat[i + 2]),
      ...(merchantId !== '' ? { merchantId } : {}),
      ...(watchUntil !== '' ? { watchUntil: Number(watchUntil) } : {}),
    });
  }
  return entries;
}

import { Logger } from '@nestjs/common';
import { MonotonicPayoutClock, type PayoutClock } from '../clock/payout.clock';
import { OpenPayoutIndex } from './open-payout.index';
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
} from './payout-store.interface';

/** Options of `MemoryPayoutStore`. */
export interface MemoryPayoutStoreOptions {
  /** Most orders, and most create attempts, kept; the least recently written go first (default 100,000). */
  maxEntries?: number;
  /** How long an order is kept after its last write, in ms (default 48 h, past Cashy's ~17 h of retries). */
  ttlMs?: number;
  /** The clock this store and the module decide on (default `MonotonicPayoutClock`). */
  clock?: PayoutClock;
}

interface Slot<V> {
  readonly key: string;
  /** The value while this slot is the key's latest write; `undefined` once superseded or removed. */
  value: V | undefined;
  readonly expiresAt: number;
}

/**
 * A map bounded in size and age (its store's `maxEntries` and `ttlMs`). When full it drops the
 * least recently written entry, except those `pinned` says are still needed: they are moved to the
 * back instead, and the map may then hold more than `maxEntries` until they are released.
 */
class BoundedMap<V> {
  private readonly slots = new Map<string, Slot<V>>();
  // Every write, oldest first, so the oldest entry is found in O(1) amortized.
  private queue: Slot<V>[] = [];
  private head = 0;
  /** After a pass that found every entry pinned: the size at which to look again. */
  private rescanAtSize = 0;

  constructor(
    private readonly bounds: Pick<MemoryPayoutStore, 'maxEntries' | 'ttlMs' | 'clock'>,
    private readonly onEarlyEviction: () => void,
    private readonly pinned: (value: V, now: number) => boolean,
    private readonly onRemove: (key: string, value: V) => void = () => undefined,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  get(key: string): V | undefined {
    const slot = this.slots.get(key);
    if (slot?.value === undefined) return undefined;
    const now = this.bounds.clock.now();
    // Past its time, but still needed (rule 10): kept until it is not.
    if (slot.expiresAt > now || this.pinned(slot.value, now)) return slot.value;
    this.remove(slot, slot.value);
    return undefined;
  }

  set(key: string, value: V): void {
    this.push(key, value, this.bounds.clock.now() + this.bounds.ttlMs);
    this.evict();
  }

  private push(key: string, value: V, expiresAt: number): void {
    const previous = this.slots.get(key);
    if (previous) previous.value = undefined;
    const slot: Slot<V> = { key, value, expiresAt };
    this.slots.set(key, slot);
    this.queue.push(slot);
  }

  private remove(slot: Slot<V>, value: V): void {
    slot.value = undefined;
    this.slots.delete(slot.key);
    this.onRemove(slot.key, value);
  }

  private evict(): void {
    // Every entry was pinned at the last pass: look again once the map has grown by a quarter, so
    // a map full of needed entries costs O(1) per write (amortized), not a pass over all of them.
    if (this.slots.size < this.rescanAtSize) return;
    this.rescanAtSize = 0;
    const now = this.bounds.clock.now();
    let pinnedSeen = 0;
    for (; this.head < this.queue.length; this.head++) {
      const slot = this.queue[this.head];
      if (slot.value === undefined) continue;
      const expired = slot.expiresAt <= now;
      if (!expired && this.slots.size <= this.bounds.maxEntries) break;
      if (this.pinned(slot.value, now)) {
        // Still needed (rule 10): keep it, at the back. Stop once every entry has been seen pinned.
        if (++pinnedSeen > this.slots.size) {
          this.rescanAtSize = Math.ceil(this.slots.size * 1.25) + 64;
          break;
        }
        this.push(slot.key, slot.value, expired ? now + this.bounds.ttlMs : slot.expiresAt);
        continue;
      }
      if (!expired) this.onEarlyEviction();
      this.remove(slot, slot.value);
    }
    // Drop consumed and superseded slots once they dominate the queue (rare, so O(1) amortized).
    const waiting = this.queue.length - this.head;
    if ((this.head > 1024 && this.head > waiting) || waiting > 4 * this.slots.size + 1024) {
      this.queue = this.queue.slice(this.head).filter((slot) => slot.value !== undefined);
      this.head = 0;
    }
  }
}

/**
 * The default `PayoutStore`: bounded maps in this process's memory, right for one replica. When
 * full it drops the least recently written first, but never what rule 10 keeps.
 */
export class MemoryPayoutStore implements PayoutStore {
  /** The defaults, in one place. */
  static readonly DEFAULTS = { maxEntries: 100_000, ttlMs: DEFAULT_RECORD_TTL_MS } as const;

  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly clock: PayoutClock;
  private readonly orders: BoundedMap<PayoutRecord>;
  private readonly attempts: BoundedMap<PayoutAttempt>;
  private readonly byMchOrderNo = new Map<string, string>();
  private readonly open = new OpenPayoutIndex();
  private readonly logger = new Logger(MemoryPayoutStore.name);
  private warnedEarlyEviction = false;

  constructor(options: MemoryPayoutStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? MemoryPayoutStore.DEFAULTS.maxEntries;
    this.ttlMs = options.ttlMs ?? MemoryPayoutStore.DEFAULTS.ttlMs;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1)
      throw new RangeError('MemoryPayoutStore: maxEntries must be a whole number >= 1');
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 1)
      throw new RangeError('MemoryPayoutStore: ttlMs must be a whole number of ms >= 1');
    this.clock = options.clock ?? new MonotonicPayoutClock();
    const warn = () => this.warnEarlyEviction();
    // Rule 10: a live claim, or an order still open, is never dropped.
    this.orders = new BoundedMap<PayoutRecord>(
      this,
      warn,
      (record, now) =>
        (record.claim !== undefined && record.claim.expiresAt > now) ||
        (record.mchOrderNo !== undefined && this.open.has(record.mchOrderNo)),
      (orderNo, record) => {
        if (record.mchOrderNo !== undefined && this.byMchOrderNo.get(record.mchOrderNo) === orderNo)
          this.byMchOrderNo.delete(record.mchOrderNo);
      },
    );
    this.attempts = new BoundedMap<PayoutAttempt>(
      this,
      warn,
      (attempt) =>
        attempt.state === 'sending' ||
        attempt.state === 'unknown' ||
        attempt.notice?.state === 'pending' ||
        this.open.has(attempt.mchOrderNo),
    );
  }

  /** Orders currently held. */
  get size(): number {
    return this.orders.size;
  }

  async get(orderNo: string): Promise<PayoutRecord | undefined> {
    return this.orders.get(orderNo);
  }

  async findByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined> {
    const orderNo = this.byMchOrderNo.get(mchOrderNo);
    return orderNo === undefined ? undefined : this.orders.get(orderNo);
  }

  async getReportContext(orderNo: string, mchOrderNo: string): Promise<PayoutReportContext> {
    return {
      record: this.orders.get(orderNo),
      attempt: this.attempts.get(mchOrderNo),
      sibling: await this.findByMchOrderNo(mchOrderNo),
    };
  }

  async compareAndSet(
    record: PayoutRecord,
    expectedRevision: number,
    open?: PayoutOpenChange,
  ): Promise<boolean> {
    // Synchronous from read to write, so atomic within this process.
    if ((this.orders.get(record.orderNo)?.revision ?? 0) !== expectedRevision) return false;
    // The last order written under an mchOrderNo is the one found by it (as in RedisPayoutStore).
    if (record.mchOrderNo !== undefined) this.byMchOrderNo.set(record.mchOrderNo, record.orderNo);
    // The index changes before the record is set, so that an order it untracks is not pinned.
    if (open && 'untrack' in open) this.open.untrack(open.untrack);
    else if (open) this.open.track(open.track, open.openedAt, open.dueAt, open.details);
    this.orders.set(record.orderNo, record);
    return true;
  }

  async getAttempt(mchOrderNo: string): Promise<PayoutAttempt | undefined> {
    return this.attempts.get(mchOrderNo);
  }

  async compareAndSetAttempt(attempt: PayoutAttempt, expectedRevision: number): Promise<boolean> {
    if ((this.attempts.get(attempt.mchOrderNo)?.revision ?? 0) !== expectedRevision) return false;
    this.attempts.set(attempt.mchOrderNo, attempt);
    return true;
  }

  async trackOpen(
    mchOrderNo: string,
    openedAt: number,
    dueAt: number,
    details?: PayoutOpenDetails,
  ): Promise<void> {
    this.open.track(mchOrderNo, openedAt, dueAt, details);
  }

  async untrackOpen(mchOrderNo: string): Promise<void> {
    this.open.untrack(mchOrderNo);
  }

  async takeDueOpen(now: number, limit: number, leaseMs: number): Promise<PayoutOpenEntry[]> {
    return this.open.takeDue(now, limit, leaseMs);
  }

  async listOpen(limit: number, after?: PayoutOpenCursor): Promise<PayoutOpenEntry[]> {
    return this.open.list(limit, after);
  }

  async countOpen(): Promise<{ open: number; watching: number }> {
    return this.open.count();
  }

  private warnEarlyEviction(): void {
    if (this.warnedEarlyEviction) return;
    this.warnedEarlyEviction = true;
    this.logger.warn(
      `MemoryPayoutStore is full (${this.maxEntries} entries): dropping orders before their retry window ends. ` +
        'Raise maxEntries or use a shared store, or a late retry may emit its event again.',
    );
  }
}

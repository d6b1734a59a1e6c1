import { Logger } from '@nestjs/common';
import type { PayoutRecord, PayoutStore } from './payout-store.interface';

/** Options of `MemoryPayoutStore`. */
export interface MemoryPayoutStoreOptions {
  /** Most orders kept; the least recently written is dropped first (default 100,000). */
  maxEntries?: number;
  /**
   * How long an order is kept after its last write, in ms. The default, 48 h, outlasts Cashy's
   * ten retries (about 17 h), so a late retry is still recognised as a duplicate.
   */
  ttlMs?: number;
}

interface Entry {
  readonly orderNo: string;
  /**
   * The record while this is the order's entry in the map; `undefined` once a later write or a
   * removal replaced it, so a stale queue slot holds no record alive.
   */
  record: PayoutRecord | undefined;
  readonly expiresAt: number;
}

/**
 * The default `PayoutStore`: a bounded map in this process's memory. Right for one replica; with
 * several, use a shared store so that a retry landing on another replica is still recognised.
 */
export class MemoryPayoutStore implements PayoutStore {
  /** The defaults, in one place. */
  static readonly DEFAULTS = { maxEntries: 100_000, ttlMs: 48 * 60 * 60 * 1000 } as const;

  readonly maxEntries: number;
  readonly ttlMs: number;
  private readonly entries = new Map<string, Entry>();
  // Every entry written, oldest first, so the oldest live one is found in O(1) amortized; slots whose
  // entry has no record were superseded by a later write or removed. (Iterating the
  // Map from its start instead walks over every entry deleted since V8 last compacted it.)
  private queue: Entry[] = [];
  private queueHead = 0;
  private readonly byMchOrderNo = new Map<string, string>();
  private readonly logger = new Logger(MemoryPayoutStore.name);
  private warnedEarlyEviction = false;

  constructor(options: MemoryPayoutStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? MemoryPayoutStore.DEFAULTS.maxEntries;
    const ttlMs = options.ttlMs ?? MemoryPayoutStore.DEFAULTS.ttlMs;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('MemoryPayoutStore: maxEntries must be a whole number >= 1');
    if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new RangeError('MemoryPayoutStore: ttlMs must be a whole number of ms >= 1');
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
  }

  /** Orders currently held. */
  get size(): number {
    return this.entries.size;
  }

  async get(orderNo: string): Promise<PayoutRecord | undefined> {
    return this.live(orderNo)?.record;
  }

  async findByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined> {
    const orderNo = this.byMchOrderNo.get(mchOrderNo);
    return orderNo === undefined ? undefined : this.live(orderNo)?.record;
  }

  async compareAndSet(record: PayoutRecord, expectedRevision: number): Promise<boolean> {
    // Synchronous from read to write, so atomic within this process.
    const current = this.live(record.orderNo);
    if ((current?.record?.revision ?? 0) !== expectedRevision) return false;
    const entry: Entry = { orderNo: record.orderNo, record, expiresAt: Date.now() + this.ttlMs };
    this.entries.set(record.orderNo, entry);
    this.queue.push(entry);
    if (current) current.record = undefined;
    // The last order written under an mchOrderNo is the one found by it (as in RedisPayoutStore).
    if (record.mchOrderNo !== undefined && this.byMchOrderNo.get(record.mchOrderNo) !== record.orderNo) {
      this.byMchOrderNo.set(record.mchOrderNo, record.orderNo);
    }
    this.evict();
    return true;
  }

  private live(orderNo: string): Entry | undefined {
    const entry = this.entries.get(orderNo);
    if (entry && entry.expiresAt <= Date.now()) {
      this.remove(orderNo, entry);
      return undefined;
    }
    return entry;
  }

  private remove(orderNo: string, entry: Entry): void {
    const mchOrderNo = entry.record?.mchOrderNo;
    entry.record = undefined;
    this.entries.delete(orderNo);
    if (mchOrderNo !== undefined && this.byMchOrderNo.get(mchOrderNo) === orderNo) this.byMchOrderNo.delete(mchOrderNo);
  }

  private evict(): void {
    const now = Date.now();
    while (this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead];
      if (entry.record !== undefined) {
        const expired = entry.expiresAt <= now;
        if (!expired && this.entries.size <= this.maxEntries) break;
        if (!expired && !this.warnedEarlyEviction) {
          this.warnedEarlyEviction = true;
          this.logger.warn(
            `MemoryPayoutStore is full (${this.maxEntries} orders): dropping orders before their retry window ends. ` +
              'Raise maxEntries or use a shared store, or a late retry may emit its event again.',
          );
        }
        this.remove(entry.orderNo, entry);
      }
      this.queueHead++; // superseded by a later write, already removed, or just evicted
    }
    // Rebuild the queue from the live entries once stale slots dominate it: rare, so O(1) amortized,
    // and the queue never holds more than about four slots per stored order.
    if (this.queue.length - this.queueHead > 4 * this.entries.size + 1024) this.compactQueue();
    else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Drops the superseded slots, keeping write order. */
  private compactQueue(): void {
    const live: Entry[] = [];
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const entry = this.queue[i];
      if (entry.record !== undefined) live.push(entry);
    }
    this.queue = live;
    this.queueHead = 0;
  }
}

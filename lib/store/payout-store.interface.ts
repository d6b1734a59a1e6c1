import type { PayoutCurrency, PayoutStatus } from '../interfaces/payout-types.interface';

/** A delivery that is running the listeners of one status right now. */
export interface PayoutClaim {
  status: PayoutStatus;
  /** Unique token of the delivery that holds the claim. */
  token: string;
  /** Epoch ms after which the claim is void (its holder is presumed dead). */
  expiresAt: number;
}

/**
 * What the module remembers about one order, keyed by Cashy's `orderNo`. Records are immutable:
 * the module always writes a new object, so a store may keep the objects it is given.
 */
export interface PayoutRecord {
  orderNo: string;
  mchOrderNo?: string;
  merchantId?: string;
  currency?: PayoutCurrency;
  /** The latest status that counts: a final one once known, else the latest in-progress one. */
  status?: PayoutStatus;
  /** Every status already handled; a notification repeating one of them emits nothing. */
  processed: PayoutStatus[];
  /** Whether a `SUCCESS` was already turned into `FAIL` by a SPEI return. */
  reversed: boolean;
  claim?: PayoutClaim;
  /** Incremented by every write; the basis of `compareAndSet`. */
  revision: number;
  /** Epoch ms of the last write. */
  updatedAt: number;
}

/**
 * Where notification state lives. Implement it to share state between replicas; the default,
 * `MemoryPayoutStore`, is right for a single process.
 *
 * Every method may be called concurrently; `compareAndSet` must be atomic.
 */
export interface PayoutStore {
  /** The record of an order, or `undefined`. */
  get(orderNo: string): Promise<PayoutRecord | undefined>;
  /**
   * Writes `record` (whose `revision` is `expectedRevision + 1`) only if the stored record still has
   * revision `expectedRevision` (0: no record yet). Resolves `false`, writing nothing, otherwise.
   */
  compareAndSet(record: PayoutRecord, expectedRevision: number): Promise<boolean>;
  /** The record of an order by your `mchOrderNo`, or `undefined`. */
  findByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined>;
}

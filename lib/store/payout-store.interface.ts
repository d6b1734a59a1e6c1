import type { PayoutClock } from '../clock/payout.clock';
import type { PayoutCurrency, PayoutStatus } from '../payout.types';

/** A delivery that is running the listeners of one status (or one anomaly) right now. */
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
  /** The merchant the order was created under (or, for an order first seen by webhook, that signed it). */
  merchantId?: string;
  currency?: PayoutCurrency;
  /** The amount the order was created with, a decimal string at the market's scale, when known. */
  amount?: string;
  /** The latest status that counts: a final one once known, else the latest in-progress one. */
  status?: PayoutStatus;
  /** Every status already handled; a notification repeating one of them emits nothing. */
  processed: PayoutStatus[];
  /** Anomalies already emitted for this order (`<kind>:<status>`), so a repeat emits nothing. */
  anomalies?: string[];
  /** Whether a `SUCCESS` was already turned into `FAIL` by a SPEI return. */
  reversed: boolean;
  claim?: PayoutClaim;
  /** Incremented by every write; the basis of `compareAndSet`. */
  revision: number;
  /** Epoch ms of the last write. */
  updatedAt: number;
}

/**
 * Where a create stands, as `createPayout` last recorded it:
 * - `sending`: sent (or about to be), no answer yet; a process that died here left it so;
 * - `unknown`: an attempt ended ambiguously (timeout, reset, an answer the library cannot classify);
 * - `created`: the gateway answered with an order;
 * - `rejected`: the gateway definitely did not create it (a published rejection, or busy throughout).
 */
export type PayoutAttemptState = 'sending' | 'unknown' | 'created' | 'rejected';

/**
 * What the module remembers about one create, keyed by your `mchOrderNo`, written before the create
 * is sent. It is what keeps a create from being sent twice while an earlier one may still land.
 */
export interface PayoutAttempt {
  mchOrderNo: string;
  merchantId: string;
  currency: PayoutCurrency;
  /** The amount sent, a decimal string at the market's scale. */
  amount: string;
  state: PayoutAttemptState;
  /**
   * Epoch ms before which the create must not be sent again, nor reported as not created, unless
   * the gateway shows the order (money-safety rule 3).
   */
  resendAfter: number;
  /** Cashy's `orderNo`, once an answer or a lookup gave it. */
  orderNo?: string;
  /** When the latest create of this mchOrderNo was sent: the built-in reconciliation's horizon runs from it. */
  sentAt?: number;
  /**
   * While a `createPayout` call runs, the time until which it holds this attempt; the call renews it.
   * Neither the sweep nor `reconcile` may report a leased attempt as not created (rule 12).
   */
  leaseUntil?: number;
  /** Which `createPayout` call holds the lease: only that call renews or ends it. */
  leaseToken?: string;
  /** For an attempt a lookup found not created (`rejected`), what was said about it (rule 13). */
  notice?: PayoutNotCreatedNotice;
  /** Incremented by every write; the basis of `compareAndSetAttempt`. */
  revision: number;
  /** Time of the last write. */
  updatedAt: number;
}

/**
 * What was said of an attempt found not created, written in the same compare-and-set as that
 * finding (money-safety rule 13):
 * - `reconciled`: `reconcile()` resolved `null`, so the host knows; nothing is emitted;
 * - `pending`: `payout.not_created` is due; while `claim` is live, its listeners are running;
 * - `emitted`: every listener of `payout.not_created` succeeded; it is never emitted again.
 */
export interface PayoutNotCreatedNotice {
  state: 'reconciled' | 'pending' | 'emitted';
  claim?: { token: string; expiresAt: number };
}

/** A payout the module still watches: a create whose outcome, or whose final status, is not known yet. */
export interface PayoutOpenEntry {
  mchOrderNo: string;
  /** When it was first tracked (when its create was first sent). */
  openedAt: number;
  /** When the built-in reconciliation checks it next. */
  dueAt: number;
  /** The merchant its create went out from, so a check never depends on anything else being kept. */
  merchantId?: string;
  /**
   * Set once a Mexican order reached `SUCCESS`: it is no longer open, but watched for an SPEI
   * return until this time (`reconciliation.returnWatchMs` after the success).
   */
  watchUntil?: number;
}

/** What `trackOpen` may record beside the due time; each is kept once recorded. */
export interface PayoutOpenDetails {
  merchantId?: string;
  watchUntil?: number;
}

/**
 * A change of the open index that `compareAndSet` makes in the same atomic step as its write, and
 * only if the write succeeds: an outcome recorded ends the tracking (`untrack`), or, for a Mexican
 * success, turns it into a return watch (`track`, with `trackOpen`'s arguments).
 */
export type PayoutOpenChange =
  | { untrack: string }
  | { track: string; openedAt: number; dueAt: number; details?: PayoutOpenDetails };

/** What a status report is judged on, read in one step (`PayoutStore.getReportContext`). */
export interface PayoutReportContext {
  /** The record of the report's `orderNo`. */
  record?: PayoutRecord;
  /** The create attempt of the report's `mchOrderNo`. */
  attempt?: PayoutAttempt;
  /** The record the report's `mchOrderNo` is indexed to (`findByMchOrderNo`). */
  sibling?: PayoutRecord;
}

/** Where a page of `listOpen` starts: after this entry, which need not be open any more. */
export interface PayoutOpenCursor {
  openedAt: number;
  mchOrderNo: string;
}

/**
 * Where payout state lives. Implement it to share state between replicas; the default,
 * `MemoryPayoutStore`, is right for a single process.
 *
 * Every method may be called concurrently; both compare-and-set methods must be atomic. A bounded
 * store must never drop a record whose claim is live, nor the attempt or record of an order that is
 * still open (tracked), nor an attempt that is `sending`, `unknown` or has a `pending` notice
 * (money-safety rule 10).
 */
export interface PayoutStore {
  /**
   * The clock every time the module writes into this store, and compares with what it read, is
   * read on (money-safety rule 11). A store shared by replicas gives the server's clock, so that no
   * decision compares times that two machines' wall clocks wrote; without one the module uses
   * `MonotonicPayoutClock`, which is right for a store that one process owns.
   */
  readonly clock?: PayoutClock;
  /** The record of an order, or `undefined`. */
  get(orderNo: string): Promise<PayoutRecord | undefined>;
  /**
   * Writes `record` (whose `revision` is `expectedRevision + 1`) only if the stored record still has
   * revision `expectedRevision` (0: no record yet). Resolves `false`, writing nothing, otherwise.
   * With `open`, the open index changes in the same atomic step, only if the record was written.
   */
  compareAndSet(
    record: PayoutRecord,
    expectedRevision: number,
    open?: PayoutOpenChange,
  ): Promise<boolean>;
  /**
   * `get(orderNo)`, `getAttempt(mchOrderNo)` and `findByMchOrderNo(mchOrderNo)` in one read (one
   * round trip), which is what a webhook is judged on. Optional: without it the module makes the
   * three calls.
   */
  getReportContext?(orderNo: string, mchOrderNo: string): Promise<PayoutReportContext>;
  /** The record of an order by your `mchOrderNo`, or `undefined`. */
  findByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined>;
  /** The create attempt recorded for an `mchOrderNo`, or `undefined`. */
  getAttempt(mchOrderNo: string): Promise<PayoutAttempt | undefined>;
  /** `compareAndSet` for attempts, keyed by `mchOrderNo`, with the same revision rule. */
  compareAndSetAttempt(attempt: PayoutAttempt, expectedRevision: number): Promise<boolean>;
  /**
   * Tracks `mchOrderNo` as open and (re)schedules its next check at `dueAt`. A second call keeps
   * the first `openedAt`, the merchant when none is given, and the first `watchUntil`. O(log n).
   */
  trackOpen(
    mchOrderNo: string,
    openedAt: number,
    dueAt: number,
    details?: PayoutOpenDetails,
  ): Promise<void>;
  /** Stops tracking `mchOrderNo` (it reached a final status, or was given up). A no-op when not tracked. */
  untrackOpen(mchOrderNo: string): Promise<void>;
  /**
   * Takes up to `limit` open entries whose check is due at `now`, earliest first, and leases them in
   * the same atomic step: each one's next check moves to `now + leaseMs`, so no other caller (another
   * replica) takes it before then, and one whose taker died comes back when the lease ends. Returns
   * the entries with the `dueAt` they had. O(log n) per entry.
   */
  takeDueOpen(now: number, limit: number, leaseMs: number): Promise<PayoutOpenEntry[]>;
  /**
   * Up to `limit` open entries, oldest opened first (ties by mchOrderNo), after `after` when given:
   * the entries that sort after it, whether or not it is still open.
   */
  listOpen(limit: number, after?: PayoutOpenCursor): Promise<PayoutOpenEntry[]>;
  /**
   * How many payouts are tracked: still `open`, and `watching` for an SPEI return. Optional; the
   * health indicator reports it when the store has it.
   */
  countOpen?(): Promise<{ open: number; watching: number }>;
}

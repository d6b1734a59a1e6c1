import type { PayoutClock } from '../clock/payout.clock';
import type { PayoutCurrency, PayoutStatus } from '../payout.types';

/** How long the bundled stores keep a record by default (`ttlMs`): 48 hours. */
export const DEFAULT_RECORD_TTL_MS = 48 * 60 * 60 * 1000;

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
 * Where a create stands: `sending` (no answer yet, or its process died), `unknown` (an attempt
 * ended ambiguously), `created` (the gateway answered with an order), `rejected` (definitely not
 * created: a published rejection, or busy throughout).
 */
export type PayoutAttemptState = 'sending' | 'unknown' | 'created' | 'rejected';

/**
 * What the module remembers about one create, keyed by your `mchOrderNo`, written before the create
 * is sent, so that it is not sent twice while an earlier one may still land.
 */
export interface PayoutAttempt {
  mchOrderNo: string;
  merchantId: string;
  currency: PayoutCurrency;
  /** The amount sent, a decimal string at the market's scale. */
  amount: string;
  state: PayoutAttemptState;
  /** Epoch ms before which the create is neither sent again nor reported as not created (rule 3). */
  resendAfter: number;
  /** Cashy's `orderNo`, once an answer or a lookup gave it. */
  orderNo?: string;
  /** When the latest create was sent: the built-in reconciliation's horizon runs from it. */
  sentAt?: number;
  /** Until when a running `createPayout` call holds this attempt: never reported as not created (rule 12). */
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
 * What was said of an attempt found not created (rule 13): `reconciled` (`reconcile()` resolved
 * `null`, nothing is emitted), `pending` (`payout.not_created` is due; a live `claim` means its
 * listeners are running) or `emitted` (never emitted again).
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
  /** Set once a Mexican order reached `SUCCESS`: no longer open, but watched for an SPEI return until then. */
  watchUntil?: number;
}

/** What `trackOpen` may record beside the due time; each is kept once recorded. */
export interface PayoutOpenDetails {
  merchantId?: string;
  watchUntil?: number;
}

/**
 * A change of the open index that `compareAndSet` makes in the same atomic step as its write, only
 * if the write succeeds: `untrack`, or `track` with `trackOpen`'s arguments (a Mexican success's
 * return watch).
 */
export type PayoutOpenChange =
  | { untrack: string }
  | { track: string; openedAt: number; dueAt: number; details?: PayoutOpenDetails };

/** What a status report is judged on, read in one step (`PayoutStore.getReportContext`). */
export interface PayoutReportContext {
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
 * Where payout state lives (docs/stores.md). Every method may be called concurrently; both
 * compare-and-set methods must be atomic. A bounded store must never drop a record whose claim is
 * live, nor the attempt or record of an order still open, nor an attempt that is `sending`,
 * `unknown` or has a `pending` notice (money-safety rule 10).
 */
export interface PayoutStore {
  /**
   * The clock of every time the module writes here and compares (rule 11): a shared store gives
   * its server's; without one the module uses `MonotonicPayoutClock`, right for one process.
   */
  readonly clock?: PayoutClock;
  /** The record of `orderNo`, if stored. */
  get(orderNo: string): Promise<PayoutRecord | undefined>;
  /**
   * Writes `record` only if the stored revision is still `expectedRevision` (0: none), else
   * resolves `false`. With `open`, the open index changes in the same atomic step, only on a write.
   */
  compareAndSet(
    record: PayoutRecord,
    expectedRevision: number,
    open?: PayoutOpenChange,
  ): Promise<boolean>;
  /** Optional: `get`, `getAttempt` and `findByMchOrderNo` in one read (one round trip). */
  getReportContext?(orderNo: string, mchOrderNo: string): Promise<PayoutReportContext>;
  /** The record of the order last written under `mchOrderNo`. */
  findByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined>;
  /** The create attempt of `mchOrderNo`, if stored. */
  getAttempt(mchOrderNo: string): Promise<PayoutAttempt | undefined>;
  /** `compareAndSet` for attempts, keyed by `mchOrderNo`, with the same revision rule. */
  compareAndSetAttempt(attempt: PayoutAttempt, expectedRevision: number): Promise<boolean>;
  /**
   * Tracks `mchOrderNo` as open, next checked at `dueAt`. A second call keeps the first
   * `openedAt`, the merchant when none is given, and the first `watchUntil`. O(log n).
   */
  trackOpen(
    mchOrderNo: string,
    openedAt: number,
    dueAt: number,
    details?: PayoutOpenDetails,
  ): Promise<void>;
  /** Stops tracking `mchOrderNo`; a no-op when not tracked. */
  untrackOpen(mchOrderNo: string): Promise<void>;
  /**
   * Takes up to `limit` entries due at `now`, earliest first, and in the same atomic step moves
   * each one's `dueAt` to `now + leaseMs`, so no other replica takes it before then. Returns them
   * with the `dueAt` they had. O(log n) per entry.
   */
  takeDueOpen(now: number, limit: number, leaseMs: number): Promise<PayoutOpenEntry[]>;
  /** Up to `limit` entries by (`openedAt`, `mchOrderNo`), those sorting after `after` when given. */
  listOpen(limit: number, after?: PayoutOpenCursor): Promise<PayoutOpenEntry[]>;
  /** Optional: how many payouts are `open`, and `watching` for an SPEI return (for health). */
  countOpen?(): Promise<{ open: number; watching: number }>;
}

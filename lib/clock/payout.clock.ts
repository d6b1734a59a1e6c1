import { performance } from 'node:perf_hooks';
import { PayoutStoreError } from '../payout.errors';

/**
 * The one clock behind every time decision of the module (money-safety rule 11): re-send windows,
 * claim and create leases, due times and horizons are written and compared in its milliseconds.
 * A `PayoutStore` shared by replicas brings its own (`PayoutStore.clock`), so that every replica
 * reads the same time; a store without one gets `MonotonicPayoutClock`.
 */
export abstract class PayoutClock {
  /** Milliseconds since the epoch, on the timeline every replica of the store shares. */
  abstract now(): number;
  /** Re-reads the source of time, when the clock has one; the module calls it at start and every 30 s. */
  sync?(): Promise<void>;

  /**
   * Whether this clock's source jumped (either way) at a recent reading, so that times written on
   * an older reading, by another replica or by this one (leases, windows, claims, when a lookup was
   * sent), may look past when they are not. While it does, none of them is taken as ended.
   */
  recentlyStepped(): boolean {
    return false;
  }

  /**
   * Reads the source again, right before a decision that takes as ended what someone may still
   * hold, so that a step this process has not read yet shows in `recentlyStepped()`. Rejects with
   * `PayoutStoreError` when the source cannot be read.
   */
  async refresh(): Promise<void> {
    if (!this.sync) return;
    try {
      await this.sync();
    } catch (error) {
      throw new PayoutStoreError('time', error);
    }
  }

  /**
   * Tells the clock the longest that anything written on it lasts unrenewed (a re-send window, a
   * claim, a lease), so that a step counts as recent until everything written before it has ended.
   */
  holdsLastUpTo(ms: number): void {
    void ms;
  }

  /** Reads the source again (`refresh`) and says whether it stepped recently. */
  async checkForStep(): Promise<boolean> {
    await this.refresh();
    return this.recentlyStepped();
  }

  /**
   * Whether `until` (a lease, a claim, written on this clock, maybe by another replica) is still
   * held: ahead of now, or, once it looks past, ahead on a fresh reading with no recent step.
   */
  async stillHeld(until: number | undefined): Promise<boolean> {
    if (until === undefined) return false;
    if (until > this.now()) return true;
    await this.refresh();
    return until > this.now() || this.recentlyStepped();
  }
}

/** How often a clock with a source of time re-reads it. */
export const CLOCK_SYNC_EVERY_MS = 30_000;
/** A reading this much ahead of the clock's own count is a step of the source, not drift. */
const STEP_TOLERANCE_MS = 1_000;
/**
 * How long after seeing a step the clock says so, besides the longest hold: until every replica has
 * read the source again (`CLOCK_SYNC_EVERY_MS`), with a margin for the reading's own round trip.
 */
const STEP_SETTLES_MS = CLOCK_SYNC_EVERY_MS + 5_000;

/** This process's monotonic clock, in epoch ms. */
function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The wall clock read once, when the process started, then advanced by the monotonic clock: a step
 * of the wall clock afterwards (NTP, a VM resumed, an operator) changes nothing. Right for a store
 * that one process owns, such as `MemoryPayoutStore`.
 */
export class MonotonicPayoutClock extends PayoutClock {
  now(): number {
    return Math.floor(monotonicNow());
  }
}

/**
 * A shared source of time (a store server's clock), read at `sync()` and advanced by this process's
 * monotonic clock in between, so `now()` never waits on the network. The reading is placed at the
 * middle of its round trip: every replica agrees with the source within half a round trip. Until a
 * first `sync()` succeeds, `now()` throws `PayoutStoreError`, so nothing is decided on a clock of
 * its own.
 */
export class SyncedPayoutClock extends PayoutClock {
  private offset?: number;
  /** Until when (monotonic ms) a step seen at a reading is still settling. */
  private steppedUntil = 0;
  private longestHoldMs = 0;

  /** @param read the source's time in epoch ms (for example Redis `TIME`). */
  constructor(private readonly read: () => Promise<number>) {
    super();
  }

  now(): number {
    if (this.offset === undefined)
      throw new PayoutStoreError('time', new Error("the store's clock has not been read yet"));
    return Math.floor(monotonicNow() + this.offset);
  }

  override async sync(): Promise<void> {
    const sentAt = monotonicNow();
    const time = await this.read();
    const answeredAt = monotonicNow();
    if (!Number.isFinite(time)) throw new Error(`the store's clock answered ${String(time)}`);
    const offset = time - (sentAt + answeredAt) / 2;
    // Forward, times written on older readings look past too early; backward, readings taken
    // before (a lookup's send time) look later than what others write now. Either way, wait until
    // every replica has read the source and everything written before has truly ended.
    if (this.offset !== undefined && Math.abs(offset - this.offset) > STEP_TOLERANCE_MS)
      this.steppedUntil = Math.max(
        this.steppedUntil,
        answeredAt + STEP_SETTLES_MS + this.longestHoldMs,
      );
    this.offset = offset;
  }

  override holdsLastUpTo(ms: number): void {
    this.longestHoldMs = Math.max(this.longestHoldMs, ms);
  }

  override recentlyStepped(): boolean {
    return monotonicNow() < this.steppedUntil;
  }
}

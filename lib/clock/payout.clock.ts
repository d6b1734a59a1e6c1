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
}

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
    this.offset = time - (sentAt + answeredAt) / 2;
  }
}

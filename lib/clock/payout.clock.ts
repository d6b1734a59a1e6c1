import { performance } from 'node:perf_hooks';
import { PayoutStoreError } from '../payout.errors';

/**
 * The one clock behind every time decision of the module (rule 11). A store shared by replicas
 * brings its own (`PayoutStore.clock`); a store without one gets `MonotonicPayoutClock`.
 */
export abstract class PayoutClock {
  /** Milliseconds since the epoch, on the timeline every replica of the store shares. */
  abstract now(): number;
  /** Re-reads the source of time, if any; the module calls it at start and every 30 s. */
  sync?(): Promise<void>;

  /**
   * How much later than written any time must be judged ended: the sum of recent steps of the
   * source, either way. `holdMs`: how long the time judged lasts, when longer than this module's own
   * (another replica's options). 0 without a source.
   */
  stepMargin(_holdMs = 0): number {
    return 0;
  }

  /**
   * Reads the source again before a decision that takes as ended what someone may still hold, so a
   * step not read yet counts in `stepMargin`. Rejects with `PayoutStoreError` when it cannot.
   */
  async refresh(): Promise<void> {
    if (!this.sync) return;
    try {
      await this.sync();
    } catch (error) {
      throw new PayoutStoreError('time', error);
    }
  }

  /** The longest anything this module writes lasts unrenewed: a step counts until it has ended. */
  holdsLastUpTo(_ms: number): void {}

  /** `stepMargin(holdMs)` on a fresh reading of the source (`refresh`). */
  async freshStepMargin(holdMs = 0): Promise<number> {
    await this.refresh();
    return this.stepMargin(holdMs);
  }

  /**
   * Whether `until` (a lease or claim lasting `holdMs`, maybe another replica's) still holds: ahead
   * of now, or, once it looks past, within the step margin of a fresh reading.
   */
  async stillHeld(until: number | undefined, holdMs = 0): Promise<boolean> {
    if (until === undefined) return false;
    if (until > this.now()) return true;
    return until + (await this.freshStepMargin(holdMs)) > this.now();
  }
}

/** How often a clock with a source of time re-reads it. */
export const CLOCK_SYNC_EVERY_MS = 30_000;
/** Readings that disagree by more than this (beyond their round trips and drift) show a step. */
const STEP_TOLERANCE_MS = 1_000;
/** How far a source and this process's monotonic clock may drift apart by themselves (500 ppm). */
const DRIFT_PER_MS = 0.0005;
/** How long a step counts besides the longest hold: until every replica has read the source again. */
const STEP_SETTLES_MS = CLOCK_SYNC_EVERY_MS + 5_000;
/** The longest any time the module writes can last: a day's re-send window plus a timeout. */
const MAX_HOLD_MS = 86_400_000 + 600_000;
/** Readings kept to compare a new one with (the oldest go first), and steps kept apart. */
const READINGS_KEPT = 64;

/** One reading of the source: its offset from the monotonic clock, and how unsure it is (half its round trip). */
interface Reading {
  at: number;
  offset: number;
  uncertainty: number;
}

/** This process's monotonic clock, in epoch ms. */
function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The wall clock read once at start, then advanced by the monotonic clock, so a later step of the
 * wall clock changes nothing. For a store one process owns (`MemoryPayoutStore`).
 */
export class MonotonicPayoutClock extends PayoutClock {
  now(): number {
    return Math.floor(monotonicNow());
  }
}

/**
 * A shared source of time (a store server's clock), read at `sync()` and advanced by the monotonic
 * clock in between; a reading sits at the middle of its round trip. Until a first `sync()`
 * succeeds, `now()` throws `PayoutStoreError`. Two readings that disagree by more than a second
 * beyond their round trips and drift show a step, which counts in `stepMargin` (rule 11).
 */
export class SyncedPayoutClock extends PayoutClock {
  private current?: Reading;
  /** Readings since the last step, within the time a step counts. */
  private readings: Reading[] = [];
  private steps: { at: number; size: number }[] = [];
  private longestHoldMs = 0;
  /** The reading under way, and when it was sent. */
  private flight?: { sentAt: number; done: Promise<void> };
  /** The reading to send once the one under way is answered, shared by the calls waiting for it. */
  private queued?: Promise<void>;

  /** @param read the source's time in epoch ms (for example Redis `TIME`). */
  constructor(private readonly read: () => Promise<number>) {
    super();
  }

  now(): number {
    if (this.current === undefined)
      throw new PayoutStoreError('time', new Error("the store's clock has not been read yet"));
    return Math.floor(monotonicNow() + this.current.offset);
  }

  /** Reads the source on a reading sent no earlier than this call (an earlier one may predate a step). */
  override sync(): Promise<void> {
    const calledAt = monotonicNow();
    const flight = this.flight;
    if (!flight) return this.send();
    if (flight.sentAt >= calledAt) return flight.done;
    this.queued ??= flight.done
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.flight ? this.flight.done : this.send();
      });
    return this.queued;
  }

  override stepMargin(holdMs = 0): number {
    const since = monotonicNow() - (STEP_SETTLES_MS + Math.max(this.longestHoldMs, holdMs));
    return this.steps.reduce((margin, step) => (step.at > since ? margin + step.size : margin), 0);
  }

  override holdsLastUpTo(ms: number): void {
    this.longestHoldMs = Math.max(this.longestHoldMs, ms);
  }

  private send(): Promise<void> {
    const sentAt = monotonicNow();
    const done = this.readOnce(sentAt).finally(() => {
      if (this.flight?.done === done) this.flight = undefined;
    });
    this.flight = { sentAt, done };
    return done;
  }

  private async readOnce(sentAt: number): Promise<void> {
    const time = await this.read();
    const answeredAt = monotonicNow();
    if (!Number.isFinite(time)) throw new Error(`the store's clock answered ${String(time)}`);
    const reading: Reading = {
      at: answeredAt,
      offset: time - (sentAt + answeredAt) / 2,
      uncertainty: (answeredAt - sentAt) / 2,
    };
    // Readings older than anything still held go, but the last one always stays to compare with
    // (a failover after a long outage is a step too).
    const keepFor = STEP_SETTLES_MS + this.longestHoldMs;
    const last = this.readings.at(-1);
    this.readings = this.readings.filter((r) => r.at > answeredAt - keepFor);
    if (this.readings.length === 0 && last) this.readings.push(last);
    // A step may count for as long as anything another replica wrote lasts (a day at most).
    this.steps = this.steps.filter((s) => s.at > answeredAt - STEP_SETTLES_MS - MAX_HOLD_MS);
    const step = this.stepFrom(reading);
    if (step > 0) {
      this.steps.push({ at: answeredAt, size: step });
      // Many steps in a row: the two oldest count as one, as late and as large as both.
      if (this.steps.length > READINGS_KEPT) {
        const [first, second] = this.steps.splice(0, 2);
        this.steps.unshift({ at: second.at, size: first.size + second.size });
      }
      this.readings = [];
    }
    this.readings.push(reading);
    // Frequent readings replace each other at the newest end: the oldest stay, the baseline a
    // move made of small steps is measured against.
    if (this.readings.length > READINGS_KEPT) this.readings.splice(-2, 1);
    // A reading much less sure than the current one (a slow answer) keeps the current offset,
    // unless it shows a step; the current one grows less sure as it ages (drift).
    const current = this.current;
    if (
      !current ||
      step > 0 ||
      reading.uncertainty <= current.uncertainty + DRIFT_PER_MS * (reading.at - current.at) + 50
    )
      this.current = reading;
  }

  /** How far `reading` is off the readings still in use, beyond their round trips and drift: 0 when within. */
  private stepFrom(reading: Reading): number {
    let step = 0;
    for (const earlier of this.readings) {
      const apart = Math.abs(reading.offset - earlier.offset);
      const allowed =
        reading.uncertainty + earlier.uncertainty + DRIFT_PER_MS * (reading.at - earlier.at);
      if (apart - allowed > STEP_TOLERANCE_MS)
        step = Math.max(step, apart + reading.uncertainty + earlier.uncertainty);
    }
    return step;
  }
}

import { PayoutClock } from '../clock/payout.clock';

/**
 * A clock a test moves by hand: give it to the store (`new MemoryPayoutStore({ clock })`, or the
 * `clock` option of `RedisPayoutStore`) and the module decides every window, lease and horizon on
 * it. Two replicas given two of them, set apart, are two replicas whose clocks disagree.
 */
export class TestPayoutClock extends PayoutClock {
  private time: number;

  /** @param start epoch ms to start at (default: now). */
  constructor(start: number = Date.now()) {
    super();
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Moves the clock by `ms` (negative: backwards, as a wall clock stepped back). */
  advance(ms: number): void {
    this.time += ms;
  }

  /** Sets the clock to `epochMs`. */
  set(epochMs: number): void {
    this.time = epochMs;
  }
}

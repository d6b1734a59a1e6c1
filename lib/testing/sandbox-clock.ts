import type { PayoutCurrency } from '../interfaces/payout-types.interface';

/**
 * UTC offset of each market's local time, in minutes. Cashy's `completionTime` carries no offset;
 * Lima is UTC−5 and Mexico City UTC−6, both without daylight saving time.
 */
export const SANDBOX_UTC_OFFSET_MINUTES: Readonly<Record<PayoutCurrency, number>> = { PEN: -300, MXN: -360 };

const two = (n: number) => String(n).padStart(2, '0');

/** `yyyy-MM-dd HH:mm:ss` in the market's local time. */
export function formatCompletionTime(epochMs: number, currency: PayoutCurrency): string {
  const local = new Date(epochMs + SANDBOX_UTC_OFFSET_MINUTES[currency] * 60_000);
  return (
    `${local.getUTCFullYear()}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())} ` +
    `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`
  );
}

/**
 * Every timer the sandbox sets, grouped by a key (an order or a delivery chain), so `settle()` can
 * cancel an order's timeline, `stop()` can clear everything and `idle()` can see what is pending.
 */
export class SandboxTimers {
  private readonly byKey = new Map<string, Map<NodeJS.Timeout, () => void>>();
  private closed = false;

  /** Timers still pending. */
  get size(): number {
    let n = 0;
    for (const timers of this.byKey.values()) n += timers.size;
    return n;
  }

  /** Runs `fn` after `ms` unless the key is cancelled or the timers are cleared first. */
  after(key: string, ms: number, fn: () => void): void {
    this.sleep(key, ms).then((fired) => {
      if (fired) fn();
    });
  }

  /** Resolves `true` after `ms`, or `false` as soon as the key is cancelled or the timers are cleared. */
  sleep(key: string, ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timers = this.byKey.get(key);
      if (!timers) this.byKey.set(key, (timers = new Map()));
      const group = timers;
      const handle = setTimeout(() => {
        this.forget(key, group, handle);
        resolve(true);
      }, Math.max(0, ms));
      group.set(handle, () => resolve(false));
    });
  }

  /** Cancels every pending timer of `key`. */
  cancel(key: string): void {
    const timers = this.byKey.get(key);
    if (!timers) return;
    this.byKey.delete(key);
    for (const [handle, abandon] of timers) {
      clearTimeout(handle);
      abandon();
    }
  }

  /** Cancels everything and refuses new timers. */
  clear(): void {
    this.closed = true;
    for (const key of [...this.byKey.keys()]) this.cancel(key);
  }

  private forget(key: string, group: Map<NodeJS.Timeout, () => void>, handle: NodeJS.Timeout): void {
    group.delete(handle);
    if (group.size === 0 && this.byKey.get(key) === group) this.byKey.delete(key);
  }
}

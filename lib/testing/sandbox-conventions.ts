import type { PayoutCurrency } from '../payout.types';
import { decimalPlaces, parseDecimal, toScaledInteger } from '../markets/decimal';
import type { SandboxHttpReply } from './sandbox.types';

/** Market local time as a UTC offset in minutes (Lima UTC−5, Mexico City UTC−6, no DST). */
const SANDBOX_UTC_OFFSET_MINUTES: Readonly<Record<PayoutCurrency, number>> = {
  PEN: -300,
  MXN: -360,
};

/** `yyyy-MM-dd HH:mm:ss` in the market's local time: Cashy's `completionTime` carries no offset. */
export function formatCompletionTime(epochMs: number, currency: PayoutCurrency): string {
  const local = new Date(epochMs + SANDBOX_UTC_OFFSET_MINUTES[currency] * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 19)}`;
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
    void this.sleep(key, ms).then((fired) => fired && fn());
  }

  /** Resolves `true` after `ms`, or `false` as soon as the key is cancelled or the timers are cleared. */
  sleep(key: string, ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let group = this.byKey.get(key);
      if (!group) this.byKey.set(key, (group = new Map()));
      const timers = group;
      const handle = setTimeout(
        () => {
          timers.delete(handle);
          if (timers.size === 0 && this.byKey.get(key) === timers) this.byKey.delete(key);
          resolve(true);
        },
        Math.max(0, ms),
      );
      timers.set(handle, () => resolve(false));
    });
  }

  /** Cancels every pending timer of `key`. */
  cancel(key: string): void {
    const timers = this.byKey.get(key);
    this.byKey.delete(key);
    for (const [handle, abandon] of timers ?? []) {
      clearTimeout(handle);
      abandon();
    }
  }

  /** Cancels everything and refuses new timers. */
  clear(): void {
    this.closed = true;
    for (const key of [...this.byKey.keys()]) this.cancel(key);
  }
}

/** The sandbox's fixed fee per payout: Cashy's fees are per contract, these make fees visible. */
export const SANDBOX_FEES: Readonly<Record<PayoutCurrency, string>> = { PEN: '1.50', MXN: '5' };

/** Balances have two decimals in every market (Cashy's `decimal(20,2)`). */
export const BALANCE_SCALE = 2;

/** Default opening balance of every sandbox account. */
export const SANDBOX_DEFAULT_BALANCE = '1000000.00';

/** A decimal as an integer count of cents (`'150.5'` → `15050n`); `undefined` for anything else. */
export function toCents(value: unknown): bigint | undefined {
  const parsed = parseDecimal(value);
  return parsed && decimalPlaces(parsed) <= BALANCE_SCALE
    ? toScaledInteger(parsed, BALANCE_SCALE)
    : undefined;
}

/** Cents back to a two-decimal string (`15050n` → `'150.50'`). */
export function fromCents(cents: bigint): string {
  const digits = (cents < 0n ? -cents : cents).toString().padStart(BALANCE_SCALE + 1, '0');
  return `${cents < 0n ? '-' : ''}${digits.slice(0, -BALANCE_SCALE)}.${digits.slice(-BALANCE_SCALE)}`;
}

/**
 * Envelope `code` of each failure `msg`; any other `System_*` is 500, anything else 400. Cashy
 * publishes the `msg` strings, not their codes: these follow its older docs (401 no access, 500
 * error). `Params_mchOrderNo_repeat` and `Order_not_exist` are the sandbox's own wording.
 */
const SANDBOX_ERROR_CODES: Readonly<Record<string, number>> = {
  RequestMethod_not_post: 400,
  RequestContentType_not_json: 400,
  RequestBody_is_null: 400,
  Params_jsonFormat_error: 400,
  Params_mchOrderNo_repeat: 400,
  Order_not_exist: 400,
  MerchantId_is_null: 401,
  MerchantId_not_Number: 401,
  MerchantId_is_error: 401,
  Sign_verify_error: 401,
  Request_path_not_found: 404,
  System_busy: 500,
  System_error: 500,
};

/** The `Content-Type` of every envelope the sandbox answers (and of a scripted reply by default). */
export const SANDBOX_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** `{"code":200,"msg":"SUCCESS","data":…}` with HTTP 200. */
export function successReply(data: unknown): SandboxHttpReply {
  return { httpStatus: 200, body: JSON.stringify({ code: 200, msg: 'SUCCESS', data }) };
}

/** `{"code":…,"msg":…}` without `data`, as Cashy's failure example shows; HTTP 200 unless told. */
export function errorReply(msg: string, httpStatus = 200): SandboxHttpReply {
  const code = SANDBOX_ERROR_CODES[msg] ?? (msg.startsWith('System_') ? 500 : 400);
  return { httpStatus, body: JSON.stringify({ code, msg }) };
}

import type { PayoutCurrency } from '../payout.types';
import { decimalPlaces, formatDecimal, parseDecimal, toScaledInteger } from '../markets/decimal';
import type { SandboxHttpReply } from './sandbox.types';

/**
 * UTC offset of each market's local time, in minutes. Cashy's `completionTime` carries no offset;
 * Lima is UTC−5 and Mexico City UTC−6, both without daylight saving time.
 */
const SANDBOX_UTC_OFFSET_MINUTES: Readonly<Record<PayoutCurrency, number>> = {
  PEN: -300,
  MXN: -360,
};

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
    void this.sleep(key, ms).then((fired) => {
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
      const handle = setTimeout(
        () => {
          this.forget(key, group, handle);
          resolve(true);
        },
        Math.max(0, ms),
      );
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

  private forget(
    key: string,
    group: Map<NodeJS.Timeout, () => void>,
    handle: NodeJS.Timeout,
  ): void {
    group.delete(handle);
    if (group.size === 0 && this.byKey.get(key) === group) this.byKey.delete(key);
  }
}

/**
 * The sandbox's fixed fee per payout, at the market's scale. Cashy's real fees are per contract
 * and unpublished; these are round numbers that make fee handling visible in tests.
 */
export const SANDBOX_FEES: Readonly<Record<PayoutCurrency, string>> = {
  PEN: '1.50',
  MXN: '5',
};

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
  const negative = cents < 0n;
  const digits = (negative ? -cents : cents).toString().padStart(BALANCE_SCALE + 1, '0');
  const text = `${negative ? '-' : ''}${digits.slice(0, -BALANCE_SCALE)}.${digits.slice(-BALANCE_SCALE)}`;
  return formatDecimal(parseDecimal(text)!, BALANCE_SCALE);
}

/**
 * Envelope `code` of each failure `msg` the sandbox answers with; `SUCCESS` is code 200, any other
 * `Params_*` (`Params_<field>_Required`, `Params_<field>_error`) 400, any other `System_*` 500.
 * Cashy publishes the `msg` strings but not which `code` goes with each, so the sandbox picks the
 * convention of Cashy's older docs (`401` = no access, `500` = error) and `400` for everything the
 * caller sent wrong. The HTTP status is 200 for every envelope, as in Cashy's samples; only an
 * unknown path gets HTTP 404 (with an envelope), only the `http-500` fault gets HTTP 500, and the
 * `reply` fault sends whatever it was given.
 *
 * `Params_mchOrderNo_repeat` (a reused `mchOrderNo`) and `Order_not_exist` (a query for an order
 * the merchant does not have) are the sandbox's own wording: Cashy does not publish either.
 */
export const SANDBOX_ERROR_CODES: Readonly<Record<string, number>> = {
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

/** The envelope code of a failure `msg` (see `SANDBOX_ERROR_CODES`). */
function envelopeCodeOf(msg: string): number {
  const known = SANDBOX_ERROR_CODES[msg];
  if (known !== undefined) return known;
  // `Params_*` and anything else unknown: the caller sent something wrong.
  return msg.startsWith('System_') ? 500 : 400;
}

/** The `Content-Type` of every envelope the sandbox answers (and of a scripted reply by default). */
export const SANDBOX_CONTENT_TYPE = 'application/json;charset=UTF-8';

/** `{"code":200,"msg":"SUCCESS","data":…}` with HTTP 200. */
export function successReply(data: unknown): SandboxHttpReply {
  return {
    httpStatus: 200,
    body: JSON.stringify({ code: 200, msg: 'SUCCESS', data }),
  };
}

/** `{"code":…,"msg":…}` without `data`, as Cashy's failure example shows; HTTP 200 unless told. */
export function errorReply(msg: string, httpStatus = 200): SandboxHttpReply {
  return {
    httpStatus,
    body: JSON.stringify({ code: envelopeCodeOf(msg), msg }),
  };
}

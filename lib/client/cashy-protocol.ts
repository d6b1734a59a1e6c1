import { CashyApiError, CashyTransportError } from '../payout.errors';
import { wholeNumber } from '../markets/decimal';
import { isOrderNumber, isPlainObject, parseJson } from './cashy-wire';

/** Cashy payout API paths. Every endpoint is a signed JSON POST. */
export const CASHY_ENDPOINTS = {
  payOut: '/api/payOut',
  payOutQuery: '/api/payOutQuery',
  bankListQuery: '/api/bankListQuery',
  getBalance: '/api/getBalance',
} as const;

/** The answer that acknowledges a notification: Cashy stops retrying only on this exact body. */
export const CASHY_ACK = 'SUCCESS';

/** One of Cashy's payout API paths. */
export type CashyEndpoint = (typeof CASHY_ENDPOINTS)[keyof typeof CASHY_ENDPOINTS];

/** One exchange as received: the HTTP status and, when the body is Cashy's envelope, the envelope. */
export interface CashyAnswer {
  httpStatus: number;
  envelope?: CashyEnvelope;
}

/** Cashy's `{ code, msg, data }`. */
export interface CashyEnvelope {
  code: number;
  msg: string;
  data: unknown;
}

/**
 * The patterns for Cashy's unpublished wording (module option `gatewayMessages`). Both are matched
 * against the whole `msg`, so a message must say exactly this to count.
 */
export interface CashyMessagePatterns {
  /** A create refused because an order with this `mchOrderNo` exists. */
  duplicateOrder: RegExp;
  /** A query for an order the gateway does not have. */
  orderNotFound: RegExp;
}

/** Defaults of `CashyMessagePatterns`: narrow, anchored, and about orders only. */
export const DEFAULT_CASHY_MESSAGE_PATTERNS: CashyMessagePatterns = {
  // Params_mchOrderNo_repeat, Repeat_mchOrderNo, Duplicate_order, Order_already_exists, mchOrderNo_exists …
  duplicateOrder:
    /^(?:Params_)?(?:mchOrderNo_(?:repeat(?:ed)?|duplicated?|exists?|already_exists?)|(?:repeat(?:ed)?|duplicated?)_(?:mchOrderNo|order(?:No)?)|order(?:No)?_(?:repeat(?:ed)?|duplicated?|already_exists?))$/i,
  // Order_not_exist, Order_not_found, Params_orderNo_not_exist, mchOrderNo_not_found …
  orderNotFound:
    /^(?:Params_)?(?:order|orderNo|mchOrderNo|payOut|payout)_(?:not_?exists?|not_?found|does_?not_?exist)$/i,
};

/** `msg` values published as "not created": the request was refused before anything was done. */
const PUBLISHED_REJECTION = /^(?:Params_\w+|MerchantId_\w+|Request\w+|Sign_verify_error)$/;
/** The gateway refusing the mchOrderNo other than as missing (`Params_mchOrderNo_error` …). */
const MCH_ORDER_NO_REFUSED = /^Params_mchOrderNo_(?!Required$)\w+$/;
/** `msg` values after which the same request may simply be sent again: nothing was done. */
export const BUSY_MSG = /^(?:System_busy|System_Maintenance)$/;

/**
 * What one create attempt tells (money-safety rules 1 and 4):
 * - `created`: a code-200 answer with an `orderNo`, never sent again;
 * - `rejected`: a published rejection on a 2xx answer, so definitely not created;
 * - `busy`: `System_busy`/`System_Maintenance`, nothing done, may be sent again;
 * - `duplicate`: an order with this `mchOrderNo` exists, so look it up;
 * - `ambiguous`: anything else (timeouts, resets, 5xx, unknown codes or messages, a 200 without an order).
 */
type CreateAttemptOutcome =
  | { kind: 'created'; data: Record<string, unknown> }
  | { kind: 'rejected'; error: CashyApiError }
  | { kind: 'busy'; error: CashyApiError }
  | { kind: 'duplicate'; error: CashyApiError }
  | { kind: 'ambiguous'; reason: string };

/** Classifies a create's answer, or the transport failure that stood for one. */
export function classifyCreateAnswer(
  answer: CashyAnswer | CashyTransportError,
  endpoint: string,
  patterns: CashyMessagePatterns,
): CreateAttemptOutcome {
  if (answer instanceof CashyTransportError) return { kind: 'ambiguous', reason: answer.message };
  const { httpStatus, envelope } = answer;
  if (!envelope)
    return { kind: 'ambiguous', reason: `HTTP ${httpStatus} without a Cashy envelope` };
  if (httpStatus < 200 || httpStatus > 299) {
    const reason = `HTTP ${httpStatus} (code ${envelope.code}: ${envelope.msg || 'no msg'})`;
    return { kind: 'ambiguous', reason };
  }
  if (envelope.code === 200) {
    const data = orderData(envelope.data);
    return data
      ? { kind: 'created', data }
      : { kind: 'ambiguous', reason: 'code 200 without an orderNo' };
  }
  const error = new CashyApiError(envelope.code, envelope.msg, endpoint);
  // The module checks mchOrderNo before sending, so the gateway refusing it most likely means "in use".
  if (patterns.duplicateOrder.test(envelope.msg) || MCH_ORDER_NO_REFUSED.test(envelope.msg))
    return { kind: 'duplicate', error };
  if (BUSY_MSG.test(envelope.msg)) return { kind: 'busy', error };
  if (PUBLISHED_REJECTION.test(envelope.msg)) return { kind: 'rejected', error };
  return { kind: 'ambiguous', reason: error.message };
}

/**
 * What a lookup of one order tells (money-safety rule 5):
 * - `found`: a code-200 answer with an order;
 * - `absent`: the gateway's unknown-order answer on a 2xx, and nothing else;
 * - `failed`: no answer to go by; `retryable` when trying again may help.
 */
export type LookupOutcome =
  | { kind: 'found'; data: Record<string, unknown> }
  | { kind: 'absent'; error: CashyApiError }
  | { kind: 'failed'; error: CashyApiError | CashyTransportError; retryable: boolean };

/** Classifies a lookup's answer, or the transport failure that stood for one. */
export function classifyLookupAnswer(
  answer: CashyAnswer | CashyTransportError,
  endpoint: string,
  patterns: CashyMessagePatterns,
): LookupOutcome {
  if (answer instanceof CashyTransportError)
    return { kind: 'failed', error: answer, retryable: true };
  const { httpStatus, envelope } = answer;
  const ok = httpStatus >= 200 && httpStatus <= 299;
  if (!envelope || !ok) {
    const detail = envelope
      ? `HTTP ${httpStatus} (code ${envelope.code}: ${envelope.msg})`
      : `HTTP ${httpStatus} without a Cashy envelope`;
    const error = new CashyTransportError(
      envelope ? 'http-status' : 'unparsable',
      endpoint,
      detail,
    );
    return { kind: 'failed', error, retryable: true };
  }
  if (envelope.code === 200) {
    const data = orderData(envelope.data);
    if (data) return { kind: 'found', data };
    const error = new CashyTransportError('unparsable', endpoint, 'code 200 without an orderNo');
    return { kind: 'failed', error, retryable: true };
  }
  const error = new CashyApiError(envelope.code, envelope.msg, endpoint);
  if (patterns.orderNotFound.test(envelope.msg)) return { kind: 'absent', error };
  // A signing or merchant problem will not go away by asking again; anything else might.
  return { kind: 'failed', error, retryable: !PUBLISHED_REJECTION.test(envelope.msg) };
}

/** True for `System_busy`, `System_Maintenance` and `System_error`: an idempotent call may be repeated. */
export function isRetryableApiError(error: unknown): error is CashyApiError {
  return (
    error instanceof CashyApiError && (BUSY_MSG.test(error.msg) || error.msg === 'System_error')
  );
}

/** `data` as an order: an object with a usable `orderNo`, else `undefined`. */
function orderData(data: unknown): Record<string, unknown> | undefined {
  return isPlainObject(data) && isOrderNumber(data.orderNo) ? data : undefined;
}

/** Parses Cashy's envelope from an answer body; `undefined` when it is not one. */
export function parseEnvelope(text: string): CashyEnvelope | undefined {
  const parsed = parseJson(text);
  if (!isPlainObject(parsed)) return undefined;
  const { code, msg, data } = parsed;
  const numericCode = wholeNumber(code);
  if (!Number.isInteger(numericCode)) return undefined;
  return { code: numericCode, msg: String(msg ?? ''), data };
}

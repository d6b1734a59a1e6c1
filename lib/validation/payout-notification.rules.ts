import { brokenRules, type PayoutFieldError, type ReportBroken } from '../payout.errors';
import { parseDecimal, type ParsedDecimal } from '../markets/decimal';
import type { PayoutStatusReport } from '../outcome/payout-status-report.interface';
import {
  idText,
  isAbsent,
  isOrderNumber,
  isPlainObject,
  MERCHANT_ID,
  nonEmptyText,
  wireText,
} from '../client/cashy-wire';
import { withUnprintableReplaced } from './printable-text';

const STATUS_TEXT = /^[A-Za-z_]{1,32}$/;

/** Gateway text as listeners get it: unprintable characters replaced (`raw` keeps the bytes sent). */
function printable(text: string | undefined): string | undefined {
  return text === undefined ? undefined : withUnprintableReplaced(text);
}

/** A notification is a flat object of a dozen fields; anything far deeper or larger is not one. */
const MAX_DEPTH = 8;
const MAX_VALUES = 500;

/**
 * Whether `root` nests at most `MAX_DEPTH` levels, holds at most `MAX_VALUES` values (no recursion),
 * and carries no prototype key: `__proto__`, or `constructor` holding `prototype`. Fastify's parser
 * refuses those; refusing them here too makes both adapters answer alike, and no listener ever gets
 * an object whose copy would take an attacker's prototype.
 */
function shapeProblem(root: object): 'shape' | 'prototype' | undefined {
  const pending: [unknown, number][] = [[root, 1]];
  let values = 0;
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (++values > MAX_VALUES || depth > MAX_DEPTH) return 'shape';
    if (typeof node !== 'object' || node === null) continue;
    for (const [key, child] of Object.entries(node)) {
      if (
        key === '__proto__' ||
        (key === 'constructor' &&
          typeof child === 'object' &&
          child !== null &&
          Object.hasOwn(child, 'prototype'))
      )
        return 'prototype';
      pending.push([child, depth + 1]);
    }
  }
  return undefined;
}

/** The body's shape, before its fields: one JSON object, small enough to hand to listeners. */
function shapeError(input: unknown): PayoutFieldError | undefined {
  if (!isPlainObject(input))
    return { field: '(body)', rule: 'object', message: 'the notification must be a JSON object' };
  // `raw` goes to listeners, which store or log it: keep it something JSON.stringify can always handle.
  const problem = shapeProblem(input);
  if (problem === 'shape')
    return {
      field: '(body)',
      rule: 'shape',
      message: `the notification may nest at most ${MAX_DEPTH} levels and hold at most ${MAX_VALUES} values`,
    };
  if (problem === 'prototype')
    return {
      field: '(body)',
      rule: 'prototype',
      message: 'the notification must not carry a __proto__ or constructor.prototype key',
    };
  return undefined;
}

/** The body's `merchantId`: optional when a signer vouches for the body, a numeric id when given. */
function bodyMerchantIdOf(
  value: Record<string, unknown>,
  signer: string | undefined,
  broken: ReportBroken,
): string | undefined {
  const merchantId = idText(value.merchantId);
  if (!isAbsent(value.merchantId) && (merchantId === undefined || !MERCHANT_ID.test(merchantId)))
    broken('merchantId', 'merchantId', 'merchantId must be a numeric merchant id');
  if (signer === undefined && isAbsent(value.merchantId))
    broken('merchantId', 'required', 'merchantId is required');
  return merchantId;
}

/** An order number; Cashy may send a digit-only one as a JSON number: it is the same number. */
function orderNumberOf(
  value: Record<string, unknown>,
  field: 'mchOrderNo' | 'orderNo',
  broken: ReportBroken,
): string | undefined {
  const text = idText(value[field]);
  if (isOrderNumber(text)) return text;
  broken(field, 'orderNumber', `${field} must be a string of 1 to 64 visible characters`);
  return undefined;
}

/**
 * Checks a parsed notification body (money-safety rule 8). It is refused only when it lacks what
 * identifies the order and its status (`orderNo`, `mchOrderNo`, `orderStatus`), or carries an
 * amount or fee that is not a non-negative decimal. Everything else is taken as it comes: an
 * absent, null or empty amount or fee, a numeric `completionTime`, unknown fields. An undocumented
 * status is passed on (and becomes an anomaly, not a 400 that Cashy would retry for hours).
 *
 * `signer` is the merchant whose key verified the body; a `merchantId` in the body that names
 * another merchant is kept in `bodyMerchantId` and reported as an anomaly.
 */
export function checkPayoutNotification(
  input: unknown,
  signer?: string,
): { errors: PayoutFieldError[]; report?: PayoutStatusReport } {
  const shape = shapeError(input);
  if (shape) return { errors: [shape] };
  const value = input as Record<string, unknown>;
  const [errors, broken] = brokenRules();
  const bodyMerchantId = bodyMerchantIdOf(value, signer, broken);
  const mchOrderNo = orderNumberOf(value, 'mchOrderNo', broken);
  const orderNo = orderNumberOf(value, 'orderNo', broken);
  if (typeof value.orderStatus !== 'string' || !STATUS_TEXT.test(value.orderStatus))
    broken(
      'orderStatus',
      'orderStatus',
      'orderStatus must be a status name such as SUCCESS, FAIL or PAYING',
    );
  const amount = decimalField(value, 'amount', broken);
  const fee = decimalField(value, 'fee', broken);
  if (errors.length > 0) return { errors };

  const merchantId = (signer ?? bodyMerchantId)!;
  return {
    errors,
    report: {
      merchantId,
      ...(bodyMerchantId !== undefined && bodyMerchantId !== merchantId ? { bodyMerchantId } : {}),
      mchOrderNo: mchOrderNo!,
      orderNo: orderNo!,
      channelOrderNo: printable(nonEmptyText(value.channelOrderNo)),
      amount: amount!,
      fee: fee!,
      orderStatus: value.orderStatus as string,
      completionTime: wireText(value.completionTime) ?? null,
      resultDesc: printable(nonEmptyText(value.resultDesc)) ?? null,
      raw: value,
      // The market comes from the account that signed it, or from what the store knows.
      currency: undefined,
    },
  };
}

/** An amount or fee: `null` when absent, a parsed non-negative decimal, or a broken rule. */
function decimalField(
  value: Record<string, unknown>,
  field: 'amount' | 'fee',
  broken: ReportBroken,
): ParsedDecimal | null | undefined {
  if (isAbsent(value[field])) return null;
  const parsed = parseDecimal(value[field]);
  if (!parsed)
    broken(field, 'decimal', `${field} must be a decimal (string or number), null or absent`);
  else if (parsed.negative) broken(field, 'nonNegative', `${field} must not be negative`);
  else return parsed;
  return undefined;
}

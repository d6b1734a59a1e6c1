import type { PayoutFieldError } from '../payout.errors';
import { parseDecimal, type ParsedDecimal } from '../markets/decimal';
import type { PayoutStatusReport } from '../outcome/payout-status-report.interface';
import { isOrderNumber } from '../client/cashy-protocol';

const STATUS_TEXT = /^[A-Za-z_]{1,32}$/;
const MERCHANT_ID = /^\d{1,20}$/;

/** A notification is a flat object of a dozen fields; anything far deeper or larger is not one. */
const MAX_DEPTH = 8;
const MAX_VALUES = 500;

/** Whether `root` nests at most `MAX_DEPTH` levels and holds at most `MAX_VALUES` values (no recursion). */
function withinShape(root: object): boolean {
  const pending: [unknown, number][] = [[root, 1]];
  let values = 0;
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (++values > MAX_VALUES || depth > MAX_DEPTH) return false;
    if (typeof node === 'object' && node !== null)
      for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return true;
}

/** Cashy leaves optional fields out, or sends them as null or "". */
const absent = (value: unknown): boolean =>
  value === undefined || value === null || value === '';

/** A string of the field, or `null`: numbers become their text, anything else is left out. */
const lenientText = (value: unknown): string | null =>
  typeof value === 'string' && value !== ''
    ? value
    : typeof value === 'number'
      ? String(value)
      : null;

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
  const errors: PayoutFieldError[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      errors: [
        {
          field: '(body)',
          rule: 'object',
          message: 'the notification must be a JSON object',
        },
      ],
    };
  }
  const value = input as Record<string, unknown>;
  const broken = (field: string, rule: string, message: string) =>
    errors.push({ field, rule, message });
  // `raw` goes to listeners, which store or log it: keep it something JSON.stringify can always handle.
  if (!withinShape(value)) {
    return {
      errors: [
        {
          field: '(body)',
          rule: 'shape',
          message: `the notification may nest at most ${MAX_DEPTH} levels and hold at most ${MAX_VALUES} values`,
        },
      ],
    };
  }

  const bodyMerchantId =
    typeof value.merchantId === 'number'
      ? String(value.merchantId)
      : value.merchantId;
  if (
    !absent(bodyMerchantId) &&
    (typeof bodyMerchantId !== 'string' || !MERCHANT_ID.test(bodyMerchantId))
  ) {
    broken(
      'merchantId',
      'merchantId',
      'merchantId must be a numeric merchant id',
    );
  }
  if (signer === undefined && absent(bodyMerchantId))
    broken('merchantId', 'required', 'merchantId is required');
  // Cashy may send a digit-only order number as a JSON number: it is the same number.
  const orderNumber = (field: 'mchOrderNo' | 'orderNo'): string | undefined => {
    const v = value[field];
    const text =
      typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
        ? String(v)
        : v;
    if (isOrderNumber(text)) return text;
    broken(
      field,
      'orderNumber',
      `${field} must be a string of 1 to 64 visible characters`,
    );
    return undefined;
  };
  const mchOrderNo = orderNumber('mchOrderNo');
  const orderNo = orderNumber('orderNo');
  if (
    typeof value.orderStatus !== 'string' ||
    !STATUS_TEXT.test(value.orderStatus)
  ) {
    broken(
      'orderStatus',
      'orderStatus',
      'orderStatus must be a status name such as SUCCESS, FAIL or PAYING',
    );
  }
  const amount = decimalField(value, 'amount', broken);
  const fee = decimalField(value, 'fee', broken);
  if (errors.length > 0) return { errors };

  const merchantId = signer ?? (bodyMerchantId as string);
  return {
    errors,
    report: {
      merchantId,
      ...(typeof bodyMerchantId === 'string' && bodyMerchantId !== merchantId
        ? { bodyMerchantId }
        : {}),
      mchOrderNo: mchOrderNo!,
      orderNo: orderNo!,
      channelOrderNo:
        typeof value.channelOrderNo === 'string' && value.channelOrderNo !== ''
          ? value.channelOrderNo
          : undefined,
      amount: amount!,
      fee: fee!,
      orderStatus: value.orderStatus as string,
      completionTime: lenientText(value.completionTime),
      resultDesc:
        typeof value.resultDesc === 'string' && value.resultDesc !== ''
          ? value.resultDesc
          : null,
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
  broken: (field: string, rule: string, message: string) => void,
): ParsedDecimal | null | undefined {
  if (absent(value[field])) return null;
  const parsed = parseDecimal(value[field]);
  if (!parsed)
    broken(
      field,
      'decimal',
      `${field} must be a decimal (string or number), null or absent`,
    );
  else if (parsed.negative)
    broken(field, 'nonNegative', `${field} must not be negative`);
  else return parsed;
  return undefined;
}

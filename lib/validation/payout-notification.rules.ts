import type { PayoutFieldError } from '../errors/payout-validation.error';
import { PAYOUT_STATUSES, type PayoutStatus } from '../interfaces/payout-types.interface';
import { parseDecimal } from '../money/decimal';
import type { PayoutStatusReport } from '../outcome/payout-status-report.interface';

const ORDER_NUMBER = /^[\x21-\x7e]{1,64}$/;

/** Cashy leaves optional fields out, or sends them as null or "". */
const absent = (value: unknown): boolean => value === undefined || value === null || value === '';

/**
 * Checks a parsed notification body. Unknown fields are allowed (Cashy may add some); known ones
 * must have the documented types, with numbers accepted wherever Cashy sends numbers.
 */
export function checkPayoutNotification(input: unknown): { errors: PayoutFieldError[]; report?: PayoutStatusReport } {
  const errors: PayoutFieldError[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { errors: [{ field: '(body)', rule: 'object', message: 'the notification must be a JSON object' }] };
  }
  const value = input as Record<string, unknown>;
  const broken = (field: string, rule: string, message: string) => errors.push({ field, rule, message });

  const merchantId = typeof value.merchantId === 'number' ? String(value.merchantId) : value.merchantId;
  if (typeof merchantId !== 'string' || !/^\d{1,20}$/.test(merchantId)) broken('merchantId', 'merchantId', 'merchantId must be a numeric merchant id');
  for (const field of ['mchOrderNo', 'orderNo'] as const) {
    if (typeof value[field] !== 'string' || !ORDER_NUMBER.test(value[field] as string)) {
      broken(field, 'orderNumber', `${field} must be a string of 1 to 64 visible characters`);
    }
  }
  if (!PAYOUT_STATUSES.includes(value.orderStatus as PayoutStatus)) {
    broken('orderStatus', 'orderStatus', `orderStatus must be one of ${PAYOUT_STATUSES.join(', ')}`);
  }
  const amount = absent(value.amount) ? undefined : parseDecimal(value.amount);
  if (!amount) broken('amount', 'decimal', 'amount must be a decimal (string or number)');
  const fee = absent(value.fee) ? null : parseDecimal(value.fee);
  if (fee === undefined) broken('fee', 'decimal', 'fee must be a decimal (string or number) or null');
  for (const field of ['completionTime', 'resultDesc', 'channelOrderNo'] as const) {
    if (value[field] !== undefined && value[field] !== null && typeof value[field] !== 'string') {
      broken(field, 'type', `${field} must be a string or null`);
    }
  }
  if (errors.length > 0) return { errors };
  return {
    errors,
    report: {
      merchantId: merchantId as string,
      mchOrderNo: value.mchOrderNo as string,
      orderNo: value.orderNo as string,
      channelOrderNo: typeof value.channelOrderNo === 'string' ? value.channelOrderNo : undefined,
      amount: amount!,
      fee: fee!,
      orderStatus: value.orderStatus as PayoutStatus,
      completionTime: absent(value.completionTime) ? null : (value.completionTime as string),
      resultDesc: absent(value.resultDesc) ? null : (value.resultDesc as string),
      raw: value,
      // The market comes from the account that signed it; the caller fills it in.
      currency: undefined,
    },
  };
}

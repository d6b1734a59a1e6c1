import type { PayoutFieldError } from '../payout.errors';
import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import { marketOf } from '../markets/payout-markets';
import { isAbsent, isPlainObject, MCH_ORDER_NO } from '../client/cashy-wire';

/** The payOutQuery body before `nonceStr`. */
export interface CashyPayOutQueryBody {
  orderNo?: string;
  mchOrderNo?: string;
}

/** Checks a query input: `orderNo` and/or `mchOrderNo`, and an optional `currency` to pick the account. */
export function checkQueryPayout(input: unknown): {
  errors: PayoutFieldError[];
  body?: CashyPayOutQueryBody;
  currency?: PayoutCurrency;
} {
  const errors: PayoutFieldError[] = [];
  if (!isPlainObject(input)) {
    return {
      errors: [
        {
          field: '(input)',
          rule: 'object',
          message: 'the query input must be an object',
        },
      ],
    };
  }
  const value = input;
  for (const key of Object.keys(value)) {
    if (!['orderNo', 'mchOrderNo', 'currency'].includes(key))
      errors.push({
        field: key,
        rule: 'unknownField',
        message: `${key} is not a query field`,
      });
  }
  const body: CashyPayOutQueryBody = {};
  for (const field of ['orderNo', 'mchOrderNo'] as const) {
    const v = value[field];
    if (isAbsent(v)) continue;
    if (typeof v !== 'string' || !MCH_ORDER_NO.test(v)) {
      errors.push({
        field,
        rule: 'orderNumber',
        message: `${field} must be 1 to 32 letters, digits or _ . : -`,
      });
    } else {
      body[field] = v;
    }
  }
  if (
    body.orderNo === undefined &&
    body.mchOrderNo === undefined &&
    !errors.some((e) => e.field === 'orderNo' || e.field === 'mchOrderNo')
  ) {
    errors.push({
      field: 'orderNo',
      rule: 'oneRequired',
      message: 'give orderNo or mchOrderNo (or both)',
    });
  }
  let currency: PayoutCurrency | undefined;
  if (value.currency !== undefined) {
    if (!marketOf(value.currency))
      errors.push({
        field: 'currency',
        rule: 'currency',
        message: `currency must be one of ${PAYOUT_CURRENCIES.join(', ')}`,
      });
    else currency = value.currency as PayoutCurrency;
  }
  return errors.length > 0 ? { errors } : { errors, body, currency };
}

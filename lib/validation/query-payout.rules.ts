import { brokenRules, type PayoutFieldError } from '../payout.errors';
import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import { marketOf } from '../markets/payout-markets';
import { isAbsent, isPlainObject, MCH_ORDER_NO } from '../client/cashy-wire';

/** The payOutQuery body before `nonceStr`. */
export interface CashyPayOutQueryBody {
  orderNo?: string;
  mchOrderNo?: string;
}

const QUERY_FIELDS = ['orderNo', 'mchOrderNo', 'currency'];

/** Checks a query input: `orderNo` and/or `mchOrderNo`, and an optional `currency` to pick the account. */
export function checkQueryPayout(input: unknown): {
  errors: PayoutFieldError[];
  body?: CashyPayOutQueryBody;
  currency?: PayoutCurrency;
} {
  if (!isPlainObject(input))
    return {
      errors: [{ field: '(input)', rule: 'object', message: 'the query input must be an object' }],
    };
  const [errors, broken] = brokenRules();
  for (const key of Object.keys(input))
    if (!QUERY_FIELDS.includes(key)) broken(key, 'unknownField', `${key} is not a query field`);
  const body: CashyPayOutQueryBody = {};
  for (const field of ['orderNo', 'mchOrderNo'] as const) {
    const v = input[field];
    if (isAbsent(v)) continue;
    if (typeof v === 'string' && MCH_ORDER_NO.test(v)) body[field] = v;
    else broken(field, 'orderNumber', `${field} must be 1 to 32 letters, digits or _ . : -`);
  }
  if (isAbsent(input.orderNo) && isAbsent(input.mchOrderNo))
    broken('orderNo', 'oneRequired', 'give orderNo or mchOrderNo (or both)');
  const currency = marketOf(input.currency)?.currency;
  if (input.currency !== undefined && !currency)
    broken('currency', 'currency', `currency must be one of ${PAYOUT_CURRENCIES.join(', ')}`);
  return errors.length > 0 ? { errors } : { errors, body, currency };
}

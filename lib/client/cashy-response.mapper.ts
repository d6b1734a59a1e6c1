import type { PayoutBalance, PayoutBank, PayoutCurrency, PayoutOrder } from '../payout.types';
import { marketOf } from '../markets/payout-markets';
import type { CashyEndpoint } from './cashy-protocol';
import { isPlainObject, nonEmptyText, normalizeAmount, wireAmount, wireText } from './cashy-wire';
import { CashyTransportError } from '../payout.errors';

/** Cashy reports balances with two decimals in every market. */
const BALANCE_SCALE = 2;

function record(data: unknown, endpoint: CashyEndpoint): Record<string, unknown> {
  if (!isPlainObject(data))
    throw new CashyTransportError('unparsable', endpoint, 'data is not an object');
  return data;
}

function amount(
  value: unknown,
  scale: number | undefined,
  endpoint: CashyEndpoint,
  field: string,
): string | null {
  try {
    return normalizeAmount(value, scale);
  } catch {
    throw new CashyTransportError('unparsable', endpoint, `${field} is not a decimal`);
  }
}

/**
 * Normalizes an order from payOut or payOutQuery: merchantId as a string, amounts as decimal
 * strings at the market's scale whichever of string or number Cashy sent. Lenient on purpose: an
 * answer with an `orderNo` is an order (money-safety rule 4), so an undocumented status is kept as
 * received and an amount or fee that is not a decimal becomes `null` (callers that must compare
 * amounts read them from `data` themselves).
 */
export function toPayoutOrder(
  data: unknown,
  endpoint: CashyEndpoint,
  known: { currency?: PayoutCurrency; mchOrderNo?: string },
): PayoutOrder {
  const value = record(data, endpoint);
  if (typeof value.orderNo !== 'string' || value.orderNo === '')
    throw new CashyTransportError('unparsable', endpoint, 'orderNo missing');
  const scale = marketOf(known.currency)?.amountScale;
  const resultDesc = nonEmptyText(value.resultDesc);
  const channelOrderNo = nonEmptyText(value.channelOrderNo);
  return {
    merchantId: String(value.merchantId ?? ''),
    mchOrderNo: nonEmptyText(value.mchOrderNo) ?? known.mchOrderNo ?? '',
    orderNo: value.orderNo,
    ...(known.currency ? { currency: known.currency } : {}),
    amount: wireAmount(value.amount, scale),
    fee: wireAmount(value.fee, scale),
    orderStatus: String(value.orderStatus ?? ''),
    completionTime: wireText(value.completionTime) ?? null,
    ...(resultDesc !== undefined ? { resultDesc } : {}),
    ...(channelOrderNo !== undefined ? { channelOrderNo } : {}),
  };
}

/** Normalizes bankListQuery's array. */
export function toPayoutBanks(data: unknown, endpoint: CashyEndpoint): PayoutBank[] {
  if (!Array.isArray(data))
    throw new CashyTransportError('unparsable', endpoint, 'data is not an array');
  return data.map((entry) => {
    const bank = record(entry, endpoint);
    const bankId = Number(bank.bankId);
    if (!Number.isSafeInteger(bankId))
      throw new CashyTransportError('unparsable', endpoint, 'bankId is not a number');
    return { bankId, bankCode: String(bank.bankCode ?? ''), bankName: String(bank.bankName ?? '') };
  });
}

/** Normalizes getBalance (`mchId` becomes `merchantId`). */
export function toPayoutBalance(
  data: unknown,
  endpoint: CashyEndpoint,
  merchantId: string,
): PayoutBalance {
  const value = record(data, endpoint);
  return {
    merchantId: String(value.mchId ?? merchantId),
    balance: amount(value.balance, BALANCE_SCALE, endpoint, 'balance') ?? '0.00',
    unBalance: amount(value.unBalance, BALANCE_SCALE, endpoint, 'unBalance') ?? '0.00',
  };
}

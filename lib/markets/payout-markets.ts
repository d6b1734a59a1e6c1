import type { PayoutCurrency } from '../payout.types';
import { MEXICO_MARKET } from './mexico.market';
import type { PayoutMarket } from './payout-market.interface';
import { PERU_MARKET } from './peru.market';

/** Every market the module serves, by currency. */
export const PAYOUT_MARKETS: Readonly<Record<PayoutCurrency, PayoutMarket>> = {
  PEN: PERU_MARKET,
  MXN: MEXICO_MARKET,
};

/** The market of a currency code, or `undefined` for one the module does not serve. */
export function marketOf(currency: unknown): PayoutMarket | undefined {
  return typeof currency === 'string' &&
    Object.prototype.hasOwnProperty.call(PAYOUT_MARKETS, currency)
    ? PAYOUT_MARKETS[currency as PayoutCurrency]
    : undefined;
}

import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../interfaces/payout-types.interface';
import type { AmountLimits } from '../markets/payout-market.interface';
import { PAYOUT_MARKETS } from '../markets/payout-markets';
import type { CreatePayoutRuleContext } from './create-payout.rules';

const DEFAULT_LIMITS = Object.fromEntries(
  PAYOUT_CURRENCIES.map((currency) => [currency, PAYOUT_MARKETS[currency].defaultLimits]),
) as Record<PayoutCurrency, AmountLimits>;

let active: CreatePayoutRuleContext | undefined;

/**
 * Makes the limits and default `notifyUrl` of the running `PayoutModule` the ones DTO validation
 * uses. Class-validator decorators cannot reach Nest's container, so the module publishes them here
 * at startup; before that, the seeds' default limits apply.
 */
export function publishPayoutRuleContext(context: CreatePayoutRuleContext): void {
  active = context;
}

/** The rule context for DTO validation (a missing `notifyUrl` is left to the service). */
export function dtoRuleContext(): CreatePayoutRuleContext {
  return { limits: active?.limits ?? DEFAULT_LIMITS, defaultNotifyUrl: active?.defaultNotifyUrl, requireNotifyUrl: false };
}

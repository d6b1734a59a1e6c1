import type { PayoutCurrency } from '../interfaces/payout-types.interface';
import { decimalPlaces, formatDecimal, parseDecimal, toScaledInteger } from '../money/decimal';

/**
 * The sandbox's fixed fee per payout, at the market's scale. Cashy's real fees are per contract
 * and unpublished; these are round numbers that make fee handling visible in tests.
 */
export const SANDBOX_FEES: Readonly<Record<PayoutCurrency, string>> = { PEN: '1.50', MXN: '5' };

/** Balances have two decimals in every market (Cashy's `decimal(20,2)`). */
export const BALANCE_SCALE = 2;

/** Default opening balance of every sandbox account. */
export const SANDBOX_DEFAULT_BALANCE = '1000000.00';

/** A decimal string as an integer count of cents (`'150.5'` → `15050n`); throws for anything else. */
export function toCents(value: string, what: string): bigint {
  const parsed = parseDecimal(value);
  if (!parsed || decimalPlaces(parsed) > BALANCE_SCALE) throw new Error(`CashySandbox: ${what} must be a decimal with at most ${BALANCE_SCALE} places`);
  return toScaledInteger(parsed, BALANCE_SCALE);
}

/** Cents back to a two-decimal string (`15050n` → `'150.50'`). */
export function fromCents(cents: bigint): string {
  const negative = cents < 0n;
  const digits = (negative ? -cents : cents).toString().padStart(BALANCE_SCALE + 1, '0');
  const text = `${negative ? '-' : ''}${digits.slice(0, -BALANCE_SCALE)}.${digits.slice(-BALANCE_SCALE)}`;
  return formatDecimal(parseDecimal(text)!, BALANCE_SCALE);
}

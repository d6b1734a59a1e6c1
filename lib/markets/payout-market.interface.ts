import type { PayoutFieldError } from '../payout.errors';
import type { PayoutCurrency } from '../payout.types';

/** A bank of a market's static bank table. */
export interface MarketBank {
  bankId: number;
  bankCode: string;
  bankName: string;
}

/** An amount range, as decimal strings. */
export interface AmountLimits {
  min: string;
  max: string;
}

/**
 * The create-payout fields a market check receives: already type-checked by the common rules
 * (digits are strings, numbers are integers), but not yet checked against the market.
 */
export interface MarketPayoutFields {
  /** Fields the input carried, valid or not (so a malformed field is not also called missing). */
  given: ReadonlySet<string>;
  accountNo?: string;
  cciAccountNo?: string;
  accountType?: number;
  bankId?: number;
  idType?: string;
  idCard?: string;
}

/**
 * Everything that differs between markets. Each market lives in one file
 * (`peru.market.ts`, `mexico.market.ts`), so adding a country is adding a file.
 */
export interface PayoutMarket {
  currency: PayoutCurrency;
  country: string;
  /** Decimal places of amounts and fees. */
  amountScale: number;
  defaultLimits: AmountLimits;
  accountNameMaxLength: number;
  /** Whether `idType` and `idCard` must be sent. */
  idRequired: boolean;
  /** Whether a `SUCCESS` can later turn into `FAIL` (a SPEI return). */
  allowsSuccessReversal: boolean;
  accountTypes: Readonly<Record<number, string>>;
  banks: readonly MarketBank[];
  /** Market-specific checks of account, bank and identity fields. */
  check(fields: MarketPayoutFields): PayoutFieldError[];
}

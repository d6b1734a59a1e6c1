import type { PayoutCurrency } from '../interfaces/payout-types.interface';
import type { AmountLimits } from '../markets/payout-market.interface';
import { PayoutConfigurationError } from '../errors/payout-configuration.error';
import type { CashyMessagePatterns } from '../client/cashy-answers';
import { CashyAccount } from './cashy-account';

/** Resolved retry policy. */
export interface ResolvedRetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Resolved delivery settings. */
export interface ResolvedDeliveryPolicy {
  claimTtlMs: number;
  claimWaitMs: number;
}

/** How a call names the account to use: by name or merchant id. */
export interface PayoutAccountSelector {
  account?: string | number;
}

/**
 * The module's options after validation and defaults: the one object the rest of the module reads.
 * Built once at startup by `resolvePayoutOptions`.
 */
export class PayoutConfig {
  private readonly byMerchantId: ReadonlyMap<string, CashyAccount>;

  constructor(
    readonly baseUrl: string,
    readonly accounts: readonly CashyAccount[],
    readonly notifyUrl: string | undefined,
    readonly limits: Readonly<Record<PayoutCurrency, AmountLimits>>,
    readonly timeoutMs: number,
    readonly retry: ResolvedRetryPolicy,
    readonly delivery: ResolvedDeliveryPolicy,
    /** Money-safety rule 3: how long after an ambiguous create it may be sent again or called not created. */
    readonly resendWindowMs: number,
    /** How Cashy's unpublished duplicate-order and unknown-order messages are recognised. */
    readonly messages: Readonly<CashyMessagePatterns>,
  ) {
    this.byMerchantId = new Map(accounts.map((account) => [account.merchantId, account]));
  }

  /** The account whose merchant id is `merchantId` (as a webhook's `MerchantId` header names it). */
  accountByMerchantId(merchantId: string): CashyAccount | undefined {
    return this.byMerchantId.get(merchantId);
  }

  /**
   * The account a call uses: the one named by `selector.account`, else the single account that
   * serves `currency`, else the only account. Anything ambiguous or unknown is an error.
   */
  selectAccount(selector: PayoutAccountSelector | undefined, currency?: PayoutCurrency): CashyAccount {
    const wanted = selector?.account;
    if (wanted !== undefined && wanted !== null && wanted !== '') {
      const key = String(wanted);
      const account = this.accounts.find((a) => a.name === key || a.merchantId === key);
      if (!account) {
        throw new PayoutConfigurationError(
          `account: no configured account is named or has merchantId "${key}" (known: ${this.accounts.map((a) => a.name).join(', ')})`,
        );
      }
      if (currency && !account.serves(currency)) {
        throw new PayoutConfigurationError(`account: account "${account.name}" does not serve ${currency}`);
      }
      return account;
    }
    if (this.accounts.length === 1) {
      const [only] = this.accounts;
      if (currency && !only.serves(currency)) {
        throw new PayoutConfigurationError(`currency: the configured account "${only.name}" does not serve ${currency}`);
      }
      return only;
    }
    if (!currency) {
      throw new PayoutConfigurationError(
        `account: ${this.accounts.length} accounts are configured; pass { account } (one of ${this.accounts.map((a) => a.name).join(', ')}) or a currency`,
      );
    }
    const serving = this.accounts.filter((a) => a.serves(currency));
    const dedicated = serving.filter((a) => a.currencies !== undefined);
    const candidates = dedicated.length === 1 ? dedicated : serving;
    if (candidates.length === 1) return candidates[0];
    if (candidates.length === 0) {
      throw new PayoutConfigurationError(`currency: no configured account serves ${currency}`);
    }
    throw new PayoutConfigurationError(
      `account: accounts ${candidates.map((a) => a.name).join(' and ')} all serve ${currency}; pass { account } to choose`,
    );
  }
}

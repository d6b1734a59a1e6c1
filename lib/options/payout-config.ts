import type { PayoutCurrency } from '../payout.types';
import type { AmountLimits } from '../markets/payout-market.interface';
import { PayoutConfigurationError } from '../payout.errors';
import type { CashyMessagePatterns } from '../client/cashy-protocol';
import {
  RECONCILIATION_DEFAULTS,
  type ResolvedReconciliationPolicy,
} from '../reconciliation/payout-reconciliation.options';
import { CashyAccount } from './cashy-account';
import type {
  PayoutDeliveryOptions,
  PayoutHttpOptions,
  PayoutRetryOptions,
} from './payout-module-options.interface';

/** Resolved transport settings (module option `http`): an agent left out means the module's own. */
export type ResolvedHttpOptions = Readonly<
  PayoutHttpOptions & Required<Pick<PayoutHttpOptions, 'proxy' | 'headers'>>
>;

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
  // Private like the apiKey: proxy credentials and extra headers may be secrets, so no dump of the config shows them.
  readonly #http: ResolvedHttpOptions;

  constructor(
    readonly baseUrl: string,
    readonly accounts: readonly CashyAccount[],
    readonly notifyUrl: string | undefined,
    readonly limits: Readonly<Record<PayoutCurrency, AmountLimits>>,
    readonly timeoutMs: number,
    readonly retry: Required<PayoutRetryOptions>,
    readonly delivery: Required<PayoutDeliveryOptions>,
    /** Money-safety rule 3: how long after an ambiguous create it may be sent again or called not created. */
    readonly resendWindowMs: number,
    /** How Cashy's unpublished duplicate-order and unknown-order messages are recognised. */
    readonly messages: Readonly<CashyMessagePatterns>,
    http: ResolvedHttpOptions,
    /** The built-in sweep of open payouts, or `false` when the host turned it off. */
    readonly reconciliation: ResolvedReconciliationPolicy | false,
  ) {
    this.byMerchantId = new Map(accounts.map((account) => [account.merchantId, account]));
    this.#http = http;
  }

  /** The transport's agents, proxy and extra headers (module option `http`). */
  get http(): ResolvedHttpOptions {
    return this.#http;
  }

  /** The sweep's timings: the module's, or the defaults when the timer is off (`sweep()` still works). */
  get reconciliationPolicy(): ResolvedReconciliationPolicy {
    return this.reconciliation || RECONCILIATION_DEFAULTS;
  }

  /** The account whose merchant id is `merchantId` (as a webhook's `MerchantId` header names it). */
  accountByMerchantId(merchantId: string): CashyAccount | undefined {
    return this.byMerchantId.get(merchantId);
  }

  /**
   * The account a call uses: the one named by `selector.account`, else the single account that
   * serves `currency`, else the only account. Anything ambiguous or unknown is an error.
   */
  selectAccount(
    selector: PayoutAccountSelector | undefined,
    currency?: PayoutCurrency,
  ): CashyAccount {
    const wanted = selector?.account;
    const names = () => this.accounts.map((a) => a.name).join(', ');
    if (wanted !== undefined && wanted !== null && wanted !== '') {
      const key = String(wanted);
      const account = this.accounts.find((a) => a.name === key || a.merchantId === key);
      if (!account)
        throw new PayoutConfigurationError(
          `account: no configured account is named or has merchantId "${key}" (known: ${names()})`,
        );
      if (currency && !account.serves(currency))
        throw new PayoutConfigurationError(
          `account: account "${account.name}" does not serve ${currency}`,
        );
      return account;
    }
    if (this.accounts.length === 1) {
      const [only] = this.accounts;
      if (currency && !only.serves(currency))
        throw new PayoutConfigurationError(
          `currency: the configured account "${only.name}" does not serve ${currency}`,
        );
      return only;
    }
    if (!currency)
      throw new PayoutConfigurationError(
        `account: ${this.accounts.length} accounts are configured; pass { account } (one of ${names()}) or a currency`,
      );
    const serving = this.accounts.filter((a) => a.serves(currency));
    const dedicated = serving.filter((a) => a.currencies !== undefined);
    const candidates = dedicated.length === 1 ? dedicated : serving;
    if (candidates.length === 1) return candidates[0];
    if (candidates.length === 0)
      throw new PayoutConfigurationError(`currency: no configured account serves ${currency}`);
    throw new PayoutConfigurationError(
      `account: accounts ${candidates.map((a) => a.name).join(' and ')} all serve ${currency}; pass { account } to choose`,
    );
  }
}

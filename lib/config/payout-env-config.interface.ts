import type {
  PayoutAccountOptions,
  PayoutModuleOptions,
} from '../options/payout-module-options.interface';

/** An account read from `CASHY_PEN_*` or `CASHY_MXN_*`. */
export interface PayoutEnvAccount extends PayoutAccountOptions {
  name: 'pen' | 'mxn';
  merchantId: string;
  currencies: ['PEN'] | ['MXN'];
}

/**
 * The value of `payoutConfig` (the `payout` namespace of `ConfigService`): `PayoutModule` options read
 * from the environment, already validated. Either `merchantId` + `apiKey` or `accounts` is set.
 * Printing or JSON-serializing it shows every apiKey as `[redacted]`.
 */
export interface PayoutEnvConfig extends Pick<
  PayoutModuleOptions,
  'baseUrl' | 'notifyUrl' | 'timeoutMs' | 'resendWindowMs'
> {
  merchantId?: string;
  apiKey?: string;
  accounts?: PayoutEnvAccount[];
}

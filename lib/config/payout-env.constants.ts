/**
 * Every environment variable `payoutConfig` reads. Give the base URL and either the single-account pair
 * (`CASHY_MERCHANT_ID` + `CASHY_API_KEY`) or one pair per currency (`CASHY_PEN_*`, `CASHY_MXN_*`).
 */
export const PAYOUT_ENV_VARIABLES = [
  'CASHY_BASE_URL',
  'CASHY_NOTIFY_URL',
  'CASHY_MERCHANT_ID',
  'CASHY_API_KEY',
  'CASHY_PEN_MERCHANT_ID',
  'CASHY_PEN_API_KEY',
  'CASHY_MXN_MERCHANT_ID',
  'CASHY_MXN_API_KEY',
  'CASHY_TIMEOUT_MS',
  'CASHY_RESEND_WINDOW_MS',
] as const;

/** One of `PAYOUT_ENV_VARIABLES`. */
export type PayoutEnvVariable = (typeof PAYOUT_ENV_VARIABLES)[number];

/** The per-currency accounts, in the order they are listed in `accounts`. */
export const PAYOUT_ENV_ACCOUNTS = [
  {
    name: 'pen',
    currency: 'PEN',
    merchantId: 'CASHY_PEN_MERCHANT_ID',
    apiKey: 'CASHY_PEN_API_KEY',
  },
  {
    name: 'mxn',
    currency: 'MXN',
    merchantId: 'CASHY_MXN_MERCHANT_ID',
    apiKey: 'CASHY_MXN_API_KEY',
  },
] as const;

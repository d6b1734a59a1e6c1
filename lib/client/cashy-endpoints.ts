/** Cashy payout API paths. Every endpoint is a signed JSON POST. */
export const CASHY_ENDPOINTS = {
  payOut: '/api/payOut',
  payOutQuery: '/api/payOutQuery',
  bankListQuery: '/api/bankListQuery',
  getBalance: '/api/getBalance',
} as const;

/** One of Cashy's payout API paths. */
export type CashyEndpoint = (typeof CASHY_ENDPOINTS)[keyof typeof CASHY_ENDPOINTS];

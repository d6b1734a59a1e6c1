/** Cashy payout API paths. Every endpoint is a signed JSON POST. */
export const CASHY_ENDPOINTS = {
  payOut: '/api/payOut',
  payOutQuery: '/api/payOutQuery',
  bankListQuery: '/api/bankListQuery',
  getBalance: '/api/getBalance',
} as const;

/** One of Cashy's payout API paths. */
export type CashyEndpoint = (typeof CASHY_ENDPOINTS)[keyof typeof CASHY_ENDPOINTS];

/** `msg` values after which the same request may simply be sent again. */
export const CASHY_RETRYABLE_MESSAGES: readonly string[] = ['System_busy', 'System_Maintenance'];

/** `msg` after which Cashy may or may not have acted (a generic server failure). */
export const CASHY_AMBIGUOUS_MESSAGE = 'System_error';

/** Emitted the first time an order is reported `SUCCESS`. */
export const PAYOUT_SUCCEEDED = 'payout.succeeded' as const;

/** Emitted the first time an order is reported `FAIL` or `CANCEL`, and when a Mexican `SUCCESS` is reversed. */
export const PAYOUT_FAILED = 'payout.failed' as const;

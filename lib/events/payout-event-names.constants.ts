/** Emitted the first time an order is reported `SUCCESS`. */
export const PAYOUT_SUCCEEDED = 'payout.succeeded' as const;

/** Emitted the first time an order is reported `FAIL` or `CANCEL`, and when a Mexican `SUCCESS` is reversed. */
export const PAYOUT_FAILED = 'payout.failed' as const;

/** Emitted once for a report the rules forbid (money-safety rule 7); no payout event is emitted for it. */
export const PAYOUT_ANOMALY = 'payout.anomaly' as const;

/**
 * Emitted once by the built-in reconciliation when a create of unknown outcome turns out, after the
 * re-send window, not to exist: send it again with the same `mchOrderNo`, or give up.
 */
export const PAYOUT_NOT_CREATED = 'payout.not_created' as const;

/** Injection token of the `PayoutStore` the module uses. */
export const PAYOUT_STORE = Symbol('PAYOUT_STORE');

/** Injection token of the host's `EventEmitter2`, checked at startup. */
export const PAYOUT_EVENT_BUS = Symbol('PAYOUT_EVENT_BUS');

import { PayoutError } from './payout.error';

/** A module option, or the host's wiring, is wrong. Thrown at startup or at the call that needs it. */
export class PayoutConfigurationError extends PayoutError {}

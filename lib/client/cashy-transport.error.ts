import { PayoutError } from '../errors/payout.error';

/** Why an exchange with the gateway gave no usable answer. */
export type CashyTransportFailure = 'timeout' | 'connection' | 'http-status' | 'unparsable';

/**
 * The gateway could not be reached or gave no usable answer (timeout, reset connection, HTTP 5xx,
 * a body that is not Cashy's envelope). Whether the request took effect is unknown.
 */
export class CashyTransportError extends PayoutError {
  constructor(
    readonly failure: CashyTransportFailure,
    readonly endpoint: string,
    detail: string,
  ) {
    super(`Cashy ${endpoint}: ${failure} (${detail})`);
  }
}

import { PayoutError } from './payout.error';

/** Cashy answered with an envelope whose `code` is not 200. */
export class CashyApiError extends PayoutError {
  /** Cashy's `code` (for example 500). */
  readonly code: number;
  /** Cashy's symbolic `msg` (for example `Params_bankId_error`). */
  readonly msg: string;

  constructor(code: number, msg: string, endpoint?: string) {
    super(`Cashy${endpoint ? ` ${endpoint}` : ''} answered code ${code}: ${msg}`);
    this.code = code;
    this.msg = msg;
  }
}

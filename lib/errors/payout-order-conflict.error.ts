import { PayoutError } from './payout.error';

/**
 * The gateway holds another payout under this `mchOrderNo` (another amount, currency or order), or
 * answered a create with an order that differs from the request. Nothing is sent again: look at
 * `orderNo` (when the gateway gave one) before doing anything, and use a new `mchOrderNo` only for
 * a new payout.
 */
export class PayoutOrderConflictError extends PayoutError {
  readonly mchOrderNo: string;
  /** Cashy's order number of the conflicting order, when known. */
  readonly orderNo: string | undefined;

  constructor(mchOrderNo: string, orderNo: string | undefined, detail: string) {
    super(`mchOrderNo ${mchOrderNo} holds another payout${orderNo ? ` (order ${orderNo})` : ''}: ${detail}`);
    this.mchOrderNo = mchOrderNo;
    this.orderNo = orderNo;
  }
}

import type { PayoutStatus } from '../interfaces/payout-types.interface';

/**
 * What made a report an anomaly:
 * - `transition`: a change out of a final status the rules forbid (`FAIL → SUCCESS`, anything out
 *   of `CANCEL`, `SUCCESS → FAIL` outside Mexico or a second time);
 * - `merchant`: signed by another merchant than the one the order was created under, or a body
 *   whose `merchantId` is not the signer's;
 * - `mchOrderNo`: the `orderNo` is recorded under another `mchOrderNo`, or the `mchOrderNo` under another `orderNo`;
 * - `amount`: an amount other than the one the order was created with;
 * - `status`: an `orderStatus` Cashy does not document;
 * - `answer`: a create answer that disagrees with the request;
 * - `unresolved`: the built-in reconciliation gave up on a payout still open after its horizon.
 */
export type PayoutAnomalyKind = 'transition' | 'merchant' | 'mchOrderNo' | 'amount' | 'status' | 'answer' | 'unresolved';

/** Fields of `PayoutAnomalyEvent`. */
export interface PayoutAnomalyFields {
  kind: PayoutAnomalyKind;
  merchantId: string;
  mchOrderNo: string;
  orderNo: string;
  previousStatus: PayoutStatus | null;
  status: string;
  reason: string;
  raw: Record<string, unknown>;
}

/** Payload of `payout.anomaly`. */
export class PayoutAnomalyEvent implements PayoutAnomalyFields {
  readonly kind: PayoutAnomalyKind;
  /** The merchant that signed the report (or the account a create answer came from). */
  readonly merchantId: string;
  readonly mchOrderNo: string;
  readonly orderNo: string;
  /** The order's status before this report, when known. */
  readonly previousStatus: PayoutStatus | null;
  /** The status the report carries, as received. */
  readonly status: string;
  /** A sentence for people: what differs from what. */
  readonly reason: string;
  /** The notification or answer exactly as parsed from the gateway's bytes. */
  readonly raw: Record<string, unknown>;

  constructor(fields: PayoutAnomalyFields) {
    this.kind = fields.kind;
    this.merchantId = fields.merchantId;
    this.mchOrderNo = fields.mchOrderNo;
    this.orderNo = fields.orderNo;
    this.previousStatus = fields.previousStatus;
    this.status = fields.status;
    this.reason = fields.reason;
    this.raw = fields.raw;
  }
}

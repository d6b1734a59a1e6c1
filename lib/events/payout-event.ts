import type { PayoutResultDesc, PayoutStatus } from '../interfaces/payout-types.interface';

/** Fields every payout event carries. Amounts are decimal strings at the market's scale. */
export interface PayoutEventFields {
  merchantId: string;
  mchOrderNo: string;
  orderNo: string;
  channelOrderNo?: string;
  amount: string | null;
  fee: string | null;
  status: PayoutStatus;
  completionTime: string | null;
  resultDesc: PayoutResultDesc | null;
  /** The notification (or query answer) exactly as parsed from the gateway's bytes. */
  raw: Record<string, unknown>;
}

/** What `payout.succeeded` and `payout.failed` have in common. */
export abstract class PayoutEvent implements PayoutEventFields {
  readonly merchantId!: string;
  readonly mchOrderNo!: string;
  readonly orderNo!: string;
  readonly channelOrderNo?: string;
  readonly amount!: string | null;
  readonly fee!: string | null;
  readonly status!: PayoutStatus;
  readonly completionTime!: string | null;
  readonly resultDesc!: PayoutResultDesc | null;
  readonly raw!: Record<string, unknown>;

  protected constructor(fields: PayoutEventFields) {
    // Field by field rather than Object.assign: cheaper, and only the documented fields are copied.
    this.merchantId = fields.merchantId;
    this.mchOrderNo = fields.mchOrderNo;
    this.orderNo = fields.orderNo;
    this.channelOrderNo = fields.channelOrderNo;
    this.amount = fields.amount;
    this.fee = fields.fee;
    this.status = fields.status;
    this.completionTime = fields.completionTime;
    this.resultDesc = fields.resultDesc;
    this.raw = fields.raw;
  }
}

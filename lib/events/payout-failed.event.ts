import type { PayoutResultDesc } from '../interfaces/payout-types.interface';
import type { PayoutEventFields } from './payout-succeeded.event';

/** Payload of `payout.failed`. */
export class PayoutFailedEvent implements PayoutEventFields {
  readonly merchantId!: string;
  readonly mchOrderNo!: string;
  readonly orderNo!: string;
  readonly channelOrderNo?: string;
  readonly amount!: string | null;
  readonly fee!: string | null;
  readonly status!: 'FAIL' | 'CANCEL';
  readonly completionTime!: string | null;
  readonly resultDesc!: PayoutResultDesc | null;
  readonly raw!: Record<string, unknown>;
  /** Why it failed: Cashy's `resultDesc`. */
  readonly reason!: PayoutResultDesc | null;
  /** True when this undoes an earlier `payout.succeeded` (a Mexican SPEI return). */
  readonly reversed!: boolean;

  constructor(fields: PayoutEventFields & { status: 'FAIL' | 'CANCEL'; reversed: boolean }) {
    Object.assign(this, fields);
    this.reason = fields.resultDesc;
  }
}

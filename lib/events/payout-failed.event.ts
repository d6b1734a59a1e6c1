import type { PayoutResultDesc } from '../interfaces/payout-types.interface';
import { PayoutEvent, type PayoutEventFields } from './payout-event';

/** Payload of `payout.failed`. */
export class PayoutFailedEvent extends PayoutEvent {
  declare readonly status: 'FAIL' | 'CANCEL';
  /** Why it failed: Cashy's `resultDesc`. */
  readonly reason: PayoutResultDesc | null;
  /** True when this undoes an earlier `payout.succeeded` (a Mexican SPEI return). */
  readonly reversed: boolean;

  constructor(fields: PayoutEventFields & { status: 'FAIL' | 'CANCEL'; reversed: boolean }) {
    super(fields);
    this.reason = fields.resultDesc;
    this.reversed = fields.reversed;
  }
}

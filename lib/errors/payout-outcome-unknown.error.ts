import { PayoutError } from './payout.error';

/**
 * The gateway may or may not hold the order: every attempt to create it or look it up ended
 * ambiguously. Never retry under a new `mchOrderNo`; reconcile this one with `queryPayout`.
 */
export class PayoutOutcomeUnknownError extends PayoutError {
  readonly mchOrderNo: string;

  constructor(mchOrderNo: string, reason: string) {
    super(`Outcome of payout ${mchOrderNo} is unknown (${reason}); look it up with queryPayout({ mchOrderNo }) before doing anything else`);
    this.mchOrderNo = mchOrderNo;
  }
}

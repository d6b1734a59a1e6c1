import { PayoutEvent, type PayoutEventFields } from './payout-event';

/** Payload of `payout.succeeded`. */
export class PayoutSucceededEvent extends PayoutEvent {
  // `declare`: a redeclared field would be reset to undefined after super() assigned it.
  declare readonly status: 'SUCCESS';

  constructor(fields: PayoutEventFields & { status: 'SUCCESS' }) {
    super(fields);
  }
}

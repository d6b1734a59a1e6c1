import type { PayoutCurrency } from '../interfaces/payout-types.interface';

/** Fields of `PayoutNotCreatedEvent`. */
export interface PayoutNotCreatedFields {
  merchantId: string;
  mchOrderNo: string;
  currency: PayoutCurrency;
  /** The amount that was sent, a decimal string at the market's scale. */
  amount: string;
}

/**
 * Payload of `payout.not_created`: a create whose outcome was unknown does not exist at the gateway,
 * and no attempt of it can land any more. The module never sends it again by itself.
 */
export class PayoutNotCreatedEvent implements PayoutNotCreatedFields {
  readonly merchantId: string;
  readonly mchOrderNo: string;
  readonly currency: PayoutCurrency;
  readonly amount: string;

  constructor(fields: PayoutNotCreatedFields) {
    this.merchantId = fields.merchantId;
    this.mchOrderNo = fields.mchOrderNo;
    this.currency = fields.currency;
    this.amount = fields.amount;
  }
}

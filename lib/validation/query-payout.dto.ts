import { MCH_ORDER_NO } from '../client/cashy-wire';
import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import { MeetsPayoutRules } from './payout-rules.decorator';
import { checkQueryPayout } from './query-payout.rules';

const rules = (object: object) => checkQueryPayout(object).errors;

// The rule's own pattern: what `checkQueryPayout` takes for either order number.
const ORDER_NUMBER = {
  type: 'string',
  minLength: 1,
  maxLength: 32,
  pattern: MCH_ORDER_NO.source,
};

/** Input of `PayoutService.queryPayout`: Cashy's `orderNo` (preferred) and/or your `mchOrderNo`. */
export class QueryPayoutDto {
  /** Cashy's order number, as the create answered it. */
  @MeetsPayoutRules(rules) orderNo?: string;
  /** Your order number. */
  @MeetsPayoutRules(rules) mchOrderNo?: string;
  /** Picks the account when several are configured, and the scale of amounts. */
  @MeetsPayoutRules(rules) currency?: PayoutCurrency;

  /**
   * OpenAPI metadata in the shape `@nestjs/swagger`'s CLI plugin generates (written by hand, so lib/
   * never imports `@nestjs/swagger`). Both order numbers are optional; at least one is required.
   */
  static _OPENAPI_METADATA_FACTORY(): Record<string, Record<string, unknown>> {
    return {
      orderNo: {
        required: false,
        ...ORDER_NUMBER,
        example: 'P2024061200001234',
        description: "Cashy's order number (preferred). Give orderNo, mchOrderNo or both.",
      },
      mchOrderNo: {
        required: false,
        ...ORDER_NUMBER,
        example: 'ORDER-2024-000123',
        description: 'Your order number. Give orderNo, mchOrderNo or both.',
      },
      currency: {
        required: false,
        type: 'string',
        enum: [...PAYOUT_CURRENCIES],
        example: 'MXN',
        description:
          'Picks the account when several are configured, and the scale of amounts in the answer.',
      },
    };
  }
}

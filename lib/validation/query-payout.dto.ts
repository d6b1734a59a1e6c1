import type { PayoutCurrency } from '../payout.types';
import { CREATE_PAYOUT_FIELD_SPECS, payoutFieldSchema } from './create-payout.fields';
import { MeetsPayoutRules } from './payout-rules.decorator';
import { checkQueryPayout } from './query-payout.rules';

const rules = (object: object) => checkQueryPayout(object).errors;

/** A create-payout field's schema, optional here. */
const optional = (field: 'mchOrderNo' | 'currency', description: string) => ({
  ...payoutFieldSchema(field, CREATE_PAYOUT_FIELD_SPECS[field]),
  required: false,
  description,
});

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
   * never imports `@nestjs/swagger`), from the create-payout field table: `checkQueryPayout` takes
   * either order number by `mchOrderNo`'s rule.
   */
  static _OPENAPI_METADATA_FACTORY(): Record<string, Record<string, unknown>> {
    return {
      orderNo: {
        ...optional(
          'mchOrderNo',
          "Cashy's order number (preferred). Give orderNo, mchOrderNo or both.",
        ),
        example: 'P2024061200001234',
      },
      mchOrderNo: optional('mchOrderNo', 'Your order number. Give orderNo, mchOrderNo or both.'),
      currency: optional(
        'currency',
        'Picks the account when several are configured, and the scale of amounts in the answer.',
      ),
    };
  }
}

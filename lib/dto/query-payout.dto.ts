import type { PayoutCurrency } from '../interfaces/payout-types.interface';
import { MeetsPayoutRules } from '../validation/payout-rules.decorator';
import { checkQueryPayout } from '../validation/query-payout.rules';

const rules = (object: object) => checkQueryPayout(object).errors;

/** Input of `PayoutService.queryPayout`: Cashy's `orderNo` (preferred) and/or your `mchOrderNo`. */
export class QueryPayoutDto {
  @MeetsPayoutRules(rules) orderNo?: string;
  @MeetsPayoutRules(rules) mchOrderNo?: string;
  /** Picks the account when several are configured, and the scale of amounts. */
  @MeetsPayoutRules(rules) currency?: PayoutCurrency;
}

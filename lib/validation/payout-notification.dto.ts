import type { PayoutStatus } from '../payout.types';
import { checkPayoutNotification } from './payout-notification.rules';
import { MeetsPayoutRules } from './payout-rules.decorator';

const rules = (object: object) => checkPayoutNotification(object).errors;

/** Body of Cashy's payout notification, as the webhook accepts it. */
export class PayoutNotificationDto {
  @MeetsPayoutRules(rules) merchantId!: string | number;
  @MeetsPayoutRules(rules) mchOrderNo!: string;
  @MeetsPayoutRules(rules) orderNo!: string;
  @MeetsPayoutRules(rules) channelOrderNo?: string | null;
  @MeetsPayoutRules(rules) amount?: string | number | null;
  @MeetsPayoutRules(rules) fee?: string | number | null;
  @MeetsPayoutRules(rules) orderStatus!: PayoutStatus | (string & {});
  @MeetsPayoutRules(rules) completionTime?: string | number | null;
  @MeetsPayoutRules(rules) resultDesc?: string | null;
}

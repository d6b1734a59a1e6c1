import type { PayoutCurrency } from '../interfaces/payout-types.interface';
import { checkCreatePayout } from '../validation/create-payout.rules';
import { dtoRuleContext } from '../validation/payout-rules.context';
import { MeetsPayoutRules } from '../validation/payout-rules.decorator';

const rules = (object: object) => checkCreatePayout(object, dtoRuleContext()).errors;

/**
 * Input of `PayoutService.createPayout`, usable as a request body with `ValidationPipe`: the rules
 * and messages are the ones the service applies (amount limits follow the module's `limits`).
 */
export class CreatePayoutDto {
  /** Beneficiary name: at most 32 characters for PEN and 40 for MXN, unaccented. */
  @MeetsPayoutRules(rules) accountName!: string;
  /** Beneficiary account number (digits; format per bank and account type). */
  @MeetsPayoutRules(rules) accountNo!: string;
  /** Peru: the 20-digit CCI, required for banks other than bankIds 1-4. */
  @MeetsPayoutRules(rules) cciAccountNo?: string;
  /** PEN: 0 corriente, 1 ahorro. MXN: 3 card/account (16 digits), 40 CLABE (18 digits). */
  @MeetsPayoutRules(rules) accountType!: number | string;
  @MeetsPayoutRules(rules) currency!: PayoutCurrency;
  /** Decimal string or number: PEN up to 2 decimals, MXN whole pesos; within the limits. */
  @MeetsPayoutRules(rules) amount!: string | number;
  /** A bank of the currency's payout bank list. */
  @MeetsPayoutRules(rules) bankId!: number | string;
  /** Your order number and idempotency key: at most 32 characters, never reused. */
  @MeetsPayoutRules(rules) mchOrderNo!: string;
  /** Callback URL; defaults to the module's `notifyUrl`. */
  @MeetsPayoutRules(rules) notifyUrl?: string;
  /** PEN (required): 1 DNI, 2 PAS, 3 CE, 4 RUC. */
  @MeetsPayoutRules(rules) idType?: string | number;
  /** PEN (required): the document number the account was opened with. */
  @MeetsPayoutRules(rules) idCard?: string;
  @MeetsPayoutRules(rules) phone?: string;
  @MeetsPayoutRules(rules) email?: string;
  /** At most 32 characters of unaccented text. */
  @MeetsPayoutRules(rules) remark!: string;
}

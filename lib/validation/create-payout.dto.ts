import type { PayoutCurrency } from '../payout.types';
import { CREATE_PAYOUT_FIELD_SPECS, payoutFieldSchema } from './create-payout.fields';
import { checkCreatePayout } from './create-payout.rules';
import { MeetsPayoutRules, type PayoutRulesCheck } from './payout-rules.decorator';

// A missing notifyUrl is left to the service, which knows the module's default.
const rules: PayoutRulesCheck = (object, config) =>
  checkCreatePayout(object, {
    limits: config?.limits,
    defaultNotifyUrl: config?.notifyUrl,
    requireNotifyUrl: false,
  }).errors;

/**
 * Input of `PayoutService.createPayout`, usable as a request body with `ValidationPipe`: the rules
 * and messages are the ones the service applies (amount limits follow the module's `limits`).
 * With `@nestjs/swagger` in the host, its schema shows every field, its limits and an example.
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
  /** `PEN` or `MXN`: decides the market rules. */
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
  /** Beneficiary phone: digits, optionally a leading + and spaces or dashes. */
  @MeetsPayoutRules(rules) phone?: string;
  /** Beneficiary e-mail, at most 32 characters. */
  @MeetsPayoutRules(rules) email?: string;
  /** At most 32 characters of unaccented text. */
  @MeetsPayoutRules(rules) remark!: string;

  /**
   * OpenAPI metadata in the shape `@nestjs/swagger`'s CLI plugin generates (property name →
   * `@ApiProperty` options), read by `SwaggerModule`: the field table's, so the document follows
   * the rules. Written by hand so that lib/ never imports `@nestjs/swagger`.
   */
  static _OPENAPI_METADATA_FACTORY(): Record<string, Record<string, unknown>> {
    return Object.fromEntries(
      Object.entries(CREATE_PAYOUT_FIELD_SPECS).map(([field, spec]) => [
        field,
        payoutFieldSchema(field, spec),
      ]),
    );
  }
}

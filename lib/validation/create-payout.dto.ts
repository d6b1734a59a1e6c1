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
  @MeetsPayoutRules(rules) accountName!: string;
  @MeetsPayoutRules(rules) accountNo!: string;
  @MeetsPayoutRules(rules) cciAccountNo?: string;
  @MeetsPayoutRules(rules) accountType!: number | string;
  @MeetsPayoutRules(rules) currency!: PayoutCurrency;
  @MeetsPayoutRules(rules) amount!: string | number;
  @MeetsPayoutRules(rules) bankId!: number | string;
  @MeetsPayoutRules(rules) mchOrderNo!: string;
  @MeetsPayoutRules(rules) notifyUrl?: string;
  @MeetsPayoutRules(rules) idType?: string | number;
  @MeetsPayoutRules(rules) idCard?: string;
  @MeetsPayoutRules(rules) phone?: string;
  @MeetsPayoutRules(rules) email?: string;
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

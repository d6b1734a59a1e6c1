import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import { PAYOUT_MARKETS } from '../markets/payout-markets';
import {
  checkCreatePayout,
  MCH_ORDER_NO,
  NAME_TEXT,
  PHONE,
  REMARK_TEXT,
} from './create-payout.rules';
import {
  MeetsPayoutRules,
  type PayoutRulesCheck,
} from './payout-rules.decorator';

// A missing notifyUrl is left to the service, which knows the module's default.
const rules: PayoutRulesCheck = (object, config) =>
  checkCreatePayout(object, {
    limits: config?.limits,
    defaultNotifyUrl: config?.notifyUrl,
    requireNotifyUrl: false,
  }).errors;

// OpenAPI facts, read from the market rules so the document follows them. Where markets differ the
// schema keeps the widest bound that holds in every market and the description gives each one.
const MARKETS = PAYOUT_CURRENCIES.map((currency) => PAYOUT_MARKETS[currency]);
const perMarket = (describe: (market: (typeof MARKETS)[number]) => string) =>
  MARKETS.map((m) => `${m.currency}: ${describe(m)}`).join('; ');
const ACCOUNT_TYPES = [
  ...new Set(MARKETS.flatMap((m) => Object.keys(m.accountTypes).map(Number))),
];
const ACCOUNT_NAME_MAX = Math.max(
  ...MARKETS.map((m) => m.accountNameMaxLength),
);
const AMOUNT_SCALE = Math.max(...MARKETS.map((m) => m.amountScale));
const AMOUNT_TEXT =
  'Decimal string ("150.50") or number. Default limits ' +
  perMarket(
    (m) =>
      `${m.defaultLimits.min} to ${m.defaultLimits.max}${m.amountScale === 0 ? ', whole units' : `, at most ${m.amountScale} decimals`}`,
  ) +
  '. The limits are set per merchant (module option `limits`), so the schema gives no upper bound.';

/**
 * What `@nestjs/swagger` reads from a DTO compiled by its CLI plugin (`_OPENAPI_METADATA_FACTORY`:
 * property name → `@ApiProperty` options). Written by hand so that lib/ never imports
 * `@nestjs/swagger`; a host without it never calls this.
 */
function createPayoutOpenApi(): Record<string, Record<string, unknown>> {
  return {
    accountName: {
      required: true,
      type: 'string',
      minLength: 1,
      maxLength: ACCOUNT_NAME_MAX,
      pattern: NAME_TEXT.source,
      example: 'Jose Hernandez',
      description: `Beneficiary name, unaccented (write José as Jose): at most ${MARKETS.map((m) => `${m.accountNameMaxLength} characters for ${m.currency}`).join(', ')}.`,
    },
    accountNo: {
      required: true,
      type: 'string',
      minLength: 1,
      maxLength: 32,
      pattern: '^\\d+$',
      example: '002010077777777771',
      description:
        'Beneficiary account number, digits only (leading zeros kept). PEN: BBVA 18 or 20, Interbank 13, BCP 13 (corriente) or 14 (ahorro), ' +
        'Scotiabank 10 digits, other banks their own number or the CCI. MXN: 16-digit card/account (accountType 3) or 18-digit CLABE (accountType 40).',
    },
    cciAccountNo: {
      required: false,
      type: 'string',
      minLength: 20,
      maxLength: 20,
      pattern: '^\\d{20}$',
      example: '03810110700064503226',
      description:
        'PEN only: the 20-digit CCI with valid check digits, required for banks other than bankIds 1-4. Leave it out for MXN.',
    },
    accountType: {
      required: true,
      type: 'integer',
      enum: ACCOUNT_TYPES,
      example: 40,
      description: `${perMarket((m) =>
        Object.entries(m.accountTypes)
          .map(([code, text]) => `${code} ${text}`)
          .join(', '),
      )}. A numeric string is accepted.`,
    },
    currency: {
      required: true,
      type: 'string',
      enum: [...PAYOUT_CURRENCIES],
      example: 'MXN',
      description: 'Currency of the payout; it decides the market rules.',
    },
    amount: {
      required: true,
      oneOf: [
        { type: 'string', pattern: '^\\d+(\\.\\d+)?$' },
        { type: 'number', minimum: 10 ** -AMOUNT_SCALE },
      ],
      example: '1500',
      description: AMOUNT_TEXT,
    },
    bankId: {
      required: true,
      type: 'integer',
      minimum: 1,
      example: 80,
      description:
        "A bank of the currency's payout bank list (PayoutService.listBanks({ currency })). A numeric string is accepted.",
    },
    mchOrderNo: {
      required: true,
      type: 'string',
      minLength: 1,
      maxLength: 32,
      pattern: MCH_ORDER_NO.source,
      example: 'ORDER-2024-000123',
      description:
        'Your order number and idempotency key: never reuse it for another payout; send it again only to retry this one.',
    },
    notifyUrl: {
      required: false,
      type: 'string',
      format: 'uri',
      maxLength: 250,
      example: 'https://api.example.com/payout/webhook',
      description:
        "Absolute http(s) callback URL; defaults to the module's notifyUrl.",
    },
    idType: {
      required: false,
      type: 'string',
      maxLength: 32,
      example: '1',
      description:
        'PEN (required): 1 DNI, 2 PAS, 3 CE, 4 RUC. MXN: optional. A number is accepted.',
    },
    idCard: {
      required: false,
      type: 'string',
      minLength: 1,
      maxLength: 32,
      pattern: '^[A-Za-z0-9]{1,32}$',
      example: '45671234',
      description:
        'PEN (required): DNI exactly 8 digits, PAS 7-12 and CE 8-20 letters or digits, RUC exactly 11 digits. MXN: optional.',
    },
    phone: {
      required: false,
      type: 'string',
      maxLength: 32,
      pattern: PHONE.source,
      example: '+52 55 1234 5678',
      description: 'Beneficiary phone.',
    },
    email: {
      required: false,
      type: 'string',
      format: 'email',
      maxLength: 32,
      example: 'jose@example.com',
      description: 'Beneficiary e-mail.',
    },
    remark: {
      required: true,
      type: 'string',
      minLength: 1,
      maxLength: 32,
      pattern: REMARK_TEXT.source,
      example: 'withdrawal',
      description: 'Unaccented English or Spanish text, at most 32 characters.',
    },
  };
}

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

  /** OpenAPI metadata in the shape `@nestjs/swagger`'s CLI plugin generates; read by `SwaggerModule`. */
  static _OPENAPI_METADATA_FACTORY(): Record<string, Record<string, unknown>> {
    return createPayoutOpenApi();
  }
}

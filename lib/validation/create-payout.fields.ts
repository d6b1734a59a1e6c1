import { MCH_ORDER_NO } from '../client/cashy-wire';
import { PAYOUT_CURRENCIES } from '../payout.types';
import { PAYOUT_MARKETS } from '../markets/payout-markets';

/** Plain ASCII text Cashy accepts in remarks: letters, digits, spaces and basic punctuation. */
const REMARK_TEXT = /^[A-Za-z0-9 .,:;!?'"()\-_/#&+@]+$/;
/** Names: unaccented letters, digits, spaces and the punctuation names use. */
const NAME_TEXT = /^[A-Za-z0-9 .,'\-&/]+$/;
/** A beneficiary phone: digits, optionally a leading + and spaces or dashes. */
const PHONE = /^\+?[0-9][0-9 -]{5,30}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DIGITS = /^\d+$/;

/** The characters a text field may hold, and the rule and message of a refusal. */
export interface PayoutFieldCharacters {
  pattern: RegExp;
  rule: string;
  message: string;
}

/**
 * One create-payout field: what the rules check (`kind`, `maxLength`, `characters`) and the rest of
 * its OpenAPI schema, so the document states exactly the bounds the rules apply.
 */
export interface PayoutFieldSpec {
  /** Required in every market (PEN requires `idType` and `idCard` as well). */
  required: boolean;
  /** `text` and `digits` fields are checked from this entry; the others have rules of their own. */
  kind?: 'text' | 'digits';
  /** The longest text the rules take. */
  maxLength?: number;
  characters?: PayoutFieldCharacters;
  /** The schema beyond type, length and pattern: example, description, and any bound of its own. */
  openApi: Record<string, unknown>;
}

// Where markets differ the schema keeps the widest bound that holds in every market, and the
// description gives each one.
const MARKETS = PAYOUT_CURRENCIES.map((currency) => PAYOUT_MARKETS[currency]);
const perMarket = (describe: (market: (typeof MARKETS)[number]) => string) =>
  MARKETS.map((m) => `${m.currency}: ${describe(m)}`).join('; ');
const AMOUNT_SCALE = Math.max(...MARKETS.map((m) => m.amountScale));

const text = (
  required: boolean,
  maxLength: number,
  openApi: Record<string, unknown>,
  characters?: PayoutFieldCharacters,
): PayoutFieldSpec => ({ required, kind: 'text', maxLength, characters, openApi });

const SPECS = {
  accountName: text(
    true,
    Math.max(...MARKETS.map((m) => m.accountNameMaxLength)),
    {
      example: 'Jose Hernandez',
      description: `Beneficiary name, unaccented (write José as Jose): at most ${MARKETS.map((m) => `${m.accountNameMaxLength} characters for ${m.currency}`).join(', ')}.`,
    },
    {
      pattern: NAME_TEXT,
      rule: 'characters',
      message:
        "accountName may contain only unaccented letters, digits, spaces and . , ' - & / (write José as Jose)",
    },
  ),
  accountNo: {
    required: true,
    kind: 'digits',
    maxLength: 32,
    openApi: {
      example: '002010077777777771',
      description:
        'Beneficiary account number, digits only (leading zeros kept). PEN: BBVA 18 or 20, Interbank 13, BCP 13 (corriente) or 14 (ahorro), ' +
        'Scotiabank 10 digits, other banks their own number or the CCI. MXN: 16-digit card/account (accountType 3) or 18-digit CLABE (accountType 40).',
    },
  },
  cciAccountNo: {
    required: false,
    kind: 'digits',
    maxLength: 32,
    openApi: {
      // The market rule: exactly 20 digits.
      minLength: 20,
      maxLength: 20,
      pattern: '^\\d{20}$',
      example: '03810110700064503226',
      description:
        'PEN only: the 20-digit CCI with valid check digits, required for banks other than bankIds 1-4. Leave it out for MXN.',
    },
  },
  accountType: {
    required: true,
    openApi: {
      type: 'integer',
      enum: [...new Set(MARKETS.flatMap((m) => Object.keys(m.accountTypes).map(Number)))],
      example: 40,
      description: `${perMarket((m) =>
        Object.entries(m.accountTypes)
          .map(([code, text]) => `${code} ${text}`)
          .join(', '),
      )}. A numeric string is accepted.`,
    },
  },
  currency: {
    required: true,
    openApi: {
      type: 'string',
      enum: [...PAYOUT_CURRENCIES],
      example: 'MXN',
      description: 'Currency of the payout; it decides the market rules.',
    },
  },
  amount: {
    required: true,
    openApi: {
      oneOf: [
        { type: 'string', pattern: '^\\d+(\\.\\d+)?$' },
        { type: 'number', minimum: 10 ** -AMOUNT_SCALE },
      ],
      example: '1500',
      description:
        'Decimal string ("150.50") or number. Default limits ' +
        perMarket(
          (m) =>
            `${m.defaultLimits.min} to ${m.defaultLimits.max}${m.amountScale === 0 ? ', whole units' : `, at most ${m.amountScale} decimals`}`,
        ) +
        '. The limits are set per merchant (module option `limits`), so the schema gives no upper bound.',
    },
  },
  bankId: {
    required: true,
    openApi: {
      type: 'integer',
      minimum: 1,
      example: 80,
      description:
        "A bank of the currency's payout bank list (PayoutService.listBanks({ currency })). A numeric string is accepted.",
    },
  },
  mchOrderNo: text(
    true,
    32,
    {
      example: 'ORDER-2024-000123',
      description:
        'Your order number and idempotency key: never reuse it for another payout; send it again only to retry this one.',
    },
    {
      pattern: MCH_ORDER_NO,
      rule: 'characters',
      message: 'mchOrderNo may contain only letters, digits and _ . : -',
    },
  ),
  notifyUrl: text(false, 250, {
    format: 'uri',
    example: 'https://api.example.com/payout/webhook',
    description: "Absolute http(s) callback URL; defaults to the module's notifyUrl.",
  }),
  idType: text(false, 32, {
    example: '1',
    description: 'PEN (required): 1 DNI, 2 PAS, 3 CE, 4 RUC. MXN: optional. A number is accepted.',
  }),
  idCard: text(false, 32, {
    // The market rule (Peru): letters and digits only.
    minLength: 1,
    pattern: '^[A-Za-z0-9]{1,32}$',
    example: '45671234',
    description:
      'PEN (required): DNI exactly 8 digits, PAS 7-12 and CE 8-20 letters or digits, RUC exactly 11 digits. MXN: optional.',
  }),
  phone: text(
    false,
    32,
    { example: '+52 55 1234 5678', description: 'Beneficiary phone.' },
    {
      pattern: PHONE,
      rule: 'phone',
      message: 'phone must be digits, optionally with a leading + and spaces or dashes',
    },
  ),
  email: text(
    false,
    32,
    { format: 'email', example: 'jose@example.com', description: 'Beneficiary e-mail.' },
    { pattern: EMAIL, rule: 'email', message: 'email must be a valid e-mail address' },
  ),
  remark: text(
    true,
    32,
    {
      example: 'withdrawal',
      description: 'Unaccented English or Spanish text, at most 32 characters.',
    },
    {
      pattern: REMARK_TEXT,
      rule: 'characters',
      message: 'remark may contain only unaccented letters, digits, spaces and basic punctuation',
    },
  ),
} satisfies Record<string, PayoutFieldSpec>;

/** A create-payout field name. */
export type CreatePayoutField = keyof typeof SPECS;

/** Every field `createPayout` accepts, in the order it is sent (the module appends `nonceStr`). */
export const CREATE_PAYOUT_FIELD_SPECS: Readonly<Record<CreatePayoutField, PayoutFieldSpec>> =
  SPECS;

/** The characters a field's text may hold: digits for a `digits` field, else its spec's. */
export function fieldCharacters(
  field: string,
  spec: PayoutFieldSpec,
): PayoutFieldCharacters | undefined {
  return spec.kind === 'digits'
    ? { pattern: DIGITS, rule: 'digits', message: `${field} must contain digits only` }
    : spec.characters;
}

/**
 * The OpenAPI metadata of a field, in the shape `@nestjs/swagger`'s CLI plugin generates
 * (`@ApiProperty` options): type, length and pattern from the rules, then the field's own schema.
 */
export function payoutFieldSchema(field: string, spec: PayoutFieldSpec): Record<string, unknown> {
  const characters = fieldCharacters(field, spec);
  return {
    required: spec.required,
    ...(spec.kind
      ? {
          type: 'string',
          ...(spec.required ? { minLength: 1 } : {}),
          maxLength: spec.maxLength,
          ...(characters ? { pattern: characters.pattern.source } : {}),
        }
      : {}),
    ...spec.openApi,
  };
}

import { isAbsent, isPlainObject } from '../client/cashy-wire';
import type { PayoutFieldError } from '../payout.errors';
import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import type {
  AmountLimits,
  MarketPayoutFields,
  PayoutMarket,
} from '../markets/payout-market.interface';
import { marketOf } from '../markets/payout-markets';
import {
  compareDecimals,
  decimalPlaces,
  formatDecimal,
  parseDecimal,
  wholeNumber,
} from '../markets/decimal';
import {
  CREATE_PAYOUT_FIELD_SPECS,
  type CreatePayoutField,
  digitsRule,
  type PayoutFieldSpec,
} from './create-payout.fields';
import { isPrintable, normalizeHttpUrl } from './printable-text';

/** The create-payout request body, in the order it is sent (the module appends `nonceStr`). */
export interface CashyPayOutBody {
  accountName: string;
  accountNo: string;
  cciAccountNo?: string;
  accountType: number;
  currency: PayoutCurrency;
  amount: string;
  bankId: number;
  mchOrderNo: string;
  notifyUrl: string;
  idType?: string;
  idCard?: string;
  phone?: string;
  email?: string;
  remark: string;
}

/** What the rules need from the module: the limits in force and the default `notifyUrl`. */
export interface CreatePayoutRuleContext {
  /** The limits in force; without them (a DTO validated outside Nest's container) amounts are not bounded here. */
  limits?: Readonly<Record<PayoutCurrency, AmountLimits>>;
  defaultNotifyUrl?: string;
  /** When false, a missing `notifyUrl` is not reported (the DTO cannot see the module's default). */
  requireNotifyUrl?: boolean;
}

/** Every field `createPayout` accepts, in the order it is sent. */
export const CREATE_PAYOUT_FIELDS = Object.keys(
  CREATE_PAYOUT_FIELD_SPECS,
) as readonly CreatePayoutField[];

const KNOWN = new Set<string>(CREATE_PAYOUT_FIELDS);

/** One input being checked: its fields, and every rule they broke so far. */
class PayoutInput {
  readonly errors: PayoutFieldError[] = [];

  constructor(readonly value: Record<string, unknown>) {}

  report(field: string, rule: string, message: string): void {
    this.errors.push({ field, rule, message });
  }

  /** Whether the input carries the field (absent, null and "" do not count). */
  given(field: string): boolean {
    return !isAbsent(this.value[field]);
  }

  /**
   * A text field from `CREATE_PAYOUT_FIELD_SPECS`, checked for presence, type, length, printable
   * characters and the characters its spec allows; returns it when valid.
   */
  text(
    field: CreatePayoutField,
    required: boolean = CREATE_PAYOUT_FIELD_SPECS[field].required,
    maxLength: number = CREATE_PAYOUT_FIELD_SPECS[field].maxLength ?? 0,
  ): string | undefined {
    const spec: PayoutFieldSpec = CREATE_PAYOUT_FIELD_SPECS[field];
    const v = this.value[field];
    if (isAbsent(v)) {
      if (required) this.report(field, 'required', `${field} is required`);
      return undefined;
    }
    if (spec.kind === 'digits' && typeof v === 'number') {
      this.report(
        field,
        'type',
        `${field} must be a string of digits (a number would lose leading zeros)`,
      );
      return undefined;
    }
    const problem =
      typeof v !== 'string'
        ? (['type', `${field} must be a string`] as const)
        : textProblem(field, v, maxLength);
    const characters =
      spec.kind === 'digits' ? digitsRule(field) : spec.characters;
    if (problem) this.report(field, ...problem);
    else if (characters && !characters.pattern.test(v as string))
      this.report(field, characters.rule, characters.message);
    else return v as string;
    return undefined;
  }

  /** A whole number given as a number or a numeric string. */
  integer(field: CreatePayoutField): number | undefined {
    if (!this.given(field)) {
      this.report(field, 'required', `${field} is required`);
      return undefined;
    }
    const n = wholeNumber(this.value[field]);
    if (Number.isSafeInteger(n) && n >= 0) return n;
    this.report(
      field,
      'integer',
      `${field} must be a whole number (a number or a numeric string)`,
    );
    return undefined;
  }
}

/** What is wrong with a string field's text, if anything: blank, too long, or unprintable. */
function textProblem(
  field: string,
  text: string,
  maxLength: number,
): readonly [rule: string, message: string] | undefined {
  if (text.trim().length === 0)
    return ['required', `${field} must not be blank`];
  if (text.length > maxLength)
    return [
      'maxLength',
      `${field} must be at most ${maxLength} characters (got ${text.length})`,
    ];
  if (!isPrintable(text))
    return [
      'printable',
      `${field} must not contain control, bidirectional or zero-width characters`,
    ];
  return undefined;
}

/** Fields the module sets itself, and fields it does not know. */
function checkKeys(input: PayoutInput): void {
  for (const key of Object.keys(input.value)) {
    if (key === 'nonceStr')
      input.report(
        key,
        'notAllowed',
        'nonceStr is generated by the module for every request; leave it out',
      );
    else if (!KNOWN.has(key))
      input.report(key, 'unknownField', `${key} is not a create-payout field`);
  }
}

/** `currency` decides the market; without a valid one only the common rules run. */
function checkCurrency(input: PayoutInput): PayoutMarket | undefined {
  const { currency } = input.value;
  if (currency === undefined || currency === null)
    input.report('currency', 'required', 'currency is required');
  else if (!marketOf(currency))
    input.report(
      'currency',
      'currency',
      `currency must be one of ${PAYOUT_CURRENCIES.join(', ')}`,
    );
  return marketOf(currency);
}

/** `bankId`, which must be one of the market's banks (else `undefined` for the market check). */
function checkBank(
  input: PayoutInput,
  market: PayoutMarket | undefined,
): { bankId?: number; knownBank?: number } {
  const bankId = input.integer('bankId');
  if (
    bankId === undefined ||
    !market ||
    market.banks.some((bank) => bank.bankId === bankId)
  )
    return { bankId, knownBank: bankId };
  input.report(
    'bankId',
    'unknownBank',
    `bankId ${bankId} is not a ${market.currency} payout bank; consult listBanks({ currency: '${market.currency}' }) or the ${market.country} bank table`,
  );
  return { bankId };
}

/** The amount: a decimal at the market's scale within the limits in force. */
function checkAmount(
  input: PayoutInput,
  market: PayoutMarket | undefined,
  limits: AmountLimits | undefined,
): string | undefined {
  const { amount } = input.value;
  if (!input.given('amount')) {
    input.report('amount', 'required', 'amount is required');
    return undefined;
  }
  const parsed =
    typeof amount === 'string' || typeof amount === 'number'
      ? parseDecimal(amount)
      : undefined;
  if (!parsed || parsed.negative) {
    input.report(
      'amount',
      'decimal',
      'amount must be a positive decimal, as a string ("150.50") or a number',
    );
    return undefined;
  }
  if (!market) return undefined;
  const { currency, amountScale } = market;
  if (decimalPlaces(parsed) > amountScale)
    input.report(
      'amount',
      'scale',
      amountScale === 0
        ? `amount must be whole ${currency} (no decimals)`
        : `amount may have at most ${amountScale} decimals for ${currency}`,
    );
  else if (limits && compareDecimals(parsed, parseDecimal(limits.min)!) < 0)
    input.report(
      'amount',
      'min',
      `amount must be at least ${limits.min} ${currency}`,
    );
  else if (limits && compareDecimals(parsed, parseDecimal(limits.max)!) > 0)
    input.report(
      'amount',
      'max',
      `amount must be at most ${limits.max} ${currency}`,
    );
  else return formatDecimal(parsed, amountScale);
  return undefined;
}

/** The callback URL: given per call, else the module's default. */
function checkNotifyUrl(
  input: PayoutInput,
  context: CreatePayoutRuleContext,
): string | undefined {
  if (!input.given('notifyUrl')) {
    if (!context.defaultNotifyUrl && context.requireNotifyUrl !== false)
      input.report(
        'notifyUrl',
        'required',
        'notifyUrl is required (give it per call or as the module option notifyUrl)',
      );
    return context.defaultNotifyUrl || undefined;
  }
  const url = input.text('notifyUrl', true);
  if (url === undefined) return undefined;
  const normalized = normalizeHttpUrl(url);
  const maxLength = CREATE_PAYOUT_FIELD_SPECS.notifyUrl.maxLength!;
  if (normalized === undefined)
    input.report(
      'notifyUrl',
      'url',
      'notifyUrl must be an absolute http(s) URL',
    );
  else if (normalized.length > maxLength)
    input.report(
      'notifyUrl',
      'maxLength',
      `notifyUrl must be at most ${maxLength} characters once normalized (got ${normalized.length})`,
    );
  else return normalized;
  return undefined;
}

/** `idType`, given as 1 or "1": Cashy takes it as a string. */
function checkIdType(
  input: PayoutInput,
  market: PayoutMarket | undefined,
): string | undefined {
  const { idType } = input.value;
  if (!input.given('idType')) {
    if (market?.idRequired)
      input.report(
        'idType',
        'required',
        `idType is required for ${market.currency}`,
      );
    return undefined;
  }
  if (typeof idType === 'number' && Number.isInteger(idType))
    return String(idType);
  if (typeof idType === 'string') return input.text('idType');
  input.report('idType', 'type', 'idType must be a string or a whole number');
  return undefined;
}

/**
 * Checks a create-payout input against every rule (common and market-specific) and returns the
 * broken ones plus, when there are none, the exact body to send. Pure: no I/O.
 */
export function checkCreatePayout(
  raw: unknown,
  context: CreatePayoutRuleContext,
): { errors: PayoutFieldError[]; body?: CashyPayOutBody } {
  if (!isPlainObject(raw))
    return {
      errors: [
        {
          field: '(input)',
          rule: 'object',
          message: 'the payout input must be an object',
        },
      ],
    };
  const input = new PayoutInput(raw);
  checkKeys(input);
  const market = checkCurrency(input);
  const accountName = input.text(
    'accountName',
    true,
    market?.accountNameMaxLength,
  );
  const accountNo = input.text('accountNo');
  const cciAccountNo = input.text('cciAccountNo');
  const accountType = input.integer('accountType');
  const { bankId, knownBank } = checkBank(input, market);
  const amount = checkAmount(
    input,
    market,
    market && context.limits?.[market.currency],
  );
  const mchOrderNo = input.text('mchOrderNo');
  const notifyUrl = checkNotifyUrl(input, context);
  const idType = checkIdType(input, market);
  const idCard = input.text('idCard', market?.idRequired ?? false);
  const phone = input.text('phone');
  const email = input.text('email');
  const remark = input.text('remark');
  if (market) {
    const given = new Set(
      Object.keys(input.value).filter((key) => input.given(key)),
    );
    const fields: MarketPayoutFields = {
      given,
      accountNo,
      cciAccountNo,
      accountType,
      bankId: knownBank,
      idType,
      idCard,
    };
    input.errors.push(...market.check(fields));
  }
  if (input.errors.length > 0 || !market) return { errors: input.errors };
  // Every required field is set when nothing is broken; the optional ones only when given.
  const values: Record<CreatePayoutField, unknown> = {
    accountName,
    accountNo,
    cciAccountNo,
    accountType,
    currency: market.currency,
    amount,
    bankId,
    mchOrderNo,
    notifyUrl,
    idType,
    idCard,
    phone,
    email,
    remark,
  };
  const body = Object.fromEntries(
    CREATE_PAYOUT_FIELDS.filter((field) => values[field] !== undefined).map(
      (field) => [field, values[field]],
    ),
  ) as unknown as CashyPayOutBody;
  return { errors: input.errors, body };
}

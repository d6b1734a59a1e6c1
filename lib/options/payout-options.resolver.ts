import {
  type CashyMessagePatterns,
  DEFAULT_CASHY_MESSAGE_PATTERNS,
} from '../client/cashy-protocol';
import { isPlainObject } from '../client/cashy-wire';
import { PayoutConfigurationError } from '../payout.errors';
import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import type { AmountLimits } from '../markets/payout-market.interface';
import { PAYOUT_MARKETS } from '../markets/payout-markets';
import { compareDecimals, decimalPlaces, formatDecimal, parseDecimal } from '../markets/decimal';
import { CREATE_PAYOUT_FIELD_SPECS } from '../validation/create-payout.fields';
import { isHttpUrl, normalizeHttpUrl } from '../validation/printable-text';
import { resolveReconciliation } from '../reconciliation/payout-reconciliation.options';
import { defaultsOf, OptionReader, type OptionProblem, problemList } from './option.reader';
import { readAccounts } from './payout-accounts.reader';
import { HTTP_DEFAULTS, readHttpOptions } from './payout-http-options.reader';
import { PayoutConfig } from './payout-config';

/** Every numeric module option: `[min, max, default]`, in ms where it is a time. */
export const PAYOUT_OPTION_RULES = {
  timeoutMs: [1, 600_000, 10_000],
  /** A gateway may commit a create after the client gave up; two minutes covers a slow commit with room to spare. */
  resendWindowMs: [0, 86_400_000, 120_000],
  retry: { attempts: [1, 10, 3], baseDelayMs: [0, 60_000, 200], maxDelayMs: [0, 600_000, 5_000] },
  delivery: { claimTtlMs: [1, 86_400_000, 120_000], claimWaitMs: [0, 600_000, 10_000] },
} as const;

/** Every default of the module, in one place (the numeric ones from `PAYOUT_OPTION_RULES`). */
export const PAYOUT_DEFAULTS = {
  timeoutMs: PAYOUT_OPTION_RULES.timeoutMs[2],
  retry: defaultsOf(PAYOUT_OPTION_RULES.retry),
  webhookPath: 'payout/webhook',
  delivery: defaultsOf(PAYOUT_OPTION_RULES.delivery),
  resendWindowMs: PAYOUT_OPTION_RULES.resendWindowMs[2],
  gatewayMessages: DEFAULT_CASHY_MESSAGE_PATTERNS,
  http: HTTP_DEFAULTS,
} as const;

/** What the errors listing bad module options start with. */
export const PAYOUT_OPTIONS_LEAD = 'Invalid PayoutModule options: ';

const KNOWN_OPTIONS = [
  'baseUrl',
  'merchantId',
  'apiKey',
  'accounts',
  'notifyUrl',
  'store',
  'limits',
  'timeoutMs',
  'retry',
  'delivery',
  'resendWindowMs',
  'gatewayMessages',
  'http',
  'reconciliation',
];
const STORE_METHODS = [
  'get',
  'compareAndSet',
  'findByMchOrderNo',
  'getAttempt',
  'compareAndSetAttempt',
];

function readBaseUrl(reader: OptionReader, value: unknown): string {
  if (typeof value !== 'string' || !isHttpUrl(value))
    reader.fail('baseUrl', 'is required and must be an http(s) URL');
  // The client sends requests to the host and path only; anything else would be silently dropped.
  else if (/^[a-z]+:\/\/[^/?#]*@|[?#]/i.test(value))
    reader.fail(
      'baseUrl',
      'must not carry credentials, a query or a fragment (Cashy authenticates with MerchantId and Sign)',
    );
  else return value.replace(/\/+$/, '');
  return '';
}

function readNotifyUrl(reader: OptionReader, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  // The same bound as a notifyUrl given per call: Cashy's.
  const maxLength = CREATE_PAYOUT_FIELD_SPECS.notifyUrl.maxLength!;
  const normalized = typeof value === 'string' ? normalizeHttpUrl(value) : undefined;
  if (normalized !== undefined && normalized.length <= maxLength) return normalized;
  reader.fail(
    'notifyUrl',
    `must be an absolute http(s) URL of at most ${maxLength} characters, without control or invisible characters`,
  );
  return undefined;
}

function checkStore(reader: OptionReader, value: unknown): void {
  if (value === undefined) return;
  const store = value as Record<string, unknown> | null;
  const missing = STORE_METHODS.filter((method) => typeof store?.[method] !== 'function');
  if (missing.length > 0)
    reader.fail(
      'store',
      `must implement PayoutStore (${STORE_METHODS.join(', ')}); it lacks ${missing.join(', ')}`,
    );
}

/** One bound of a currency's limits: a positive decimal at the market's scale, else `fallback`. */
function readBound(
  reader: OptionReader,
  value: unknown,
  path: string,
  scale: number,
  fallback: string,
): string {
  if (value === undefined) return fallback;
  const parsed = parseDecimal(value);
  if (!parsed || parsed.negative || !/[1-9]/.test(parsed.integer + parsed.fraction))
    reader.fail(path, 'must be a positive decimal');
  else if (decimalPlaces(parsed) > scale) reader.fail(path, `may have at most ${scale} decimals`);
  else return formatDecimal(parsed, scale);
  return fallback;
}

/**
 * Reads the module option `limits`: per currency, overrides of the market's default amount limits.
 * The sandbox reads its own `limits` with it, so both sides agree on every bound.
 */
export function readLimits(
  reader: OptionReader,
  value: unknown,
): Record<PayoutCurrency, AmountLimits> {
  const overrides = reader.object(value, 'limits', 'an object keyed by currency') ?? {};
  for (const key of Object.keys(overrides))
    if (!PAYOUT_CURRENCIES.includes(key as PayoutCurrency))
      reader.report(
        `limits.${key}`,
        `limits.${key}: unknown currency (use ${PAYOUT_CURRENCIES.join(', ')})`,
      );
  const limits = {} as Record<PayoutCurrency, AmountLimits>;
  for (const currency of PAYOUT_CURRENCIES) {
    const { defaultLimits, amountScale } = PAYOUT_MARKETS[currency];
    const path = `limits.${currency}`;
    const bounds = reader.object(overrides[currency], path, 'an object { min?, max? }') ?? {};
    const [min, max] = (['min', 'max'] as const).map((bound) =>
      readBound(reader, bounds[bound], `${path}.${bound}`, amountScale, defaultLimits[bound]),
    );
    if (compareDecimals(parseDecimal(min)!, parseDecimal(max)!) > 0)
      reader.report(path, `${path}: min ${min} is above max ${max}`);
    limits[currency] = { min, max };
  }
  return limits;
}

function readGatewayMessages(reader: OptionReader, value: unknown): CashyMessagePatterns {
  const resolved = { ...PAYOUT_DEFAULTS.gatewayMessages };
  const given = reader.object(
    value,
    'gatewayMessages',
    '{ duplicateOrder?: RegExp, orderNotFound?: RegExp }',
  );
  for (const [key, pattern] of Object.entries(given ?? {})) {
    const path = `gatewayMessages.${key}`;
    if (key !== 'duplicateOrder' && key !== 'orderNotFound')
      reader.fail(path, 'is not an option (use duplicateOrder or orderNotFound)');
    else if (!(pattern instanceof RegExp))
      reader.fail(
        path,
        'must be a RegExp matched against the whole msg, such as /^Order_not_exist$/',
      );
    // Without the global or sticky flags, test() keeps no state between calls.
    else resolved[key] = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  }
  return value === undefined ? PAYOUT_DEFAULTS.gatewayMessages : resolved;
}

/**
 * Validates module options and applies every default: the resolved configuration, or every problem
 * (each naming its option, none ever holding an apiKey).
 */
export function readPayoutOptions(
  input: unknown,
): { config: PayoutConfig; problems?: undefined } | { problems: readonly OptionProblem[] } {
  const reader = new OptionReader();
  if (!isPlainObject(input)) {
    reader.report('', 'options must be an object (did the forRootAsync factory return nothing?)');
    return { problems: reader.problems };
  }
  const rules = PAYOUT_OPTION_RULES;
  reader.unknownKeys(input, '', KNOWN_OPTIONS, {
    unknown: 'is not a PayoutModule option',
    refused: {
      webhook:
        'webhook: with forRootAsync, pass webhook beside useFactory (forRootAsync({ webhook, useFactory })), not in the options it returns: routes are fixed when the module is registered',
    },
  });
  const baseUrl = readBaseUrl(reader, input.baseUrl);
  const accounts = readAccounts(reader, input);
  const notifyUrl = readNotifyUrl(reader, input.notifyUrl);
  checkStore(reader, input.store);
  const limits = readLimits(reader, input.limits);
  const timeoutMs = reader.value(input.timeoutMs, 'timeoutMs', rules.timeoutMs);
  const retry =
    input.retry === false
      ? { ...PAYOUT_DEFAULTS.retry, attempts: 1 }
      : reader.section(input.retry, 'retry', rules.retry, { orFalse: true });
  if (retry.maxDelayMs < retry.baseDelayMs)
    reader.fail('retry.maxDelayMs', 'must not be below retry.baseDelayMs');
  const delivery = reader.section(input.delivery, 'delivery', rules.delivery);
  const resendWindowMs = reader.value(input.resendWindowMs, 'resendWindowMs', rules.resendWindowMs);
  const messages = readGatewayMessages(reader, input.gatewayMessages);
  const reconciliation = resolveReconciliation(input.reconciliation, reader);
  // The sweep never gives a payout up while its create may still land.
  if (reconciliation && reconciliation.horizonMs <= timeoutMs + resendWindowMs)
    reader.fail('reconciliation.horizonMs', 'must exceed timeoutMs + resendWindowMs');
  const http = readHttpOptions(reader, input.http);
  if (reader.problems.length > 0) return { problems: reader.problems };
  return {
    config: new PayoutConfig(
      baseUrl,
      accounts,
      notifyUrl,
      limits,
      timeoutMs,
      retry,
      delivery,
      resendWindowMs,
      messages,
      http,
      reconciliation,
    ),
  };
}

/**
 * Validates module options and applies every default. Throws `PayoutConfigurationError` naming each
 * bad option; the message never contains an apiKey.
 */
export function resolvePayoutOptions(input: unknown): PayoutConfig {
  const read = readPayoutOptions(input);
  if (read.problems)
    throw new PayoutConfigurationError(problemList(PAYOUT_OPTIONS_LEAD, read.problems));
  return read.config;
}

import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { isIPv6 } from 'node:net';
import type { AxiosProxyConfig } from 'axios';
import {
  type CashyMessagePatterns,
  DEFAULT_CASHY_MESSAGE_PATTERNS,
} from '../client/cashy-protocol';
import { PayoutConfigurationError } from '../payout.errors';
import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import type { AmountLimits } from '../markets/payout-market.interface';
import { PAYOUT_MARKETS } from '../markets/payout-markets';
import {
  compareDecimals,
  decimalPlaces,
  formatDecimal,
  parseDecimal,
} from '../markets/decimal';
import { isHttpUrl, normalizeHttpUrl } from '../validation/printable-text';
import { resolveReconciliation } from '../reconciliation/payout-reconciliation.options';
import { CashyAccount } from './cashy-account';
import {
  PayoutConfig,
  type ResolvedDeliveryPolicy,
  type ResolvedHttpOptions,
  type ResolvedRetryPolicy,
} from './payout-config';

/** Every default of the module, in one place. */
export const PAYOUT_DEFAULTS = {
  timeoutMs: 10_000,
  retry: {
    attempts: 3,
    baseDelayMs: 200,
    maxDelayMs: 5_000,
  } satisfies ResolvedRetryPolicy,
  webhookPath: 'payout/webhook',
  delivery: {
    claimTtlMs: 120_000,
    claimWaitMs: 10_000,
  } satisfies ResolvedDeliveryPolicy,
  /** A gateway may commit a create after the client gave up; two minutes covers a slow commit with room to spare. */
  resendWindowMs: 120_000,
  gatewayMessages: DEFAULT_CASHY_MESSAGE_PATTERNS,
  /**
   * The transport: the module's own agents, made with `agent` (one connection per call in flight,
   * kept for the next), no proxy and no environment proxy, no extra headers.
   */
  http: {
    agent: { keepAlive: true } satisfies AgentOptions,
    proxy: false,
    headers: Object.freeze({}) as Readonly<Record<string, string>>,
  },
} as const;

const KNOWN_OPTIONS = new Set([
  'baseUrl',
  'merchantId',
  'apiKey',
  'accounts',
  'notifyUrl',
  'webhook',
  'store',
  'limits',
  'timeoutMs',
  'retry',
  'delivery',
  'resendWindowMs',
  'gatewayMessages',
  'http',
  'reconciliation',
]);
/** Headers the module sets to sign and frame a request, which `http.headers` may not replace (lower case). */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'merchantid',
  'sign',
  'host',
  'connection',
  'transfer-encoding',
]);
/** An RFC 9110 field name. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value of printable ASCII (and tabs): nothing Node would refuse mid-request, nothing that splits a header. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const PROXY_KEYS = new Set(['protocol', 'host', 'port', 'auth']);
const MERCHANT_ID = /^\d{1,20}$/;

function fail(problems: string[]): never {
  throw new PayoutConfigurationError(
    `Invalid PayoutModule options: ${problems.join('; ')}`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInteger(
  value: unknown,
  name: string,
  problems: string[],
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value > max
  ) {
    problems.push(`${name} must be a whole number from 0 to ${max}`);
    return undefined;
  }
  return value;
}

function resolveAccounts(
  options: Record<string, unknown>,
  problems: string[],
): CashyAccount[] {
  const single =
    options.merchantId !== undefined || options.apiKey !== undefined;
  if (single && options.accounts !== undefined) {
    problems.push('give either merchantId and apiKey, or accounts, not both');
    return [];
  }
  const raw: unknown[] = single
    ? [{ merchantId: options.merchantId, apiKey: options.apiKey }]
    : (options.accounts as unknown[]);
  const prefix = (i: number) => (single ? '' : `accounts[${i}].`);
  if (!single && (!Array.isArray(raw) || raw.length === 0)) {
    problems.push(
      'merchantId and apiKey (or a non-empty accounts array) are required',
    );
    return [];
  }
  const accounts: CashyAccount[] = [];
  raw.forEach((entry, i) => {
    if (!isRecord(entry)) {
      problems.push(`accounts[${i}] must be an object`);
      return;
    }
    const merchantId =
      typeof entry.merchantId === 'number'
        ? String(entry.merchantId)
        : entry.merchantId;
    if (typeof merchantId !== 'string' || !MERCHANT_ID.test(merchantId)) {
      problems.push(
        `${prefix(i)}merchantId is required and must be Cashy's numeric merchant id`,
      );
    }
    // Say what is wrong with the key without ever echoing it.
    if (typeof entry.apiKey !== 'string' || entry.apiKey.trim().length === 0) {
      problems.push(
        `${prefix(i)}apiKey is required and must be a non-empty string`,
      );
    }
    if (
      entry.name !== undefined &&
      (typeof entry.name !== 'string' || entry.name.length === 0)
    ) {
      problems.push(`${prefix(i)}name must be a non-empty string`);
    }
    let currencies: PayoutCurrency[] | undefined;
    if (entry.currencies !== undefined) {
      const list = entry.currencies;
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        list.some((c) => !PAYOUT_CURRENCIES.includes(c as PayoutCurrency))
      ) {
        problems.push(
          `${prefix(i)}currencies must be a non-empty array of ${PAYOUT_CURRENCIES.join(', ')}`,
        );
      } else {
        currencies = [...new Set(list as PayoutCurrency[])];
      }
    }
    if (typeof merchantId === 'string' && typeof entry.apiKey === 'string') {
      accounts.push(
        new CashyAccount(
          (entry.name as string | undefined) ?? merchantId,
          merchantId,
          entry.apiKey,
          currencies,
        ),
      );
    }
  });
  const seen = new Set<string>();
  for (const account of accounts) {
    for (const key of new Set([account.merchantId, account.name])) {
      if (seen.has(key))
        problems.push(
          `accounts: "${key}" names or identifies more than one account`,
        );
      seen.add(key);
    }
  }
  return accounts;
}

function resolveLimits(
  value: unknown,
  problems: string[],
): Record<PayoutCurrency, AmountLimits> {
  const limits = {} as Record<PayoutCurrency, AmountLimits>;
  if (value !== undefined && !isRecord(value))
    problems.push('limits must be an object keyed by currency');
  const overrides = isRecord(value) ? value : {};
  for (const key of Object.keys(overrides)) {
    if (!PAYOUT_CURRENCIES.includes(key as PayoutCurrency))
      problems.push(
        `limits.${key}: unknown currency (use ${PAYOUT_CURRENCIES.join(', ')})`,
      );
  }
  for (const currency of PAYOUT_CURRENCIES) {
    const market = PAYOUT_MARKETS[currency];
    const override = overrides[currency];
    if (override !== undefined && !isRecord(override)) {
      problems.push(`limits.${currency} must be an object { min?, max? }`);
    }
    const bounds = isRecord(override) ? override : {};
    const resolved = { ...market.defaultLimits };
    for (const bound of ['min', 'max'] as const) {
      if (bounds[bound] === undefined) continue;
      const parsed = parseDecimal(bounds[bound]);
      if (
        !parsed ||
        parsed.negative ||
        !/[1-9]/.test(parsed.integer + parsed.fraction)
      ) {
        problems.push(`limits.${currency}.${bound} must be a positive decimal`);
      } else if (decimalPlaces(parsed) > market.amountScale) {
        problems.push(
          `limits.${currency}.${bound} may have at most ${market.amountScale} decimals`,
        );
      } else {
        resolved[bound] = formatDecimal(parsed, market.amountScale);
      }
    }
    if (
      compareDecimals(
        parseDecimal(resolved.min)!,
        parseDecimal(resolved.max)!,
      ) > 0
    ) {
      problems.push(
        `limits.${currency}: min ${resolved.min} is above max ${resolved.max}`,
      );
    }
    limits[currency] = resolved;
  }
  return limits;
}

function resolveRetry(value: unknown, problems: string[]): ResolvedRetryPolicy {
  if (value === false) return { ...PAYOUT_DEFAULTS.retry, attempts: 1 };
  if (value !== undefined && !isRecord(value)) {
    problems.push(
      'retry must be { attempts?, baseDelayMs?, maxDelayMs? } or false',
    );
    return { ...PAYOUT_DEFAULTS.retry };
  }
  const retry = value ?? {};
  const attempts = positiveInteger(
    retry.attempts,
    'retry.attempts',
    problems,
    10,
  );
  if (attempts === 0) problems.push('retry.attempts must be at least 1');
  const resolved = {
    attempts: attempts ?? PAYOUT_DEFAULTS.retry.attempts,
    baseDelayMs:
      positiveInteger(
        retry.baseDelayMs,
        'retry.baseDelayMs',
        problems,
        60_000,
      ) ?? PAYOUT_DEFAULTS.retry.baseDelayMs,
    maxDelayMs:
      positiveInteger(
        retry.maxDelayMs,
        'retry.maxDelayMs',
        problems,
        600_000,
      ) ?? PAYOUT_DEFAULTS.retry.maxDelayMs,
  };
  if (resolved.maxDelayMs < resolved.baseDelayMs)
    problems.push('retry.maxDelayMs must not be below retry.baseDelayMs');
  return resolved;
}

function resolveDelivery(
  value: unknown,
  problems: string[],
): ResolvedDeliveryPolicy {
  if (value !== undefined && !isRecord(value)) {
    problems.push('delivery must be { claimTtlMs?, claimWaitMs? }');
    return { ...PAYOUT_DEFAULTS.delivery };
  }
  const delivery = value ?? {};
  const claimTtlMs = positiveInteger(
    delivery.claimTtlMs,
    'delivery.claimTtlMs',
    problems,
    86_400_000,
  );
  const claimWaitMs = positiveInteger(
    delivery.claimWaitMs,
    'delivery.claimWaitMs',
    problems,
    600_000,
  );
  if (claimTtlMs === 0) problems.push('delivery.claimTtlMs must be at least 1');
  return {
    claimTtlMs: claimTtlMs ?? PAYOUT_DEFAULTS.delivery.claimTtlMs,
    claimWaitMs: claimWaitMs ?? PAYOUT_DEFAULTS.delivery.claimWaitMs,
  };
}

function resolveGatewayMessages(
  value: unknown,
  problems: string[],
): CashyMessagePatterns {
  const defaults = PAYOUT_DEFAULTS.gatewayMessages;
  if (value === undefined) return defaults;
  if (!isRecord(value)) {
    problems.push(
      'gatewayMessages must be { duplicateOrder?: RegExp, orderNotFound?: RegExp }',
    );
    return defaults;
  }
  const resolved = { ...defaults };
  for (const key of Object.keys(value)) {
    if (key !== 'duplicateOrder' && key !== 'orderNotFound') {
      problems.push(
        `gatewayMessages.${key} is not an option (use duplicateOrder or orderNotFound)`,
      );
    } else if (!(value[key] instanceof RegExp)) {
      problems.push(
        `gatewayMessages.${key} must be a RegExp matched against the whole msg, such as /^Order_not_exist$/`,
      );
    } else {
      // Without the global or sticky flags, test() keeps no state between calls.
      const pattern = value[key];
      resolved[key] = new RegExp(
        pattern.source,
        pattern.flags.replace(/[gy]/g, ''),
      );
    }
  }
  return resolved;
}

function resolveProxy(
  value: unknown,
  problems: string[],
): AxiosProxyConfig | false {
  if (value === undefined || value === false) return PAYOUT_DEFAULTS.http.proxy;
  if (!isRecord(value)) {
    problems.push(
      'http.proxy must be false or { protocol?: "http" | "https", host, port, auth?: { username, password } }',
    );
    return false;
  }
  for (const key of Object.keys(value)) {
    if (!PROXY_KEYS.has(key))
      problems.push(
        `http.proxy.${key} is not an option (use protocol, host, port and auth)`,
      );
  }
  const { protocol, host, port, auth } = value;
  if (
    protocol !== undefined &&
    (typeof protocol !== 'string' || !/^https?:?$/.test(protocol))
  )
    problems.push('http.proxy.protocol must be "http" or "https"');
  // A host name or address only: a URL here would be taken for a host name and fail at the first call.
  if (typeof host !== 'string' || !(/^[\w.-]+$/.test(host) || isIPv6(host))) {
    problems.push(
      'http.proxy.host is required and must be a host name or IP address (IPv6 without brackets), without scheme or port',
    );
  }
  if (
    typeof port !== 'number' ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535
  )
    problems.push(
      'http.proxy.port is required and must be a whole number from 1 to 65535',
    );
  if (auth !== undefined) {
    // Checked without ever echoing the credentials.
    const valid =
      isRecord(auth) &&
      typeof auth.username === 'string' &&
      typeof auth.password === 'string' &&
      Object.keys(auth).every((k) => k === 'username' || k === 'password');
    if (!valid)
      problems.push(
        'http.proxy.auth must be { username: string, password: string }',
      );
  }
  const proxy: AxiosProxyConfig = {
    host: host as string,
    port: port as number,
  };
  if (protocol !== undefined)
    proxy.protocol = (protocol as string).replace(/:$/, '');
  if (auth !== undefined)
    proxy.auth = {
      username: (auth as Record<string, string>).username,
      password: (auth as Record<string, string>).password,
    };
  return Object.freeze(proxy);
}

function resolveHeaders(
  value: unknown,
  problems: string[],
): Record<string, string> {
  if (value === undefined) return PAYOUT_DEFAULTS.http.headers;
  if (!isRecord(value)) {
    problems.push(
      'http.headers must be an object of header names to string values',
    );
    return PAYOUT_DEFAULTS.http.headers;
  }
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, headerValue] of Object.entries(value)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) {
      problems.push(
        `http.headers: "${name.replace(/[^\x20-\x7e]/g, '?')}" is not a valid header name`,
      );
    } else if (RESERVED_HEADERS.has(lower)) {
      problems.push(
        `http.headers.${name} may not be set: the module sets it to sign and frame each request`,
      );
    } else if (seen.has(lower)) {
      problems.push(
        `http.headers.${name} is given more than once (header names ignore case)`,
      );
    } else if (
      typeof headerValue !== 'string' ||
      !HEADER_VALUE.test(headerValue)
    ) {
      // The value is never echoed: it may be a token.
      problems.push(
        `http.headers.${name} must be a string of printable ASCII characters`,
      );
    } else {
      headers[name] = headerValue;
    }
    seen.add(lower);
  }
  return Object.freeze(headers);
}

function resolveAgent(
  value: unknown,
  key: 'httpAgent' | 'httpsAgent',
  problems: string[],
): HttpAgent | undefined {
  if (value === undefined) return undefined;
  // https.Agent and proxy agents (agent-base) both extend http.Agent.
  if (!(value instanceof HttpAgent)) {
    problems.push(
      key === 'httpAgent'
        ? 'http.httpAgent must be an http.Agent, such as new http.Agent({ keepAlive: true })'
        : 'http.httpsAgent must be an https.Agent or a tunnelling agent, such as new https.Agent({ keepAlive: true, ca }) or new HttpsProxyAgent(url)',
    );
    return undefined;
  }
  // A payout's signed request to a gateway nobody verified is not an option.
  if (
    (value as { options?: { rejectUnauthorized?: unknown } }).options
      ?.rejectUnauthorized === false
  ) {
    problems.push(
      `http.${key} turns TLS certificate verification off (rejectUnauthorized: false); give the gateway's CA with ca instead`,
    );
    return undefined;
  }
  return value;
}

function resolveHttp(value: unknown, problems: string[]): ResolvedHttpOptions {
  const defaults = PAYOUT_DEFAULTS.http;
  if (value !== undefined && !isRecord(value)) {
    problems.push('http must be { httpAgent?, httpsAgent?, proxy?, headers? }');
    return {
      httpAgent: undefined,
      httpsAgent: undefined,
      proxy: defaults.proxy,
      headers: defaults.headers,
    };
  }
  const http = value ?? {};
  for (const key of Object.keys(http)) {
    if (key === 'timeout')
      problems.push(
        'http.timeout is not an option: use timeoutMs, which bounds each whole exchange',
      );
    else if (!['httpAgent', 'httpsAgent', 'proxy', 'headers'].includes(key)) {
      // Redirects, transforms, status checks and the like are fixed: they decide what a signed request and its answer are.
      problems.push(
        `http.${key} is not an option (use httpAgent, httpsAgent, proxy or headers)`,
      );
    }
  }
  return Object.freeze({
    httpAgent: resolveAgent(http.httpAgent, 'httpAgent', problems),
    httpsAgent: resolveAgent(http.httpsAgent, 'httpsAgent', problems),
    proxy: resolveProxy(http.proxy, problems),
    headers: resolveHeaders(http.headers, problems),
  });
}

/**
 * Validates module options and applies every default. Throws `PayoutConfigurationError` naming each
 * bad option; the message never contains an apiKey.
 */
export function resolvePayoutOptions(input: unknown): PayoutConfig {
  if (!isRecord(input))
    fail([
      'options must be an object (did the forRootAsync factory return nothing?)',
    ]);
  const options = input;
  const problems: string[] = [];

  for (const key of Object.keys(options)) {
    if (key === 'webhook') {
      problems.push(
        'webhook: with forRootAsync, pass webhook beside useFactory (forRootAsync({ webhook, useFactory })), not in the options it returns: routes are fixed when the module is registered',
      );
    } else if (!KNOWN_OPTIONS.has(key)) {
      problems.push(`${key} is not a PayoutModule option`);
    }
  }

  let baseUrl = '';
  if (typeof options.baseUrl !== 'string' || !isHttpUrl(options.baseUrl)) {
    problems.push('baseUrl is required and must be an http(s) URL');
  } else if (/^[a-z]+:\/\/[^/?#]*@|[?#]/i.test(options.baseUrl)) {
    // The client sends requests to the host and path only; anything else would be silently dropped.
    problems.push(
      'baseUrl must not carry credentials, a query or a fragment (Cashy authenticates with MerchantId and Sign)',
    );
  } else {
    baseUrl = options.baseUrl.replace(/\/+$/, '');
  }
  const accounts = resolveAccounts(options, problems);

  let notifyUrl: string | undefined;
  if (options.notifyUrl !== undefined) {
    const normalized =
      typeof options.notifyUrl === 'string'
        ? normalizeHttpUrl(options.notifyUrl)
        : undefined;
    if (normalized === undefined || normalized.length > 250) {
      problems.push(
        'notifyUrl must be an absolute http(s) URL of at most 250 characters, without control or invisible characters',
      );
    } else {
      notifyUrl = normalized;
    }
  }
  if (options.store !== undefined) {
    const store = options.store as Record<string, unknown> | null;
    const methods = [
      'get',
      'compareAndSet',
      'findByMchOrderNo',
      'getAttempt',
      'compareAndSetAttempt',
    ];
    const missing = methods.filter(
      (method) => typeof store?.[method] !== 'function',
    );
    if (missing.length > 0)
      problems.push(
        `store must implement PayoutStore (${methods.join(', ')}); it lacks ${missing.join(', ')}`,
      );
  }
  const limits = resolveLimits(options.limits, problems);
  const timeoutMs = positiveInteger(
    options.timeoutMs,
    'timeoutMs',
    problems,
    600_000,
  );
  if (timeoutMs === 0) problems.push('timeoutMs must be at least 1');
  const retry = resolveRetry(options.retry, problems);
  const delivery = resolveDelivery(options.delivery, problems);
  const resendWindowMs =
    positiveInteger(
      options.resendWindowMs,
      'resendWindowMs',
      problems,
      86_400_000,
    ) ?? PAYOUT_DEFAULTS.resendWindowMs;
  const messages = resolveGatewayMessages(options.gatewayMessages, problems);
  const reconciliation = resolveReconciliation(
    options.reconciliation,
    problems,
  );
  const http = resolveHttp(options.http, problems);

  if (problems.length > 0) fail(problems);
  return new PayoutConfig(
    baseUrl,
    accounts,
    notifyUrl,
    limits,
    timeoutMs ?? PAYOUT_DEFAULTS.timeoutMs,
    retry,
    delivery,
    resendWindowMs,
    messages,
    http,
    reconciliation,
  );
}

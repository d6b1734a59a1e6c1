import { inspect } from 'node:util';
import { PayoutConfigurationError } from '../payout.errors';
import { resolvePayoutOptions } from '../options/payout-options.resolver';
import {
  PAYOUT_ENV_ACCOUNTS,
  type PayoutEnvVariable,
} from './payout-env.constants';
import type { PayoutEnvConfig } from './payout-env-config.interface';

type Env = Readonly<Record<string, string | undefined>>;

const RESOLVER_PREFIX = 'Invalid PayoutModule options: ';
const OPTION_PATH = /^\w+(?:\[\d+\])?(?:\.\w+)*/;
const PER_CURRENCY_HINT =
  'CASHY_PEN_MERCHANT_ID and CASHY_PEN_API_KEY and/or CASHY_MXN_MERCHANT_ID and CASHY_MXN_API_KEY';

/** A variable's value, trimmed (a secret mounted from a file often ends in a newline); empty means unset. */
function read(env: Env, name: PayoutEnvVariable): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** Whole numbers become numbers; anything else goes on as is, for the resolver to reject in its own words. */
function readInteger(
  env: Env,
  name: PayoutEnvVariable,
): number | string | undefined {
  const value = read(env, name);
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : value;
}

/** Makes `console.log` and `JSON.stringify` of an object holding an apiKey show `[redacted]` instead. */
function redactApiKey<T extends object>(target: T): T {
  const shown = () =>
    'apiKey' in target && target.apiKey !== undefined
      ? { ...target, apiKey: '[redacted]' }
      : { ...target };
  // Not enumerable: options spread or checked for unknown keys stay plain.
  Object.defineProperty(target, 'toJSON', { value: shown });
  Object.defineProperty(target, inspect.custom, {
    value: (_depth: number, options: object) => inspect(shown(), options),
  });
  return target;
}

/**
 * Reads `PayoutModule` options from environment variables and validates them with the module's own
 * resolver, so the rules and messages are the options'; each message names the variable beside the
 * option (`CASHY_BASE_URL (baseUrl) is required …`). No value of a key is ever put in a message.
 */
export function readPayoutEnv(env: Env): PayoutEnvConfig {
  const options: Record<string, unknown> = {};
  // Which variable an option path in a resolver message came from.
  const sources = new Map<string, string>([
    ['baseUrl', 'CASHY_BASE_URL'],
    ['notifyUrl', 'CASHY_NOTIFY_URL'],
    ['timeoutMs', 'CASHY_TIMEOUT_MS'],
    ['resendWindowMs', 'CASHY_RESEND_WINDOW_MS'],
    ['merchantId', 'CASHY_MERCHANT_ID'],
    ['apiKey', 'CASHY_API_KEY'],
  ]);
  const put = (option: string, value: unknown) => {
    if (value !== undefined) options[option] = value;
  };
  put('baseUrl', read(env, 'CASHY_BASE_URL'));
  put('notifyUrl', read(env, 'CASHY_NOTIFY_URL'));
  put('timeoutMs', readInteger(env, 'CASHY_TIMEOUT_MS'));
  put('resendWindowMs', readInteger(env, 'CASHY_RESEND_WINDOW_MS'));

  const single = (['CASHY_MERCHANT_ID', 'CASHY_API_KEY'] as const).filter(
    (name) => read(env, name) !== undefined,
  );
  const perCurrency = PAYOUT_ENV_ACCOUNTS.flatMap((account) => [
    account.merchantId,
    account.apiKey,
  ]).filter((name) => read(env, name) !== undefined);
  let accountsProblem: string | undefined;
  if (single.length > 0 && perCurrency.length > 0) {
    accountsProblem =
      'set either CASHY_MERCHANT_ID and CASHY_API_KEY (one account) or ' +
      `${PER_CURRENCY_HINT} (one account per currency), not both (found ${[...single, ...perCurrency].join(', ')})`;
  } else if (single.length > 0) {
    put('merchantId', read(env, 'CASHY_MERCHANT_ID'));
    put('apiKey', read(env, 'CASHY_API_KEY'));
  } else if (perCurrency.length > 0) {
    const accounts = PAYOUT_ENV_ACCOUNTS.filter(
      (account) =>
        read(env, account.merchantId) !== undefined ||
        read(env, account.apiKey) !== undefined,
    );
    options.accounts = accounts.map((account, i) => {
      sources.set(`accounts[${i}].merchantId`, account.merchantId);
      sources.set(`accounts[${i}].apiKey`, account.apiKey);
      return {
        name: account.name,
        merchantId: read(env, account.merchantId),
        apiKey: read(env, account.apiKey),
        currencies: [account.currency],
      };
    });
    sources.set(
      'accounts',
      accounts.map((account) => account.merchantId).join(' and '),
    );
  } else {
    accountsProblem = `CASHY_MERCHANT_ID and CASHY_API_KEY (merchantId, apiKey) are required, or one account per currency: ${PER_CURRENCY_HINT}`;
  }

  const problems: string[] = accountsProblem ? [accountsProblem] : [];
  try {
    resolvePayoutOptions(options);
  } catch (error) {
    if (!(error instanceof PayoutConfigurationError)) throw error;
    const text = error.message.startsWith(RESOLVER_PREFIX)
      ? error.message.slice(RESOLVER_PREFIX.length)
      : error.message;
    for (const problem of text.split('; ')) {
      const path = OPTION_PATH.exec(problem)?.[0] ?? '';
      // The account problem above already says what is wrong with the account variables.
      if (accountsProblem && (path === 'merchantId' || path === 'apiKey'))
        continue;
      const variable = sources.get(path);
      problems.push(
        variable
          ? `${variable} (${path})${problem.slice(path.length)}`
          : problem,
      );
    }
  }
  if (problems.length > 0)
    throw new PayoutConfigurationError(
      `Invalid PayoutModule options from the environment: ${problems.join('; ')}`,
    );

  const config = options as unknown as PayoutEnvConfig;
  config.accounts?.forEach(redactApiKey);
  return redactApiKey(config);
}

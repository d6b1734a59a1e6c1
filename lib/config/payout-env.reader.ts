import { inspect } from 'node:util';
import { PayoutConfigurationError } from '../payout.errors';
import { type OptionProblem, problemList } from '../options/option.reader';
import { readPayoutOptions } from '../options/payout-options.resolver';
import { PAYOUT_ENV_ACCOUNTS, type PayoutEnvVariable } from './payout-env.constants';
import type { PayoutEnvConfig } from './payout-env-config.interface';

type Env = Readonly<Record<string, string | undefined>>;

const PER_CURRENCY_HINT =
  'CASHY_PEN_MERCHANT_ID and CASHY_PEN_API_KEY and/or CASHY_MXN_MERCHANT_ID and CASHY_MXN_API_KEY';

/** A variable's value, trimmed (a secret mounted from a file often ends in a newline); empty means unset. */
function read(env: Env, name: PayoutEnvVariable): string | undefined {
  return env[name]?.trim() || undefined;
}

/** Whole numbers become numbers; anything else goes on as is, for the resolver to reject in its own words. */
function readInteger(env: Env, name: PayoutEnvVariable): number | string | undefined {
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

/** The variables read straight into an option, with how their text is read. */
const ENV_OPTIONS = [
  ['CASHY_BASE_URL', 'baseUrl', read],
  ['CASHY_NOTIFY_URL', 'notifyUrl', read],
  ['CASHY_TIMEOUT_MS', 'timeoutMs', readInteger],
  ['CASHY_RESEND_WINDOW_MS', 'resendWindowMs', readInteger],
  // The single-account pair: unset when per-currency accounts are used.
  ['CASHY_MERCHANT_ID', 'merchantId', read],
  ['CASHY_API_KEY', 'apiKey', read],
] as const;

/**
 * Puts the per-currency account variables into `options.accounts`, recording which variable each
 * account option came from; returns the problem when the account variables make no account setup.
 */
function readAccountVariables(
  env: Env,
  options: Record<string, unknown>,
  sources: Map<string, string>,
): string | undefined {
  const isSet = (name: PayoutEnvVariable) => read(env, name) !== undefined;
  const single = (['CASHY_MERCHANT_ID', 'CASHY_API_KEY'] as const).filter(isSet);
  const perCurrency = PAYOUT_ENV_ACCOUNTS.flatMap((a) => [a.merchantId, a.apiKey]).filter(isSet);
  const accounts = PAYOUT_ENV_ACCOUNTS.filter((a) => isSet(a.merchantId) || isSet(a.apiKey));
  if (single.length > 0 && perCurrency.length > 0)
    return (
      'set either CASHY_MERCHANT_ID and CASHY_API_KEY (one account) or ' +
      `${PER_CURRENCY_HINT} (one account per currency), not both (found ${[...single, ...perCurrency].join(', ')})`
    );
  if (single.length > 0) return undefined;
  if (accounts.length === 0)
    return `CASHY_MERCHANT_ID and CASHY_API_KEY (merchantId, apiKey) are required, or one account per currency: ${PER_CURRENCY_HINT}`;
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
  sources.set('accounts', accounts.map((account) => account.merchantId).join(' and '));
  return undefined;
}

/**
 * Reads `PayoutModule` options from environment variables and validates them with the module's own
 * resolver, so the rules and messages are the options'; each message names the variable beside the
 * option (`CASHY_BASE_URL (baseUrl) is required …`). No value of a key is ever put in a message.
 */
export function readPayoutEnv(env: Env): PayoutEnvConfig {
  const options: Record<string, unknown> = {};
  // Which variable each option path came from, to name it in the resolver's problems.
  const sources = new Map<string, string>();
  for (const [variable, option, readValue] of ENV_OPTIONS) {
    const value = readValue(env, variable);
    if (value !== undefined) options[option] = value;
    sources.set(option, variable);
  }
  const accountsProblem = readAccountVariables(env, options, sources);
  const problems: OptionProblem[] = accountsProblem ? [{ path: '', message: accountsProblem }] : [];
  for (const { path, message } of readPayoutOptions(options).problems ?? []) {
    // The account problem above already says what is wrong with the account variables.
    if (accountsProblem && (path === 'merchantId' || path === 'apiKey')) continue;
    const variable = sources.get(path);
    problems.push({
      path,
      message:
        variable && message.startsWith(path)
          ? `${variable} (${path})${message.slice(path.length)}`
          : message,
    });
  }
  if (problems.length > 0)
    throw new PayoutConfigurationError(
      problemList('Invalid PayoutModule options from the environment: ', problems),
    );

  const config = options as unknown as PayoutEnvConfig;
  config.accounts?.forEach(redactApiKey);
  return redactApiKey(config);
}

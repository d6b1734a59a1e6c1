import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import type { AmountLimits } from '../markets/payout-market.interface';
import { resolvePayoutOptions } from '../options/payout-options.resolver';
import { SandboxFaultPlanner } from './sandbox-faults';
import { SANDBOX_DEFAULT_BALANCE, toCents } from './sandbox-conventions';
import type { CashySandboxOptions, SandboxAccount } from './sandbox.types';

/** Accounts of a sandbox created without `accounts`: one per market, as an enterprise would hold. */
const SANDBOX_DEFAULT_ACCOUNTS: readonly Readonly<SandboxAccount>[] = [
  { merchantId: '1002001', apiKey: 'sandbox-pen-key', currencies: ['PEN'] },
  { merchantId: '1002002', apiKey: 'sandbox-mxn-key', currencies: ['MXN'] },
];

/** Defaults of the listening and timing options (delays in ms). */
export const SANDBOX_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  processingMs: 20,
  payingMs: 40,
  timeScale: 1,
  notifyTimeoutMs: 5_000,
  /** Delay of the `late-commit` fault: from a payOut's arrival to its order's creation. */
  lateCommitMs: 800,
} as const;

/** A sandbox account with its live balance. */
export interface SandboxAccountState {
  merchantId: string;
  apiKey: string;
  currencies: PayoutCurrency[];
  /** Available balance, in cents. */
  balanceCents: bigint;
}

/** Options after validation and defaults. */
export interface ResolvedSandboxOptions {
  accounts: SandboxAccountState[];
  host: string;
  port: number;
  processingMs: number;
  payingMs: number;
  autoSettle: boolean;
  timeScale: number;
  limits: Readonly<Record<PayoutCurrency, AmountLimits>>;
  notifyTimeoutMs: number;
  faults: SandboxFaultPlanner;
  dedupeMchOrderNo: boolean;
  lateCommitMs: number;
}

function nonNegative(
  value: number | undefined,
  name: string,
  fallback: number,
  strictlyPositive = false,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (strictlyPositive && value === 0)
  ) {
    throw new Error(
      `CashySandbox: ${name} must be a ${strictlyPositive ? 'positive' : 'non-negative'} number`,
    );
  }
  return value;
}

function resolveAccount(
  account: SandboxAccount,
  i: number,
): SandboxAccountState {
  const where = `accounts[${i}]`;
  if (
    typeof account?.merchantId !== 'string' ||
    !/^\d{1,20}$/.test(account.merchantId)
  ) {
    throw new Error(
      `CashySandbox: ${where}.merchantId must be a string of digits`,
    );
  }
  // Name the problem, never the key.
  if (typeof account.apiKey !== 'string' || account.apiKey.length === 0)
    throw new Error(`CashySandbox: ${where}.apiKey must be a non-empty string`);
  const currencies = account.currencies;
  if (
    !Array.isArray(currencies) ||
    currencies.length === 0 ||
    currencies.some((c) => !PAYOUT_CURRENCIES.includes(c))
  ) {
    throw new Error(
      `CashySandbox: ${where}.currencies must be a non-empty array of ${PAYOUT_CURRENCIES.join(', ')}`,
    );
  }
  const balanceCents = toCents(
    account.balance ?? SANDBOX_DEFAULT_BALANCE,
    `${where}.balance`,
  );
  return {
    merchantId: account.merchantId,
    apiKey: account.apiKey,
    currencies: [...new Set(currencies)],
    balanceCents,
  };
}

/** Validates sandbox options and applies the defaults; throws an `Error` naming the bad option. */
export function resolveSandboxOptions(
  options: CashySandboxOptions = {},
): ResolvedSandboxOptions {
  const accounts = (
    options.accounts ??
    SANDBOX_DEFAULT_ACCOUNTS.map((a) => ({
      ...a,
      currencies: [...a.currencies],
    }))
  ).map(resolveAccount);
  if (accounts.length === 0)
    throw new Error('CashySandbox: accounts must not be empty');
  const seen = new Set<string>();
  for (const account of accounts) {
    if (seen.has(account.merchantId))
      throw new Error(
        `CashySandbox: merchantId ${account.merchantId} appears twice in accounts`,
      );
    seen.add(account.merchantId);
  }

  // The module's own resolver owns the limit rules; borrow it so both sides agree on every bound.
  let limits: Readonly<Record<PayoutCurrency, AmountLimits>>;
  try {
    limits = resolvePayoutOptions({
      baseUrl: 'http://127.0.0.1',
      merchantId: '1',
      apiKey: 'limits-only',
      limits: options.limits,
    }).limits;
  } catch (error) {
    throw new Error(
      `CashySandbox: ${(error as Error).message.replace(/^Invalid PayoutModule options: /, '')}`,
      { cause: error },
    );
  }

  const port = nonNegative(options.port, 'port', SANDBOX_DEFAULTS.port);
  if (!Number.isInteger(port) || port > 65_535)
    throw new Error(
      'CashySandbox: port must be a whole number from 0 to 65535',
    );
  if (
    options.host !== undefined &&
    (typeof options.host !== 'string' || options.host.length === 0)
  ) {
    throw new Error('CashySandbox: host must be a non-empty string');
  }
  if (
    options.dedupeMchOrderNo !== undefined &&
    typeof options.dedupeMchOrderNo !== 'boolean'
  ) {
    throw new Error('CashySandbox: dedupeMchOrderNo must be a boolean');
  }
  return {
    accounts,
    host: options.host ?? SANDBOX_DEFAULTS.host,
    port,
    processingMs: nonNegative(
      options.processingMs,
      'processingMs',
      SANDBOX_DEFAULTS.processingMs,
    ),
    payingMs: nonNegative(
      options.payingMs,
      'payingMs',
      SANDBOX_DEFAULTS.payingMs,
    ),
    autoSettle: options.autoSettle ?? true,
    timeScale: nonNegative(
      options.timeScale,
      'timeScale',
      SANDBOX_DEFAULTS.timeScale,
      true,
    ),
    limits,
    notifyTimeoutMs: nonNegative(
      options.notifyTimeoutMs,
      'notifyTimeoutMs',
      SANDBOX_DEFAULTS.notifyTimeoutMs,
      true,
    ),
    faults: new SandboxFaultPlanner(options.faults),
    dedupeMchOrderNo: options.dedupeMchOrderNo ?? true,
    lateCommitMs: nonNegative(
      options.lateCommitMs,
      'lateCommitMs',
      SANDBOX_DEFAULTS.lateCommitMs,
    ),
  };
}

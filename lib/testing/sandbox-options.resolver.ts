import { isPlainObject } from '../client/cashy-wire';
import type { PayoutCurrency } from '../payout.types';
import type { AmountLimits } from '../markets/payout-market.interface';
import { defaultsOf, OptionReader, type OptionValues } from '../options/option.reader';
import { checkDistinctAccounts, readAccountFields } from '../options/payout-accounts.reader';
import { readLimits } from '../options/payout-options.resolver';
import { readRandomFaults, SandboxFaultPlanner } from './sandbox-faults';
import { BALANCE_SCALE, SANDBOX_DEFAULT_BALANCE, toCents } from './sandbox-conventions';
import type { CashySandboxOptions, SandboxAccount } from './sandbox.types';

/** Accounts of a sandbox created without `accounts`: one per market. */
const SANDBOX_DEFAULT_ACCOUNTS: readonly Readonly<SandboxAccount>[] = [
  { merchantId: '1002001', apiKey: 'sandbox-pen-key', currencies: ['PEN'] },
  { merchantId: '1002002', apiKey: 'sandbox-mxn-key', currencies: ['MXN'] },
];

/** The listening, timing and behaviour options: `[min, max, default]` (delays in ms), or the default. */
const SANDBOX_OPTION_RULES = {
  host: '127.0.0.1',
  port: [0, 65_535, 0],
  processingMs: [0, Infinity, 20, 'number'],
  payingMs: [0, Infinity, 40, 'number'],
  autoSettle: true,
  timeScale: [0, Infinity, 1, 'above'],
  notifyTimeoutMs: [0, Infinity, 5_000, 'above'],
  dedupeMchOrderNo: true,
  lateCommitMs: [0, Infinity, 800, 'number'],
} as const;

/** Defaults of the listening, timing and behaviour options (delays in ms). */
export const SANDBOX_DEFAULTS = defaultsOf(SANDBOX_OPTION_RULES);

/** A sandbox account with its live balance, in cents. */
export interface SandboxAccountState extends Omit<SandboxAccount, 'balance'> {
  balanceCents: bigint;
}

/** Options after validation and defaults. */
export interface ResolvedSandboxOptions extends OptionValues<typeof SANDBOX_OPTION_RULES> {
  accounts: SandboxAccountState[];
  limits: Readonly<Record<PayoutCurrency, AmountLimits>>;
  faults: SandboxFaultPlanner;
}

/** The sandbox's accounts: the module's account rules, every currency listed, and a balance. */
function readSandboxAccounts(reader: OptionReader, value: unknown): SandboxAccountState[] {
  if (!Array.isArray(value) || value.length === 0) {
    reader.fail('accounts', 'must be a non-empty array of accounts');
    return [];
  }
  const accounts: SandboxAccountState[] = [];
  value.forEach((entry: unknown, i) => {
    const where = `accounts[${i}]`;
    if (!isPlainObject(entry)) return reader.fail(where, 'must be an object');
    const { merchantId, apiKey, currencies } = readAccountFields(reader, entry, `${where}.`, true);
    const balanceCents = toCents(entry.balance ?? SANDBOX_DEFAULT_BALANCE);
    if (balanceCents === undefined)
      reader.fail(`${where}.balance`, `must be a decimal with at most ${BALANCE_SCALE} places`);
    if (merchantId && apiKey && currencies && balanceCents !== undefined)
      accounts.push({ merchantId, apiKey, currencies, balanceCents });
  });
  checkDistinctAccounts(reader, accounts);
  return accounts;
}

/** Validates sandbox options and applies the defaults; throws an `Error` naming every bad option. */
export function resolveSandboxOptions(options: CashySandboxOptions = {}): ResolvedSandboxOptions {
  const reader = new OptionReader();
  const given = reader.object(options, 'options', 'an object') ?? {};
  const defaults = SANDBOX_DEFAULT_ACCOUNTS.map((a) => ({ ...a, currencies: [...a.currencies] }));
  const accounts = readSandboxAccounts(reader, given.accounts ?? defaults);
  // The module's own limit rules, so both sides agree on every bound.
  const limits = readLimits(reader, given.limits);
  const settings = reader.read(given, SANDBOX_OPTION_RULES);
  const faults = readRandomFaults(reader, given.faults);
  reader.throwIfAny('CashySandbox: ', Error);
  return { ...settings, accounts, limits, faults: new SandboxFaultPlanner(faults) };
}

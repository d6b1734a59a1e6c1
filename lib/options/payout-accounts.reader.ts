import { idText, isPlainObject, MERCHANT_ID } from '../client/cashy-wire';
import { PAYOUT_CURRENCIES, type PayoutCurrency } from '../payout.types';
import { CashyAccount } from './cashy-account';
import type { OptionReader } from './option.reader';

/** An account's fields once read; a field is `undefined` when it is missing or of the wrong type. */
export interface AccountFields {
  merchantId?: string;
  apiKey?: string;
  /** `undefined` also when the account leaves them out (it then serves every currency). */
  currencies?: PayoutCurrency[];
}

/**
 * Reads an account's merchant id, key and currencies, reporting each bad one under `prefix`. The
 * module's accounts and the sandbox's are read alike; the sandbox's must list their currencies.
 */
export function readAccountFields(
  reader: OptionReader,
  entry: Record<string, unknown>,
  prefix: string,
  currenciesRequired = false,
): AccountFields {
  const merchantId = idText(entry.merchantId);
  if (merchantId === undefined || !MERCHANT_ID.test(merchantId))
    reader.fail(`${prefix}merchantId`, "is required and must be Cashy's numeric merchant id");
  // Say what is wrong with the key without ever echoing it.
  const apiKey = typeof entry.apiKey === 'string' ? entry.apiKey : undefined;
  if (!apiKey?.trim()) reader.fail(`${prefix}apiKey`, 'is required and must be a non-empty string');
  const list = entry.currencies;
  const known = (c: unknown) => PAYOUT_CURRENCIES.includes(c as PayoutCurrency);
  if (Array.isArray(list) && list.length > 0 && list.every(known))
    return { merchantId, apiKey, currencies: [...new Set(list as PayoutCurrency[])] };
  if (list !== undefined || currenciesRequired)
    reader.fail(
      `${prefix}currencies`,
      `must be a non-empty array of ${PAYOUT_CURRENCIES.join(', ')}`,
    );
  return { merchantId, apiKey };
}

/** Reports every name or merchant id that more than one account has. */
export function checkDistinctAccounts(
  reader: OptionReader,
  accounts: readonly { merchantId: string; name?: string }[],
): void {
  const seen = new Set<string>();
  for (const { merchantId, name } of accounts) {
    for (const key of new Set([merchantId, name ?? merchantId])) {
      if (seen.has(key))
        reader.report('accounts', `accounts: "${key}" names or identifies more than one account`);
      seen.add(key);
    }
  }
}

/** The account entries: `merchantId` + `apiKey` as one, or `accounts`; none (reported) when neither fits. */
function accountEntries(reader: OptionReader, options: Record<string, unknown>): unknown[] {
  const single = options.merchantId !== undefined || options.apiKey !== undefined;
  if (single && options.accounts === undefined)
    return [{ merchantId: options.merchantId, apiKey: options.apiKey }];
  if (!single && Array.isArray(options.accounts) && options.accounts.length > 0)
    return options.accounts;
  if (single) reader.report('accounts', 'give either merchantId and apiKey, or accounts, not both');
  // Named after merchantId: the first thing a setup without accounts should give.
  else reader.fail('merchantId', 'and apiKey (or a non-empty accounts array) are required');
  return [];
}

/** Reads the module's accounts (`merchantId` + `apiKey`, or `accounts`). */
export function readAccounts(
  reader: OptionReader,
  options: Record<string, unknown>,
): CashyAccount[] {
  const accounts: CashyAccount[] = [];
  accountEntries(reader, options).forEach((entry, i) => {
    if (!isPlainObject(entry)) return reader.fail(`accounts[${i}]`, 'must be an object');
    // A single account's options are top-level ones.
    const prefix = options.accounts === undefined ? '' : `accounts[${i}].`;
    const { merchantId, apiKey, currencies } = readAccountFields(reader, entry, prefix);
    const name = reader.value(entry.name, `${prefix}name`, merchantId ?? '');
    if (merchantId !== undefined && apiKey !== undefined)
      accounts.push(new CashyAccount(name, merchantId, apiKey, currencies));
  });
  checkDistinctAccounts(reader, accounts);
  return accounts;
}

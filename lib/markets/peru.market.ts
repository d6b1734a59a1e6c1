import { isValidCci } from './cci';
import { brokenRules, type PayoutFieldError, type ReportBroken } from '../payout.errors';
import type { MarketBank, MarketPayoutFields, PayoutMarket } from './payout-market.interface';

/**
 * Peru's payout banks (Cashy's Peru appendix; ids 15 and 16 are not published), with the 3-digit CCI
 * entity code where public lists give one (Banco Financiero and Pichincha share 035). Banks without
 * one are not cross-checked.
 */
const PERU_BANK_ROWS: readonly (readonly [bankId: number, name: string, cciEntity?: string])[] = [
  [1, 'BBVA Continental', '011'],
  [2, 'Interbank', '003'],
  [3, 'BCP Banco de Crédito de Perú', '002'],
  [4, 'Scotiabank', '009'],
  [5, 'Banco Falabella', '054'],
  [6, 'BanBif', '038'],
  [7, 'Banco Santander', '056'],
  [8, 'Mi Banco', '049'],
  [9, 'Banco de Comercio', '023'],
  [10, 'Banco Financiero', '035'],
  [11, 'Banco GNB', '053'],
  [12, 'Citibank', '007'],
  [13, 'Banco de la Nacion', '018'],
  [14, 'CMAC Trujillo', '802'],
  [17, 'CMAC Sullana', '805'],
  [18, 'CMAC Cusco', '806'],
  [19, 'CMAC Huancayo', '808'],
  [20, 'Caja Metropolitana', '800'],
  [21, 'Banco Pichincha', '035'],
  [22, 'Banco Azteca'],
  [23, 'Banco Cencosud'],
  [24, 'ICBC PERU BANK'],
  [25, 'Caja Maynas'],
  [26, 'Caja Municipal Ica'],
  [27, 'Caja Tacna', '813'],
  [28, 'Banco Ripley', '055'],
];

const PERU_BANKS: readonly MarketBank[] = PERU_BANK_ROWS.map(([bankId, bankName]) => ({
  bankId,
  bankCode: bankName,
  bankName,
}));

const CCI_ENTITY_BY_BANK_ID = new Map(
  PERU_BANK_ROWS.flatMap(([bankId, , entity]) => (entity ? [[bankId, entity] as const] : [])),
);

const CORRIENTE = 0;
const AHORRO = 1;

/** Native account-number formats of the four big banks; every other bank is paid by CCI. */
const BIG_FOUR_ACCOUNT_FORMATS: Readonly<
  Record<number, { lengths: (accountType: number) => number[]; text: string }>
> = {
  1: { lengths: () => [18, 20], text: 'BBVA (bankId 1) account numbers are 18 or 20 digits' },
  2: { lengths: () => [13], text: 'Interbank (bankId 2) account numbers are 13 digits' },
  3: {
    lengths: (type) => (type === CORRIENTE ? [13] : [14]),
    text: 'BCP (bankId 3) account numbers are 13 digits for corriente (accountType 0) and 14 for ahorro (accountType 1)',
  },
  4: {
    lengths: () => [10],
    text: 'Scotiabank (bankId 4) account numbers are 10 digits (3-digit agency + 7-digit account)',
  },
};

/** Peru's identity documents: `idType` → rule for `idCard`. */
const ID_DOCUMENTS: Readonly<Record<string, { name: string; pattern: RegExp; text: string }>> = {
  '1': { name: 'DNI', pattern: /^\d{8}$/, text: 'exactly 8 digits' },
  '2': { name: 'PAS', pattern: /^[A-Za-z0-9]{7,12}$/, text: '7 to 12 letters or digits' },
  '3': { name: 'CE', pattern: /^[A-Za-z0-9]{8,20}$/, text: '8 to 20 letters or digits' },
  '4': { name: 'RUC', pattern: /^\d{11}$/, text: 'exactly 11 digits' },
};

/** A CCI's check digits, then its entity code against `bankId`'s. */
function checkCci(cci: string, bankId: number | undefined, broken: ReportBroken): void {
  const entity = bankId === undefined ? undefined : CCI_ENTITY_BY_BANK_ID.get(bankId);
  if (!isValidCci(cci))
    broken(
      'cciAccountNo',
      'cciCheckDigits',
      'cciAccountNo must be a 20-digit CCI with valid check digits',
    );
  else if (entity && !cci.startsWith(entity))
    broken(
      'cciAccountNo',
      'cciBankMatch',
      `cciAccountNo starts with entity code ${cci.slice(0, 3)}, but bankId ${bankId} has entity code ${entity}`,
    );
}

/** The account: a big-four bank's own number (and a CCI if given), else a CCI. */
function checkAccount(fields: MarketPayoutFields, broken: ReportBroken): void {
  const { accountNo, cciAccountNo, accountType, bankId } = fields;
  const bigFour = bankId === undefined ? undefined : BIG_FOUR_ACCOUNT_FORMATS[bankId];
  if (bigFour) {
    const lengths = bigFour.lengths(accountType ?? AHORRO);
    if (accountNo !== undefined && !lengths.includes(accountNo.length))
      broken(
        'accountNo',
        'accountFormat',
        `accountNo has ${accountNo.length} digits; ${bigFour.text}`,
      );
    if (cciAccountNo !== undefined) checkCci(cciAccountNo, bankId, broken);
    return;
  }
  if (bankId === undefined) return;
  if (accountNo !== undefined && accountNo.length > 32)
    broken('accountNo', 'accountFormat', 'accountNo must be at most 32 digits');
  if (cciAccountNo !== undefined) checkCci(cciAccountNo, bankId, broken);
  else if (!fields.given.has('cciAccountNo'))
    broken(
      'cciAccountNo',
      'required',
      `cciAccountNo (the 20-digit CCI) is required for PEN payouts to banks other than bankIds 1-4 (bankId ${bankId})`,
    );
}

function checkPeru(fields: MarketPayoutFields): PayoutFieldError[] {
  const [errors, broken] = brokenRules();
  const { accountType, idType, idCard } = fields;
  if (accountType !== undefined && accountType !== CORRIENTE && accountType !== AHORRO)
    broken('accountType', 'accountType', 'accountType must be 0 (corriente) or 1 (ahorro) for PEN');
  checkAccount(fields, broken);
  const document = idType === undefined ? undefined : ID_DOCUMENTS[idType];
  if (idType !== undefined && !document)
    broken('idType', 'idType', 'idType must be 1 (DNI), 2 (PAS), 3 (CE) or 4 (RUC) for PEN');
  else if (document && idCard !== undefined && !document.pattern.test(idCard))
    broken(
      'idCard',
      'idFormat',
      `idCard for ${document.name} (idType ${idType}) must be ${document.text}`,
    );
  return errors;
}

/** Peru: PEN to bank accounts, paid by native account number (big four) or CCI. */
export const PERU_MARKET: PayoutMarket = {
  currency: 'PEN',
  country: 'Peru',
  amountScale: 2,
  defaultLimits: { min: '10.00', max: '2000.00' },
  accountNameMaxLength: 32,
  idRequired: true,
  allowsSuccessReversal: false,
  accountTypes: { [CORRIENTE]: 'Corriente (checking)', [AHORRO]: 'Ahorro (savings)' },
  banks: PERU_BANKS,
  check: checkPeru,
};

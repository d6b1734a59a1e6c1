import { isValidCci } from './cci';
import type {
  MarketBank,
  MarketPayoutFields,
  MarketRuleViolation,
  PayoutMarket,
} from './payout-market.interface';

/** Peru's payout banks (Cashy's Peru appendix; ids 15 and 16 are not published). */
const PERU_BANKS: readonly MarketBank[] = [
  [1, 'BBVA Continental'],
  [2, 'Interbank'],
  [3, 'BCP Banco de Crédito de Perú'],
  [4, 'Scotiabank'],
  [5, 'Banco Falabella'],
  [6, 'BanBif'],
  [7, 'Banco Santander'],
  [8, 'Mi Banco'],
  [9, 'Banco de Comercio'],
  [10, 'Banco Financiero'],
  [11, 'Banco GNB'],
  [12, 'Citibank'],
  [13, 'Banco de la Nacion'],
  [14, 'CMAC Trujillo'],
  [17, 'CMAC Sullana'],
  [18, 'CMAC Cusco'],
  [19, 'CMAC Huancayo'],
  [20, 'Caja Metropolitana'],
  [21, 'Banco Pichincha'],
  [22, 'Banco Azteca'],
  [23, 'Banco Cencosud'],
  [24, 'ICBC PERU BANK'],
  [25, 'Caja Maynas'],
  [26, 'Caja Municipal Ica'],
  [27, 'Caja Tacna'],
  [28, 'Banco Ripley'],
].map(([bankId, bankName]) => ({
  bankId: bankId as number,
  bankCode: bankName as string,
  bankName: bankName as string,
}));

/**
 * The 3-digit CCI entity code of each bank, where public lists give one (Banco Financiero and
 * Pichincha share 035). Banks missing here are not cross-checked.
 */
const CCI_ENTITY_BY_BANK_ID: Readonly<Record<number, string>> = {
  1: '011',
  2: '003',
  3: '002',
  4: '009',
  5: '054',
  6: '038',
  7: '056',
  8: '049',
  9: '023',
  10: '035',
  11: '053',
  12: '007',
  13: '018',
  14: '802',
  17: '805',
  18: '806',
  19: '808',
  20: '800',
  21: '035',
  27: '813',
  28: '055',
};

const CORRIENTE = 0;
const AHORRO = 1;

/** Native account-number formats of the four big banks; every other bank is paid by CCI. */
const BIG_FOUR_ACCOUNT_FORMATS: Readonly<
  Record<number, { lengths: (accountType: number) => number[]; text: string }>
> = {
  1: {
    lengths: () => [18, 20],
    text: 'BBVA (bankId 1) account numbers are 18 or 20 digits',
  },
  2: {
    lengths: () => [13],
    text: 'Interbank (bankId 2) account numbers are 13 digits',
  },
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
  '2': {
    name: 'PAS',
    pattern: /^[A-Za-z0-9]{7,12}$/,
    text: '7 to 12 letters or digits',
  },
  '3': {
    name: 'CE',
    pattern: /^[A-Za-z0-9]{8,20}$/,
    text: '8 to 20 letters or digits',
  },
  '4': { name: 'RUC', pattern: /^\d{11}$/, text: 'exactly 11 digits' },
};

function checkCci(cci: string, bankId: number | undefined, out: MarketRuleViolation[]): void {
  if (!isValidCci(cci)) {
    out.push({
      field: 'cciAccountNo',
      rule: 'cciCheckDigits',
      message: 'cciAccountNo must be a 20-digit CCI with valid check digits',
    });
    return;
  }
  const entity = bankId === undefined ? undefined : CCI_ENTITY_BY_BANK_ID[bankId];
  if (entity && !cci.startsWith(entity)) {
    out.push({
      field: 'cciAccountNo',
      rule: 'cciBankMatch',
      message: `cciAccountNo starts with entity code ${cci.slice(0, 3)}, but bankId ${bankId} has entity code ${entity}`,
    });
  }
}

function checkPeru(fields: MarketPayoutFields): MarketRuleViolation[] {
  const out: MarketRuleViolation[] = [];
  const { accountNo, cciAccountNo, accountType, bankId, idType, idCard } = fields;

  if (accountType !== undefined && accountType !== CORRIENTE && accountType !== AHORRO) {
    out.push({
      field: 'accountType',
      rule: 'accountType',
      message: 'accountType must be 0 (corriente) or 1 (ahorro) for PEN',
    });
  }

  const bigFour = bankId === undefined ? undefined : BIG_FOUR_ACCOUNT_FORMATS[bankId];
  if (bigFour) {
    const lengths = bigFour.lengths(accountType ?? AHORRO);
    if (accountNo !== undefined && !lengths.includes(accountNo.length)) {
      out.push({
        field: 'accountNo',
        rule: 'accountFormat',
        message: `accountNo has ${accountNo.length} digits; ${bigFour.text}`,
      });
    }
    if (cciAccountNo !== undefined) checkCci(cciAccountNo, bankId, out);
  } else if (bankId !== undefined) {
    if (accountNo !== undefined && accountNo.length > 32) {
      out.push({
        field: 'accountNo',
        rule: 'accountFormat',
        message: 'accountNo must be at most 32 digits',
      });
    }
    if (cciAccountNo === undefined) {
      if (!fields.given.has('cciAccountNo'))
        out.push({
          field: 'cciAccountNo',
          rule: 'required',
          message: `cciAccountNo (the 20-digit CCI) is required for PEN payouts to banks other than bankIds 1-4 (bankId ${bankId})`,
        });
    } else {
      checkCci(cciAccountNo, bankId, out);
    }
  }

  if (idType !== undefined) {
    const document = ID_DOCUMENTS[idType];
    if (!document) {
      out.push({
        field: 'idType',
        rule: 'idType',
        message: 'idType must be 1 (DNI), 2 (PAS), 3 (CE) or 4 (RUC) for PEN',
      });
    } else if (idCard !== undefined && !document.pattern.test(idCard)) {
      out.push({
        field: 'idCard',
        rule: 'idFormat',
        message: `idCard for ${document.name} (idType ${idType}) must be ${document.text}`,
      });
    }
  }
  return out;
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
  accountTypes: {
    [CORRIENTE]: 'Corriente (checking)',
    [AHORRO]: 'Ahorro (savings)',
  },
  banks: PERU_BANKS,
  check: checkPeru,
};

import { isValidClabe } from './clabe';
import { brokenRules, type PayoutFieldError, type ReportBroken } from '../payout.errors';
import type { MarketBank, MarketPayoutFields, PayoutMarket } from './payout-market.interface';

/**
 * Mexico's SPEI payout banks (one published version of Cashy's Mexico appendix). `bankCode` is the
 * SPEI participant key; its last three digits are the bank prefix of the participant's CLABEs.
 */
const MEXICO_BANKS: readonly MarketBank[] = (
  [
    [5, '91812', 'BBVA BANCOMER2'],
    [6, '91802', 'BANAMEX2'],
    [7, '90903', 'CoDi Valida'],
    [8, '90902', 'INDEVAL'],
    [10, '90706', 'ARCUS'],
    [11, '90689', 'FOMPED'],
    [12, '90686', 'INVERCAP'],
    [13, '90685', 'FONDO (FIRA)'],
    [15, '90683', 'CAJA TELEFONIST'],
    [16, '90680', 'CRISTOBAL COLON'],
    [17, '90677', 'CAJA POP MEXICA'],
    [18, '90670', 'LIBERTAD'],
    [19, '90659', 'ASP INTEGRA OPC'],
    [20, '90656', 'UNAGRA'],
    [21, '90653', 'KUSPIT'],
    [22, '90652', 'CREDICAPITAL'],
    [24, '90646', 'STP'],
    [25, '90638', 'AKALA'],
    [26, '90634', 'FINCOMUN'],
    [27, '90631', 'CI BOLSA'],
    [28, '90630', 'CB INTERCAM'],
    [29, '90620', 'PROFUTURO'],
    [30, '90617', 'VALMEX'],
    [31, '90616', 'FINAMEX'],
    [32, '90613', 'MULTIVA CBOLSA'],
    [33, '90608', 'VECTOR'],
    [34, '90605', 'VALUE'],
    [35, '90602', 'MASARI'],
    [36, '90601', 'GBM'],
    [37, '90600', 'MONEXCB'],
    [38, '40160', 'BANCO S3'],
    [39, '40158', 'MIZUHO BANK'],
    [40, '40157', 'SHINHAN'],
    [41, '40156', 'SABADELL'],
    [42, '40155', 'ICBC'],
    [43, '40154', 'BANCO COVALTO'],
    [44, '40152', 'BANCREA'],
    [45, '40151', 'DONDE'],
    [46, '40150', 'INMOBILIARIO'],
    [47, '40148', 'PAGATODO'],
    [48, '40147', 'BANKAOOL'],
    [49, '40145', 'BBASE'],
    [50, '40143', 'CIBANCO'],
    [51, '40141', 'VOLKSWAGEN'],
    [52, '40140', 'CONSUBANCO'],
    [53, '40138', 'ABC CAPITAL'],
    [54, '40137', 'BANCOPPEL'],
    [55, '40136', 'INTERCAM BANCO'],
    [56, '40133', 'ACTINVER'],
    [57, '40132', 'MULTIVA BANCO'],
    [58, '40130', 'COMPARTAMOS'],
    [59, '40129', 'BARCLAYS'],
    [60, '40128', 'AUTOFIN'],
    [61, '40127', 'AZTECA'],
    [62, '40126', 'CREDIT SUISSE'],
    [63, '40113', 'VE POR MAS'],
    [64, '40112', 'BMONEX'],
    [65, '40110', 'JP MORGAN'],
    [66, '40108', 'MUFG'],
    [67, '40106', 'BANK OF AMERICA'],
    [68, '40072', 'BANORTE'],
    [69, '40062', 'AFIRME'],
    [70, '40060', 'BANSI'],
    [71, '40059', 'INVEX'],
    [72, '40058', 'BANREGIO'],
    [73, '40044', 'SCOTIABANK'],
    [74, '40042', 'MIFEL'],
    [75, '40036', 'INBURSA'],
    [76, '40030', 'BAJIO'],
    [77, '40021', 'HSBC'],
    [78, '40014', 'SANTANDER'],
    [79, '40012', 'BBVA MEXICO'],
    [80, '40002', 'BANAMEX'],
    [81, '37168', 'HIPOTECARIA FED'],
    [83, '37135', 'NAFIN'],
    [84, '37019', 'BANJERCITO'],
    [85, '37009', 'BANOBRAS'],
    [86, '37006', 'BANCOMEXT'],
    [87, '2001', 'BANXICO'],
    [88, '40159', 'BANK OF CHINA'],
    [89, '90642', 'REFORMA'],
    [92, '90703', 'TESORED'],
    [93, '90710', 'NVIO'],
    [94, '37166', 'BANSEFI'],
    [95, '90661', 'ALTERNATIVOS'],
  ] as const
).map(([bankId, bankCode, bankName]) => ({ bankId, bankCode, bankName }));

const CARD_OR_ACCOUNT = 3;
const CLABE = 40;
const STP_BANK_ID = 24;

/** The 3-digit CLABE prefix of a SPEI participant (`40012` → `012`, `2001` → `001`). */
function clabePrefix(bank: MarketBank): string {
  return bank.bankCode.padStart(5, '0').slice(-3);
}

const BANKS_BY_ID = new Map(MEXICO_BANKS.map((bank) => [bank.bankId, bank]));

/** A CLABE's check digit, then its bank prefix against `bankId`'s. */
function checkClabe(accountNo: string, bankId: number | undefined, broken: ReportBroken): void {
  const bank = bankId === undefined ? undefined : BANKS_BY_ID.get(bankId);
  if (!isValidClabe(accountNo))
    broken(
      'accountNo',
      'clabeCheckDigit',
      'accountNo must be an 18-digit CLABE with a valid check digit (accountType 40)',
    );
  else if (bank && accountNo.slice(0, 3) !== clabePrefix(bank))
    broken(
      'accountNo',
      'clabeBankMatch',
      `accountNo is a CLABE of bank prefix ${accountNo.slice(0, 3)}, which does not match bankId ${bankId} (${bank.bankName}, prefix ${clabePrefix(bank)})`,
    );
}

function checkMexico(fields: MarketPayoutFields): PayoutFieldError[] {
  const [errors, broken] = brokenRules();
  const { accountNo, accountType, bankId, idType, idCard } = fields;
  if (fields.given.has('cciAccountNo'))
    broken('cciAccountNo', 'notAllowed', 'cciAccountNo is a Peruvian field; leave it out for MXN');
  if (accountType !== undefined && accountType !== CARD_OR_ACCOUNT && accountType !== CLABE)
    broken(
      'accountType',
      'accountType',
      'accountType must be 3 (16-digit card/account) or 40 (18-digit CLABE) for MXN',
    );
  if (bankId === STP_BANK_ID && accountType === CARD_OR_ACCOUNT)
    broken(
      'accountType',
      'stpClabeOnly',
      'accountType must be 40 (CLABE) for STP (bankId 24), which accepts CLABE only',
    );
  if (accountNo !== undefined && accountType === CARD_OR_ACCOUNT && accountNo.length !== 16)
    broken(
      'accountNo',
      'accountFormat',
      `accountNo has ${accountNo.length} digits; accountType 3 needs a 16-digit card/account number`,
    );
  if (accountNo !== undefined && accountType === CLABE) checkClabe(accountNo, bankId, broken);
  if (idType !== undefined && idType.length > 32)
    broken('idType', 'maxLength', 'idType must be at most 32 characters');
  if (idCard !== undefined && !/^[A-Za-z0-9]{1,32}$/.test(idCard))
    broken('idCard', 'idFormat', 'idCard must be 1 to 32 letters or digits');
  return errors;
}

/** Mexico: MXN over SPEI, to a 16-digit card/account or an 18-digit CLABE, whole pesos only. */
export const MEXICO_MARKET: PayoutMarket = {
  currency: 'MXN',
  country: 'Mexico',
  amountScale: 0,
  defaultLimits: { min: '40', max: '15000' },
  accountNameMaxLength: 40,
  idRequired: false,
  allowsSuccessReversal: true,
  accountTypes: {
    [CARD_OR_ACCOUNT]: 'Bank card / account number (16 digits)',
    [CLABE]: 'CLABE (18 digits)',
  },
  banks: MEXICO_BANKS,
  check: checkMexico,
};

/** Currencies (and so markets) the module pays out in. */
export type PayoutCurrency = 'PEN' | 'MXN';

/** Every payout currency, in a fixed order. */
export const PAYOUT_CURRENCIES: readonly PayoutCurrency[] = ['PEN', 'MXN'];

/** Cashy's payout order statuses. */
export type PayoutStatus = 'PROCESSING' | 'WAITING' | 'PAYING' | 'SUCCESS' | 'FAIL' | 'CANCEL';

/** Statuses after which Cashy's answer is definite. */
export const FINAL_PAYOUT_STATUSES: readonly PayoutStatus[] = ['SUCCESS', 'FAIL', 'CANCEL'];

/** Statuses of an order still on its way. */
export const IN_PROGRESS_PAYOUT_STATUSES: readonly PayoutStatus[] = [
  'PROCESSING',
  'WAITING',
  'PAYING',
];

/** Every status Cashy documents. */
export const PAYOUT_STATUSES: readonly PayoutStatus[] = [
  ...IN_PROGRESS_PAYOUT_STATUSES,
  ...FINAL_PAYOUT_STATUSES,
];

/** True for `SUCCESS`, `FAIL` and `CANCEL`. */
export function isFinalPayoutStatus(status: PayoutStatus): boolean {
  return FINAL_PAYOUT_STATUSES.includes(status);
}

/**
 * `resultDesc` codes Cashy documents for Peru and Mexico. The type stays open (`string & {}`)
 * because Cashy's list is longer than what it publishes.
 */
export type PayoutResultDesc =
  | 'SUCCESS'
  | 'ACCOUNT_NOT_EXIST'
  | 'ACCOUNT_FREEZING'
  | 'ACCOUNT_BLOCKED'
  | 'ACCOUNT_CANCEL'
  | 'CLABE_INSTITUTION_NOT_MATCH'
  | 'INVALID_BANK_INSTITUTION'
  | 'INVALID_CCI'
  | 'COMPLIANCE_REJECT'
  | 'REJECT_BY_PLD'
  | 'MCH_NOT_KNOW_PAYMENT'
  | 'AMOUNT_ERROR'
  | 'UNKNOWN_ERROR'
  | (string & {});

/** A payout order as the module returns it, normalized from whatever types the gateway sent. */
export interface PayoutOrder {
  /** Cashy merchant id, always a string. */
  merchantId: string;
  /** Your order number (the idempotency key). */
  mchOrderNo: string;
  /** Cashy's order number (`PAYOUT…`). */
  orderNo: string;
  /** Currency, when the module knows it (from the request or the account). */
  currency?: PayoutCurrency;
  /** Decimal string at the market's scale (`"150.50"`, `"1500"`), or `null`. */
  amount: string | null;
  /** Decimal string at the market's scale, or `null` while Cashy has not set it. */
  fee: string | null;
  /** One of the six statuses, or an undocumented one exactly as Cashy sent it (never read as a failure). */
  orderStatus: PayoutStatus | (string & {});
  /** `yyyy-MM-dd HH:mm:ss` in the market's local time as Cashy sent it, or `null`. */
  completionTime: string | null;
  resultDesc?: PayoutResultDesc;
  channelOrderNo?: string;
}

/** One bank of the payout bank list. */
export interface PayoutBank {
  bankId: number;
  bankCode: string;
  bankName: string;
}

/** The merchant's balance as Cashy reports it, as decimal strings. */
export interface PayoutBalance {
  merchantId: string;
  balance: string;
  unBalance: string;
}

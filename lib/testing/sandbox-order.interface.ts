import type { PayoutCurrency, PayoutStatus } from '../interfaces/payout-types.interface';
import type { CashyPayOutBody } from '../validation/create-payout.rules';
import type { SandboxOutcome } from './sandbox-triggers';

/** One status change of a sandbox order. */
export interface SandboxOrderEvent {
  orderStatus: PayoutStatus;
  resultDesc: string | null;
  /** `Date.now()` of the change. */
  at: number;
}

/** A payout order held by the sandbox (the getters return copies; change orders with `settle()`/`reverse()`). */
export interface SandboxOrder {
  /** Cashy's order number: `PAYOUT` + 19 digits, increasing. */
  orderNo: string;
  mchOrderNo: string;
  merchantId: string;
  currency: PayoutCurrency;
  /** Decimal string at the market's scale (`'150.50'`, `'1500'`). */
  amount: string;
  /** The fee charged; the API shows it only once the order is SUCCESS. */
  fee: string;
  orderStatus: PayoutStatus;
  resultDesc: string | null;
  /** `yyyy-MM-dd HH:mm:ss` in the market's local time while the order is SUCCESS, else `null`. */
  completionTime: string | null;
  notifyUrl: string;
  remark: string;
  /** What the remark asked for (see `SANDBOX_TRIGGERS`). */
  outcome: SandboxOutcome;
  /** True once a SUCCESS was returned (SPEI return, MXN only). */
  reversed: boolean;
  /** The create fields as accepted (validated and normalized, without `nonceStr`). */
  request: CashyPayOutBody;
  /** `Date.now()` of creation. */
  createdAt: number;
  /** Every status the order has had, oldest first (starts with PROCESSING). */
  history: SandboxOrderEvent[];
}

import type { PayoutStatus } from '../payout.types';
import type { CashyPayOutBody } from '../validation/create-payout.rules';
import { formatCompletionTime, fromCents, SANDBOX_FEES, toCents } from './sandbox-conventions';
import type { SandboxAccountState } from './sandbox-options.resolver';
import type { SandboxOrder } from './sandbox.types';
import { buildNotification } from './sandbox-helpers';
import { outcomeOfRemark } from './sandbox-triggers';

/** `resultDesc` of a SUCCESS the merchant balance cannot cover (a code Cashy uses on other markets). */
const INSUFFICIENT_BALANCE_DESC = 'MERCHANT_BALANCE_NOT_ENOUGH';
const ORDER_NO_DIGITS = 19;
const merchantOrderKey = (merchantId: string, mchOrderNo: string) =>
  `${merchantId}\u0000${mchOrderNo}`;

/**
 * The sandbox's books: orders and balances. Every method is synchronous, so concurrent requests can
 * never create the same order twice once the caller checks before `create`.
 */
export class SandboxLedger {
  private readonly orders = new Map<string, SandboxOrder>();
  /** The oldest order of each merchant and `mchOrderNo`. */
  private readonly byMchOrderNo = new Map<string, SandboxOrder>();
  // Start from the clock so numbers also increase across sandboxes of one process; then count.
  private lastOrderNo = BigInt(Date.now()) * 1_000_000n;

  constructor(readonly accounts: readonly SandboxAccountState[]) {}

  account(merchantId: string): SandboxAccountState | undefined {
    return this.accounts.find((account) => account.merchantId === merchantId);
  }

  /** Every order, oldest first (live objects: copy before handing out). */
  all(): SandboxOrder[] {
    return [...this.orders.values()];
  }

  /** Live object. */
  get(orderNo: string): SandboxOrder | undefined {
    return this.orders.get(orderNo);
  }

  /** The merchant's order with this `mchOrderNo` (the oldest, when uniqueness is not enforced). */
  byMerchantOrder(merchantId: string, mchOrderNo: string): SandboxOrder | undefined {
    return this.byMchOrderNo.get(merchantOrderKey(merchantId, mchOrderNo));
  }

  /** Books a new PROCESSING order (a repeat too: `byMerchantOrder` keeps answering the oldest). */
  create(account: SandboxAccountState, body: CashyPayOutBody, now: number): SandboxOrder {
    this.lastOrderNo += 1n;
    const order: SandboxOrder = {
      orderNo: `PAYOUT${this.lastOrderNo.toString().padStart(ORDER_NO_DIGITS, '0').slice(-ORDER_NO_DIGITS)}`,
      mchOrderNo: body.mchOrderNo,
      merchantId: account.merchantId,
      currency: body.currency,
      amount: body.amount,
      fee: SANDBOX_FEES[body.currency],
      orderStatus: 'PROCESSING',
      resultDesc: null,
      completionTime: null,
      notifyUrl: body.notifyUrl,
      remark: body.remark,
      outcome: outcomeOfRemark(body.remark, body.currency),
      reversed: false,
      request: { ...body },
      createdAt: now,
      history: [{ orderStatus: 'PROCESSING', resultDesc: null, at: now }],
    };
    this.orders.set(order.orderNo, order);
    const key = merchantOrderKey(account.merchantId, order.mchOrderNo);
    if (!this.byMchOrderNo.has(key)) this.byMchOrderNo.set(key, order);
    return order;
  }

  /**
   * Moves an order to `status`, returning the status reached: a SUCCESS debits amount + fee (FAIL
   * when the balance cannot cover it); leaving SUCCESS (SPEI return) credits both back.
   */
  transition(order: SandboxOrder, status: PayoutStatus, resultDesc: string | null, now: number) {
    const account = this.account(order.merchantId)!;
    // Amounts and fees were checked when the order was booked.
    const cost = toCents(order.amount)! + toCents(order.fee)!;
    if (status === 'SUCCESS') {
      if (account.balanceCents < cost) {
        status = 'FAIL';
        resultDesc = INSUFFICIENT_BALANCE_DESC;
      } else {
        account.balanceCents -= cost;
      }
    } else if (order.orderStatus === 'SUCCESS') {
      account.balanceCents += cost;
      order.reversed = true;
    }
    order.orderStatus = status;
    order.resultDesc = resultDesc;
    // Cashy: "fee and completionTime only have a value if the order is successfully paid".
    order.completionTime = status === 'SUCCESS' ? formatCompletionTime(now, order.currency) : null;
    order.history.push({ orderStatus: status, resultDesc, at: now });
    return status;
  }

  /** Available balance as a two-decimal string. */
  balance(account: SandboxAccountState): string {
    return fromCents(account.balanceCents);
  }
}

/** The order as payOutQuery answers it (the fee only once paid). */
export function queryView(order: SandboxOrder) {
  const { merchantId, mchOrderNo, orderNo, amount, orderStatus, completionTime, resultDesc } =
    order;
  const fee = orderStatus === 'SUCCESS' ? order.fee : null;
  return { merchantId, mchOrderNo, orderNo, amount, fee, orderStatus, completionTime, resultDesc };
}

/** The notification body for the order's current status (the same bytes for the same state). */
export function notificationBody(order: SandboxOrder): string {
  return buildNotification(queryView(order));
}

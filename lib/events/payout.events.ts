import type { PayoutResultDesc, PayoutStatus, PayoutCurrency } from '../payout.types';

/** Emitted the first time an order is reported `SUCCESS`. */
export const PAYOUT_SUCCEEDED = 'payout.succeeded' as const;

/** Emitted the first time an order is reported `FAIL` or `CANCEL`, and when a Mexican `SUCCESS` is reversed. */
export const PAYOUT_FAILED = 'payout.failed' as const;

/** Emitted once for a report the rules forbid (money-safety rule 7); no payout event is emitted for it. */
export const PAYOUT_ANOMALY = 'payout.anomaly' as const;

/**
 * Emitted once by the built-in reconciliation when a create of unknown outcome turns out, after the
 * re-send window, not to exist: send it again with the same `mchOrderNo`, or give up.
 */
export const PAYOUT_NOT_CREATED = 'payout.not_created' as const;

/** Fields every payout event carries. Amounts are decimal strings at the market's scale. */
export interface PayoutEventFields {
  merchantId: string;
  mchOrderNo: string;
  orderNo: string;
  channelOrderNo?: string;
  amount: string | null;
  fee: string | null;
  status: PayoutStatus;
  completionTime: string | null;
  resultDesc: PayoutResultDesc | null;
  /** The notification (or query answer) exactly as parsed from the gateway's bytes. */
  raw: Record<string, unknown>;
}

/** What `payout.succeeded` and `payout.failed` have in common. */
export abstract class PayoutEvent implements PayoutEventFields {
  readonly merchantId!: string;
  readonly mchOrderNo!: string;
  readonly orderNo!: string;
  readonly channelOrderNo?: string;
  readonly amount!: string | null;
  readonly fee!: string | null;
  readonly status!: PayoutStatus;
  readonly completionTime!: string | null;
  readonly resultDesc!: PayoutResultDesc | null;
  readonly raw!: Record<string, unknown>;

  protected constructor(fields: PayoutEventFields) {
    Object.assign(this, fields);
  }
}

/** Payload of `payout.succeeded`. */
export class PayoutSucceededEvent extends PayoutEvent {
  // `declare`: a redeclared field would be reset to undefined after super() assigned it.
  declare readonly status: 'SUCCESS';

  constructor(fields: PayoutEventFields & { status: 'SUCCESS' }) {
    super(fields);
  }
}

/** Payload of `payout.failed`. */
export class PayoutFailedEvent extends PayoutEvent {
  declare readonly status: 'FAIL' | 'CANCEL';
  /** Why it failed: Cashy's `resultDesc`. */
  readonly reason: PayoutResultDesc | null;
  /** True when this undoes an earlier `payout.succeeded` (a Mexican SPEI return). */
  readonly reversed: boolean;

  constructor(fields: PayoutEventFields & { status: 'FAIL' | 'CANCEL'; reversed: boolean }) {
    super(fields);
    this.reason = fields.resultDesc;
    this.reversed = fields.reversed;
  }
}

/**
 * What made a report an anomaly:
 * - `transition`: a change out of a final status the rules forbid (`FAIL → SUCCESS`, anything out
 *   of `CANCEL`, `SUCCESS → FAIL` outside Mexico or a second time);
 * - `merchant`: signed by another merchant than the one the order was created under, or a body
 *   whose `merchantId` is not the signer's;
 * - `mchOrderNo`: the `orderNo` is recorded under another `mchOrderNo`, or the `mchOrderNo` under another `orderNo`;
 * - `amount`: an amount other than the one the order was created with;
 * - `status`: an `orderStatus` Cashy does not document;
 * - `answer`: a create answer that disagrees with the request;
 * - `unresolved`: the built-in reconciliation gave up on a payout still open after its horizon.
 */
export type PayoutAnomalyKind =
  'transition' | 'merchant' | 'mchOrderNo' | 'amount' | 'status' | 'answer' | 'unresolved';

/** Fields of `PayoutAnomalyEvent`. */
export interface PayoutAnomalyFields {
  kind: PayoutAnomalyKind;
  merchantId: string;
  mchOrderNo: string;
  orderNo: string;
  previousStatus: PayoutStatus | null;
  status: string;
  reason: string;
  raw: Record<string, unknown>;
}

/** Payload of `payout.anomaly`. */
export class PayoutAnomalyEvent implements PayoutAnomalyFields {
  readonly kind: PayoutAnomalyKind;
  /** The merchant that signed the report (or the account a create answer came from). */
  readonly merchantId: string;
  readonly mchOrderNo: string;
  readonly orderNo: string;
  /** The order's status before this report, when known. */
  readonly previousStatus: PayoutStatus | null;
  /** The status the report carries, as received. */
  readonly status: string;
  /** A sentence for people: what differs from what. */
  readonly reason: string;
  /** The notification or answer exactly as parsed from the gateway's bytes. */
  readonly raw: Record<string, unknown>;

  constructor(fields: PayoutAnomalyFields) {
    this.kind = fields.kind;
    this.merchantId = fields.merchantId;
    this.mchOrderNo = fields.mchOrderNo;
    this.orderNo = fields.orderNo;
    this.previousStatus = fields.previousStatus;
    this.status = fields.status;
    this.reason = fields.reason;
    this.raw = fields.raw;
  }
}

/** Fields of `PayoutNotCreatedEvent`. */
export interface PayoutNotCreatedFields {
  merchantId: string;
  mchOrderNo: string;
  currency: PayoutCurrency;
  /** The amount that was sent, a decimal string at the market's scale. */
  amount: string;
}

/**
 * Payload of `payout.not_created`: a create whose outcome was unknown does not exist at the gateway,
 * and no attempt of it can land any more. The module never sends it again by itself.
 */
export class PayoutNotCreatedEvent implements PayoutNotCreatedFields {
  readonly merchantId: string;
  readonly mchOrderNo: string;
  readonly currency: PayoutCurrency;
  readonly amount: string;

  constructor(fields: PayoutNotCreatedFields) {
    this.merchantId = fields.merchantId;
    this.mchOrderNo = fields.mchOrderNo;
    this.currency = fields.currency;
    this.amount = fields.amount;
  }
}

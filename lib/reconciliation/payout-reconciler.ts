import { Inject, Injectable } from '@nestjs/common';
import { CASHY_ENDPOINTS } from '../client/cashy-protocol';
import { toPayoutOrder } from '../client/cashy-response.mapper';
import { PayoutClock } from '../clock/payout.clock';
import type { CashyAccount } from '../options/cashy-account';
import { PayoutConfig, type PayoutAccountSelector } from '../options/payout-config';
import {
  PayoutAttemptLedger,
  resendWindowOf,
  sameAmount,
  storeCall,
} from '../outcome/payout-attempt.ledger';
import { PayoutLookup } from '../outcome/payout-lookup';
import { PayoutOutcomeProcessor } from '../outcome/payout-outcome.processor';
import type { PayoutReportResult } from '../outcome/payout-status-report.interface';
import { PAYOUT_STORE } from '../payout.constants';
import { PayoutOutcomeUnknownError, PayoutValidationError } from '../payout.errors';
import {
  isFinalPayoutStatus,
  type PayoutCurrency,
  type PayoutOrder,
  type PayoutStatus,
} from '../payout.types';
import type {
  PayoutAttempt,
  PayoutNotCreatedNotice,
  PayoutStore,
} from '../store/payout-store.interface';
import type { QueryPayoutDto } from '../validation/query-payout.dto';
import { readReportContext } from '../store/report-context';
import { checkPayoutNotification } from '../validation/payout-notification.rules';
import { checkQueryPayout, type CashyPayOutQueryBody } from '../validation/query-payout.rules';

/** What reconciling one order found. */
export type ReconcileFinding =
  /**
   * The gateway has it: its status went through the state machine (`result`). `conflict`: why the
   * order answered is not this payout's own, when it is not.
   */
  | { kind: 'order'; order: PayoutOrder; result: PayoutReportResult; conflict?: string }
  /** Not created, and no create can land any more; `decided`: the attempt, if this call decided. */
  | { kind: 'not_created'; decided?: PayoutAttempt };

/**
 * Settles an order for `reconcile` and the sweep alike: looks it up and feeds the answer through
 * the same state machine as webhooks, or decides it was not created (rules 3, 5, 12 and 13).
 */
@Injectable()
export class PayoutReconciler {
  constructor(
    private readonly config: PayoutConfig,
    private readonly lookup: PayoutLookup,
    private readonly outcomes: PayoutOutcomeProcessor,
    private readonly attempts: PayoutAttemptLedger,
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    private readonly clock: PayoutClock,
  ) {}

  /**
   * Looks the order up and settles it. A "not found" outside the window records the attempt as not
   * created with `notice`, untracked unless a `payout.not_created` is owed. Rejects with
   * `PayoutOutcomeUnknownError` while a create may still land or a `createPayout` call holds it.
   */
  async settle(
    input: QueryPayoutDto,
    options: PayoutAccountSelector | undefined,
    notice: () => PayoutNotCreatedNotice,
  ): Promise<ReconcileFinding> {
    const { body, account, currency } = await this.prepareQuery(input, options);
    const { mchOrderNo } = body;
    const found = await this.lookup.withRetries(account, body);
    if (found.kind === 'failed') throw found.error;
    if (found.kind === 'absent') {
      const decided = await this.confirmAbsent(body, account, found, notice);
      // Told to the caller: untracked, unless a payout.not_created (decided here or before) is owed.
      if (mchOrderNo !== undefined) {
        const owed = decided ?? (await this.store.getAttempt(mchOrderNo).catch(() => undefined));
        if (owed?.notice?.state !== 'pending') await this.attempts.untrack(mchOrderNo);
      }
      return { kind: 'not_created', decided };
    }
    const order = toPayoutOrder(found.data, CASHY_ENDPOINTS.payOutQuery, { currency, mchOrderNo });
    // Read as a webhook's body, the mchOrderNo asked for standing in for a missing one.
    const { errors, report } = checkPayoutNotification(
      { mchOrderNo, ...found.data },
      account.merchantId,
    );
    if (!report)
      throw new PayoutOutcomeUnknownError(
        mchOrderNo ?? body.orderNo!,
        `the gateway answered the lookup with an order it does not describe (${errors.map((e) => e.message).join('; ')})`,
      );
    const result = await this.outcomes.apply({ ...report, currency });
    // A contradicting answer settles nothing: watched until the horizon hands it to a person.
    // Asked whatever `apply` did: a copy of another order's status may be a duplicate there.
    const conflict = await this.conflictOf(order);
    if (conflict || result === 'anomaly') return { kind: 'order', order, result, conflict };
    await this.attempts.markCreated(undefined, order.mchOrderNo, order.orderNo);
    // A Mexican success stays watched for a return; any other final status ends here.
    if (
      isFinalPayoutStatus(order.orderStatus as PayoutStatus) &&
      !this.attempts.watchesReturn(order.orderStatus, currency)
    )
      await this.attempts.untrack(order.mchOrderNo);
    return { kind: 'order', order, result };
  }

  /** Why `order` is not this payout's (another order, another amount), when the store says so. */
  private async conflictOf(order: PayoutOrder): Promise<string | undefined> {
    const { orderNo, mchOrderNo } = order;
    const { attempt, record, sibling } = await readReportContext(this.store, orderNo, mchOrderNo);
    if (attempt?.orderNo !== undefined && attempt.orderNo !== order.orderNo)
      return `the gateway answered with order ${order.orderNo}, and its create was answered with order ${attempt.orderNo}`;
    if (sibling && sibling.orderNo !== order.orderNo)
      return `the gateway answered with order ${order.orderNo}, and order ${sibling.orderNo} is known under its mchOrderNo`;
    if (record?.mchOrderNo !== undefined && record.mchOrderNo !== order.mchOrderNo)
      return `the gateway answered with order ${order.orderNo}, which is recorded under mchOrderNo ${record.mchOrderNo}`;
    // As for createPayout (rule 4): an order for another amount is not the payout that was sent.
    const sent = attempt?.amount ?? record?.amount;
    if (sent !== undefined && order.amount !== null && !sameAmount(sent, order.amount))
      return `the gateway answered with order ${order.orderNo} for ${order.amount}, and the payout was sent for ${sent}`;
    return undefined;
  }

  /**
   * Validates a query and picks its account (the one named, else the order's merchant, else the
   * currency's) and its currency, for the amounts' scale.
   */
  async prepareQuery(
    input: QueryPayoutDto,
    options?: PayoutAccountSelector,
  ): Promise<{ body: CashyPayOutQueryBody; account: CashyAccount; currency?: PayoutCurrency }> {
    const { errors, body, currency: requested } = checkQueryPayout(input);
    if (!body) throw new PayoutValidationError(errors);
    const known = await this.knownOrder(body);
    const currency = requested ?? known?.currency;
    const account =
      known?.merchantId && !options?.account
        ? this.config.selectAccount({ account: known.merchantId })
        : this.config.selectAccount(options, currency);
    return { body, account, currency: currency ?? account.soleCurrency };
  }

  /** The order's record, else its create attempt; nothing when the store fails. */
  private async knownOrder(
    body: CashyPayOutQueryBody,
  ): Promise<{ merchantId?: string; currency?: PayoutCurrency } | undefined> {
    try {
      if (body.orderNo) return await this.store.get(body.orderNo);
      return (
        (await this.store.findByMchOrderNo(body.mchOrderNo!)) ??
        (await this.store.getAttempt(body.mchOrderNo!))
      );
    } catch {
      return undefined;
    }
  }

  /**
   * The gateway does not have the order. It is not created only when nothing known says otherwise,
   * no create may still land (rule 3, by when the lookup was sent), no call holds it (rule 12), and
   * asked of its merchant: then recorded so with `notice`, in one compare-and-set (rule 13).
   * Resolves `undefined` when there is no attempt to decide on (none, or decided before).
   */
  private async confirmAbsent(
    body: CashyPayOutQueryBody,
    account: CashyAccount,
    { error, sentAt }: { error: Error; sentAt: number },
    notice: () => PayoutNotCreatedNotice,
  ): Promise<PayoutAttempt | undefined> {
    const record = body.orderNo
      ? await storeCall('get', () => this.store.get(body.orderNo!))
      : await storeCall('findByMchOrderNo', () => this.store.findByMchOrderNo(body.mchOrderNo!));
    const mchOrderNo = body.mchOrderNo ?? record?.mchOrderNo;
    const attempt =
      mchOrderNo === undefined
        ? undefined
        : await storeCall('getAttempt', () => this.store.getAttempt(mchOrderNo));
    const unknown = (reason: string) =>
      new PayoutOutcomeUnknownError(mchOrderNo ?? body.orderNo!, `${error.message}, but ${reason}`);
    if (record) throw unknown(`the gateway created order ${record.orderNo} earlier`);
    if (attempt?.state === 'rejected') return this.takeOverNotice(attempt, notice(), unknown);
    if (!attempt) return undefined;
    // A lookup by orderNo says nothing of other orders this mchOrderNo's create may have made.
    if (body.orderNo !== undefined)
      throw unknown(
        `the lookup asked for order ${body.orderNo}, which says nothing of the create of ${attempt.mchOrderNo}; reconcile by mchOrderNo alone`,
      );
    if (attempt.state === 'created')
      throw unknown(`the gateway answered its create with order ${attempt.orderNo ?? '?'}`);
    if (attempt.merchantId !== account.merchantId)
      throw unknown(
        `merchant ${account.merchantId} was asked, and the payout was sent from merchant ${attempt.merchantId}`,
      );
    if (sentAt < attempt.resendAfter)
      throw unknown(
        `its create may still land until ${new Date(attempt.resendAfter).toISOString()} (re-send window), and this lookup was sent at ${new Date(sentAt).toISOString()}`,
      );
    // A step of the store's clock since either time was read moves them by its size (rule 11).
    const margin = await this.clock.freshStepMargin(resendWindowOf(attempt));
    if (sentAt < attempt.resendAfter + margin)
      throw unknown(
        `the store's clock stepped by ${margin} ms lately; its re-send window is judged that much later`,
      );
    if (attempt.leaseUntil !== undefined && attempt.leaseUntil + margin > this.clock.now())
      throw unknown('a createPayout call is sending it right now');
    // Only the attempt checked above: another call may have written it since, to send it.
    const decided = await this.attempts.rejectIfUnchanged(attempt, notice());
    if (!decided) throw unknown('another call wrote its attempt meanwhile');
    return decided;
  }

  /**
   * An attempt found not created before: a `payout.not_created` still owed is taken over by
   * `reconcile` (notice `reconciled`) in one compare-and-set, so one channel tells the host (rule
   * 13); while its listeners run, nothing can be said yet.
   */
  private async takeOverNotice(
    attempt: PayoutAttempt,
    notice: PayoutNotCreatedNotice,
    unknown: (reason: string) => PayoutOutcomeUnknownError,
  ): Promise<PayoutAttempt | undefined> {
    if (attempt.notice?.state !== 'pending' || notice.state !== 'reconciled') return undefined;
    const claim = attempt.notice.claim;
    if (claim && (await this.clock.stillHeld(claim.expiresAt, claim.expiresAt - attempt.updatedAt)))
      throw unknown('its payout.not_created is being emitted right now');
    const decided = await this.attempts.rejectIfUnchanged(attempt, notice);
    if (!decided) throw unknown('another call wrote its attempt meanwhile');
    return decided;
  }
}

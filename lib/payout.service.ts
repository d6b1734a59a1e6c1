import { Inject, Injectable, Logger } from '@nestjs/common';
import { classifyCreateAnswer, CASHY_ENDPOINTS } from './client/cashy-protocol';
import { CashyHttpClient } from './client/cashy-http.client';
import { isAbsent, MCH_ORDER_NO } from './client/cashy-wire';
import { PayoutClock } from './clock/payout.clock';
import { toPayoutBalance, toPayoutBanks, toPayoutOrder } from './client/cashy-response.mapper';
import {
  type CashyApiError,
  errorMessage,
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutValidationError,
} from './payout.errors';
import { payoutDiagnostics } from './payout.diagnostics';
import type { CreatePayoutDto } from './validation/create-payout.dto';
import type { QueryPayoutDto } from './validation/query-payout.dto';
import {
  isFinalPayoutStatus,
  type PayoutBalance,
  type PayoutBank,
  type PayoutCurrency,
  type PayoutOrder,
  type PayoutStatus,
} from './payout.types';
import { marketOf } from './markets/payout-markets';
import type { CashyAccount } from './options/cashy-account';
import { PayoutConfig, type PayoutAccountSelector } from './options/payout-config';
import {
  type CreateProgress,
  type CreateRequest,
  PayoutAttemptLedger,
  sameAmount,
  storeCall,
  resendWindowOf,
} from './outcome/payout-attempt.ledger';
import { PayoutOutcomeProcessor } from './outcome/payout-outcome.processor';
import { otherOrder, PayoutLookup, postAttempt, type SentLookup } from './outcome/payout-lookup';
import { PayoutReconciler } from './reconciliation/payout-reconciler';
import type { PayoutReportResult } from './outcome/payout-status-report.interface';
import { PAYOUT_STORE } from './payout.constants';
import type {
  PayoutAttemptState,
  PayoutOpenCursor,
  PayoutStore,
} from './store/payout-store.interface';
import { checkCreatePayout, type CashyPayOutBody } from './validation/create-payout.rules';
import { checkPayoutNotification } from './validation/payout-notification.rules';

/** Per-call options of every `PayoutService` method. */
export type PayoutCallOptions = PayoutAccountSelector;

type CurrencyInput = { currency: PayoutCurrency };

/** A payout the module still watches (`PayoutService.listOpenPayouts`). */
export interface PayoutOpenPayout {
  mchOrderNo: string;
  /** Where the next page starts: pass it as `after`. */
  cursor: string;
  /** `'return'`: a Mexican `SUCCESS` watched for an SPEI return until `watchUntil`; else open. */
  watching?: 'return';
  watchUntil?: number;
  /** Epoch ms its create was first sent. */
  openedAt: number;
  /** Epoch ms of the built-in reconciliation's next check. */
  nextCheckAt: number;
  /** Where its create stands (`sending`, `unknown`, `created`), when the store still has it. */
  state?: PayoutAttemptState;
  orderNo?: string;
  merchantId?: string;
  currency?: PayoutCurrency;
  amount?: string;
}

/** One `createPayout` call: what it sends, from which account, and where it stands. */
interface CreateCall {
  account: CashyAccount;
  body: CashyPayOutBody;
  request: CreateRequest;
  progress: CreateProgress;
  /** The last "busy" answer: nothing was done (rule 1). */
  busy?: CashyApiError;
}

function requireCurrency(input: { currency?: unknown } | undefined): PayoutCurrency {
  const currency = input?.currency;
  if (!marketOf(currency))
    throw invalid('currency', 'currency', 'currency must be one of PEN, MXN');
  return currency as PayoutCurrency;
}

/** Sends payouts and reads them back. Every input is validated before anything is sent. */
@Injectable()
export class PayoutService {
  private readonly logger = new Logger('PayoutService');

  constructor(
    private readonly client: CashyHttpClient,
    private readonly config: PayoutConfig,
    private readonly outcomes: PayoutOutcomeProcessor,
    private readonly attempts: PayoutAttemptLedger,
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    private readonly clock: PayoutClock,
    private readonly lookup: PayoutLookup,
    private readonly reconciler: PayoutReconciler,
  ) {}

  /**
   * Creates a payout (`POST /api/payOut`) and never sends it twice while an earlier attempt may
   * still land. Resolves with the order; rejects with `PayoutValidationError` (nothing sent),
   * `CashyApiError` (definitely not created: a published rejection, or busy on every attempt),
   * `PayoutOrderConflictError` (this `mchOrderNo` holds another payout) or
   * `PayoutOutcomeUnknownError` (it may exist: settle it with `reconcile({ mchOrderNo })`).
   */
  async createPayout(input: CreatePayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder> {
    const { errors, body } = checkCreatePayout(input, {
      limits: this.config.limits,
      defaultNotifyUrl: this.config.notifyUrl,
    });
    if (!body) throw new PayoutValidationError(errors);
    const account = this.config.selectAccount(options, body.currency);
    this.logger.log(
      `payout ${body.mchOrderNo}: ${body.amount} ${body.currency} to bank ${body.bankId} account ${maskTail(body.accountNo)} (merchant ${account.merchantId})`,
    );
    const { mchOrderNo, currency, amount } = body;
    const request: CreateRequest = { mchOrderNo, merchantId: account.merchantId, currency, amount };
    const progress = await this.attempts.open(request);
    const call: CreateCall = { account, body, request, progress };
    // Rule 12: while this call runs, the attempt it sends holds a lease it renews.
    const releaseLease = this.attempts.holdLease(progress, mchOrderNo);
    try {
      return await this.sendUntilKnown(call);
    } catch (error) {
      if (
        !progress.uncertain ||
        error instanceof PayoutOutcomeUnknownError ||
        error instanceof PayoutOrderConflictError
      )
        throw error;
      // Rule 2: once an attempt may have landed, any failure (the store's included) means "unknown".
      throw this.outcomeUnknown(call, error);
    } finally {
      await releaseLease();
    }
  }

  /** The create loop: a lookup while the order may exist (`holdUntil`), else a send (rules 1-4). */
  private async sendUntilKnown(call: CreateCall): Promise<PayoutOrder> {
    const { account, progress } = call;
    const order = await this.client.retry(
      () =>
        progress.holdUntil !== undefined ? CASHY_ENDPOINTS.payOutQuery : CASHY_ENDPOINTS.payOut,
      account,
      (attempt) => this.createAttempt(call, attempt),
      (found) => (found ? undefined : progress.reason || (call.busy?.message ?? '')),
    );
    if (order) return order;
    // The budget is spent; one more look often turns "unknown" into an answer.
    if (progress.holdUntil !== undefined) return this.lastLook(call);
    if (progress.uncertain || !call.busy) throw this.outcomeUnknown(call);
    return this.reject(call, call.busy); // busy on every attempt: nothing was created
  }

  /** One turn of the create loop: the order once the gateway shows or creates it. */
  private async createAttempt(call: CreateCall, attempt: number): Promise<PayoutOrder | undefined> {
    const { body, progress } = call;
    if (progress.holdUntil !== undefined) {
      const order = await this.lookBeforeSending(call, attempt);
      if (order || progress.holdUntil !== undefined) return order;
    }
    if (!(await this.attempts.markSending(progress, call.request))) {
      await this.restartFromStore(call);
      return undefined;
    }
    const endpoint = CASHY_ENDPOINTS.payOut;
    const answer = await postAttempt(this.client, call.account, endpoint, body, attempt);
    const outcome = classifyCreateAnswer(answer, endpoint, this.config.messages);
    switch (outcome.kind) {
      case 'created': // rule 4: never sent again
        return this.acceptOrder(call, outcome.data, 'create');
      case 'busy': // rule 1: nothing was done; the attempt stays "sending" until the call ends
        call.busy = outcome.error;
        return undefined;
      case 'rejected':
        if (!progress.uncertain) return this.reject(call, outcome.error);
        // Rule 2: an earlier attempt may still land, so this is no proof that nothing was created.
        progress.reason = `${outcome.error.message}, after an attempt whose outcome is unknown`;
        break;
      case 'duplicate':
      case 'ambiguous': // rules 1 and 3: it may exist; look it up, never send it inside the window
        progress.uncertain = true;
        progress.reason =
          outcome.kind === 'duplicate'
            ? `${outcome.error.message} (the gateway says the order exists)`
            : outcome.reason;
        break;
    }
    progress.holdUntil = await this.attempts.markUnknown(progress, body.mchOrderNo);
    return undefined;
  }

  /**
   * Rules 3 and 5: a lookup while the order may exist. The order when the gateway shows it; clears
   * `holdUntil` (a send may follow) only on a "not found" sent after the window.
   */
  private async lookBeforeSending(
    call: CreateCall,
    attempt: number,
  ): Promise<PayoutOrder | undefined> {
    const { progress } = call;
    const found = await this.lookUpCreate(call, attempt);
    if (found.kind === 'found') return this.acceptOrder(call, found.data, 'lookup');
    if (found.kind === 'failed') {
      progress.reason = found.error.message;
      if (!found.retryable) throw this.outcomeUnknown(call);
      return undefined;
    }
    // Rule 3 counts from when the lookup left, however late its answer. Once the window looks over,
    // a fresh reading of the store's clock (only then) moves it by any step since.
    const holdUntil = progress.holdUntil!;
    if (
      found.sentAt < holdUntil ||
      found.sentAt <
        holdUntil + (await this.clock.freshStepMargin(resendWindowOf(progress.attempt)))
    )
      progress.reason = `the gateway does not show the order yet, and an earlier attempt may still land (re-send window ${this.config.resendWindowMs} ms)`;
    else progress.holdUntil = undefined;
    return undefined;
  }

  /**
   * Someone else wrote this mchOrderNo since: start again from the store, still uncertain if this
   * call was (rule 2). Found not created meanwhile, it sends nothing: whoever learned it may.
   */
  private async restartFromStore(call: CreateCall): Promise<void> {
    const { progress } = call;
    const fresh = await this.attempts.open(call.request);
    if (
      fresh.attempt?.state === 'rejected' &&
      (progress.uncertain || (progress.leaseToken !== undefined && fresh.attempt.notice))
    ) {
      progress.reason = `${progress.reason}; meanwhile it was found not created, so this call does not send it again`;
      throw this.outcomeUnknown(call);
    }
    Object.assign(progress, fresh, { uncertain: progress.uncertain || fresh.uncertain });
  }

  /** Reads one order (`POST /api/payOutQuery`); an unknown order raises `CashyApiError`. */
  async queryPayout(input: QueryPayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder> {
    const { body, account, currency } = await this.reconciler.prepareQuery(input, options);
    const data = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.payOutQuery, body);
    const { mchOrderNo } = body;
    return toPayoutOrder(data, CASHY_ENDPOINTS.payOutQuery, { currency, mchOrderNo });
  }

  /**
   * Queries the order and feeds the answer through the webhooks' state machine (its event emitted
   * once). Resolves with the order, or `null` when it was definitely not created (send it again with
   * the same `mchOrderNo`). Rejects with `PayoutOutcomeUnknownError` while a create may still land
   * (rule 3), `PayoutOrderConflictError` when the answer is not this payout's order (rule 7).
   */
  async reconcile(input: QueryPayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder | null> {
    const found = await this.reconciler.settle(input, options, () => ({ state: 'reconciled' }));
    if (found.kind === 'not_created') return null;
    // Never another payout's status for this one: the host would refund while its own may pay.
    const { order, conflict } = found;
    if (conflict) throw new PayoutOrderConflictError(order.mchOrderNo, order.orderNo, conflict);
    return order;
  }

  /**
   * The payouts still watched, oldest first: a page of at most `limit` (default 100, at most 1000)
   * after `after`, the `cursor` of the previous page's last payout.
   */
  async listOpenPayouts(
    page: { limit?: number; after?: string } = {},
  ): Promise<PayoutOpenPayout[]> {
    const limit = page.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw invalid('limit', 'range', 'limit must be a whole number from 1 to 1000');
    const after = page.after === undefined ? undefined : parseCursor(page.after);
    const entries = await storeCall('listOpen', () => this.store.listOpen(limit, after));
    return Promise.all(
      entries.map(async ({ mchOrderNo, openedAt, dueAt, watchUntil, merchantId }) => {
        const attempt = await storeCall('getAttempt', () => this.store.getAttempt(mchOrderNo));
        return {
          mchOrderNo,
          cursor: `${openedAt}~${mchOrderNo}`,
          ...(watchUntil !== undefined ? { watching: 'return' as const, watchUntil } : {}),
          openedAt,
          nextCheckAt: dueAt,
          state: attempt?.state,
          orderNo: attempt?.orderNo,
          merchantId: merchantId ?? attempt?.merchantId,
          currency: attempt?.currency,
          amount: attempt?.amount,
        };
      }),
    );
  }

  /** The account's payout banks (`POST /api/bankListQuery`). Cache it: it rarely changes. */
  async listBanks(input: CurrencyInput, options?: PayoutCallOptions): Promise<PayoutBank[]> {
    const account = this.config.selectAccount(options, requireCurrency(input));
    const data = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.bankListQuery, {});
    return toPayoutBanks(data, CASHY_ENDPOINTS.bankListQuery);
  }

  /** The account's balance (`POST /api/getBalance`). */
  async getBalance(input: CurrencyInput, options?: PayoutCallOptions): Promise<PayoutBalance> {
    const account = this.config.selectAccount(options, requireCurrency(input));
    const data = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.getBalance, {});
    return toPayoutBalance(data, CASHY_ENDPOINTS.getBalance, account.merchantId);
  }

  /**
   * Applies a notification already verified for `merchantId`, emitting its event once; resolves when
   * every listener succeeded. Rejects with `PayoutValidationError` when it identifies no outcome.
   */
  async handleNotification(body: unknown, merchantId: string): Promise<PayoutReportResult> {
    const { errors, report } = checkPayoutNotification(body, merchantId);
    if (!report) throw new PayoutValidationError(errors);
    report.currency = this.config.accountByMerchantId(merchantId)?.soleCurrency;
    return this.outcomes.apply(report);
  }

  private outcomeUnknown(call: CreateCall, cause?: unknown): PayoutOutcomeUnknownError {
    const { body, progress } = call;
    const reason =
      cause === undefined ? progress.reason : `${progress.reason}; then ${errorMessage(cause)}`;
    this.logger.warn(`payout ${body.mchOrderNo}: outcome unknown (${reason})`);
    payoutDiagnostics.outcomeUnknown(() => ({
      mchOrderNo: body.mchOrderNo,
      merchantId: progress.attempt?.merchantId ?? '',
      reason,
    }));
    return new PayoutOutcomeUnknownError(body.mchOrderNo, reason);
  }

  /**
   * Definitely not created: recorded so, untracked, and `error` thrown. If a webhook showed the order
   * meanwhile, no rejection: the order, looked up, or an unknown outcome (rule 2).
   */
  private async reject(call: CreateCall, error: CashyApiError): Promise<PayoutOrder> {
    const { body, progress } = call;
    const attempt = await this.attempts.markRejected(progress, body.mchOrderNo);
    if (attempt?.state !== 'created') {
      await this.attempts.untrack(body.mchOrderNo);
      throw error;
    }
    progress.uncertain = true;
    progress.reason = `the gateway refused an attempt, but reported the order ${progress.attempt?.orderNo ?? ''} meanwhile`;
    progress.orderNo ??= progress.attempt?.orderNo;
    return this.lastLook(call);
  }

  /** One look past the attempts' budget: the order when the gateway shows it, else "unknown". */
  private async lastLook(call: CreateCall): Promise<PayoutOrder> {
    const found = await this.lookUpCreate(call, this.config.retry.attempts + 1);
    if (found.kind === 'found') return this.acceptOrder(call, found.data, 'lookup');
    throw this.outcomeUnknown(call);
  }

  /** A lookup of the create's mchOrderNo, naming the order known for it, if any (rule 7). */
  private lookUpCreate(call: CreateCall, attempt: number): Promise<SentLookup> {
    const { mchOrderNo } = call.body;
    const { orderNo } = call.progress;
    const query = orderNo ? { mchOrderNo, orderNo } : { mchOrderNo };
    return this.lookup.once(call.account, query, attempt);
  }

  /**
   * An order the gateway shows for this `mchOrderNo` as the result (rule 4). Another mchOrderNo or
   * order is recorded nowhere, another amount is recorded; both emit `payout.anomaly` and reject
   * with `PayoutOrderConflictError`.
   */
  private async acceptOrder(
    call: CreateCall,
    data: Record<string, unknown>,
    source: 'create' | 'lookup',
  ): Promise<PayoutOrder> {
    const { account, body, progress, request } = call;
    const endpoint = source === 'create' ? CASHY_ENDPOINTS.payOut : CASHY_ENDPOINTS.payOutQuery;
    const { currency, mchOrderNo } = body;
    const order = toPayoutOrder(data, endpoint, { currency, mchOrderNo });
    const conflict = async (reason: string): Promise<never> => {
      await this.outcomes.reportAnomaly({
        kind: 'answer',
        merchantId: account.merchantId,
        mchOrderNo,
        orderNo: order.orderNo,
        status: order.orderStatus,
        reason,
        raw: data,
      });
      throw new PayoutOrderConflictError(mchOrderNo, order.orderNo, reason);
    };
    const other = otherOrder(data, { mchOrderNo, orderNo: progress.orderNo });
    if (other) {
      // Not this payout's order: whether ours was created is still unknown.
      if (source === 'create')
        progress.holdUntil = await this.attempts.markUnknown(progress, mchOrderNo);
      return conflict(`the ${source} ${other}`);
    }
    const known = await this.recordCreated(call, order.orderNo);
    if (known !== undefined)
      return conflict(
        `the ${source} answer names order ${order.orderNo}, and order ${known} was reported under this mchOrderNo`,
      );
    // Its merchant, market and amount for later reports: a failure costs only that.
    await this.outcomes
      .remember({ ...request, orderNo: order.orderNo })
      .catch((error: unknown) =>
        this.logger.warn(
          `payout ${mchOrderNo}: could not record it in the store (${(error as Error).message})`,
        ),
      );
    // Watched until its outcome is emitted: a final status here is checked by the sweep at once.
    const final = isFinalPayoutStatus(order.orderStatus as PayoutStatus);
    const firstCheckMs = this.config.reconciliationPolicy.firstCheckMs;
    await this.attempts.track(mchOrderNo, this.clock.now() + (final ? 0 : firstCheckMs));
    if (!isAbsent(data.amount) && !sameAmount(data.amount, body.amount))
      return conflict(
        `the ${source} answer says ${String(data.amount)} ${currency} where ${body.amount} was asked for`,
      );
    return order;
  }

  /**
   * Records the create as created (in the background, under the call's lease, if the store fails)
   * and resolves with another order known under its mchOrderNo, if any (rule 7).
   */
  private async recordCreated(call: CreateCall, orderNo: string): Promise<string | undefined> {
    const { mchOrderNo } = call.body;
    const stored = await this.attempts
      .markCreated(call.progress, mchOrderNo, orderNo)
      .catch((error: unknown) => {
        this.logger.warn(
          `payout ${mchOrderNo}: could not record its create as created yet (${(error as Error).message}); retrying`,
        );
        this.attempts.recordCreatedLater(call.progress, mchOrderNo, orderNo);
        return undefined;
      });
    const reported = await this.store.findByMchOrderNo(mchOrderNo).catch(() => undefined);
    return [stored?.orderNo, reported?.orderNo].find(
      (known) => known !== undefined && known !== orderNo,
    );
  }
}

/** A `listOpenPayouts` cursor (`<openedAt>~<mchOrderNo>`; `~` is never in an mchOrderNo). */
function parseCursor(after: string): PayoutOpenCursor {
  const match = /^(\d{1,16})~(.*)$/.exec(after);
  if (!match || !MCH_ORDER_NO.test(match[2]))
    throw invalid(
      'after',
      'cursor',
      'after must be the cursor of the last payout of the previous page',
    );
  return { openedAt: Number(match[1]), mchOrderNo: match[2] };
}

/** Input that broke one rule: rejected before anything is sent. */
function invalid(field: string, rule: string, message: string): PayoutValidationError {
  return new PayoutValidationError([{ field, rule, message }]);
}

/** An account number for logs: its last 4 characters only (`****6813`). */
function maskTail(value: string): string {
  return value.length <= 4 ? '****' : `****${value.slice(-4)}`;
}

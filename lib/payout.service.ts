import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  classifyCreateAnswer,
  type CreateAttemptOutcome,
  CASHY_ENDPOINTS,
} from './client/cashy-protocol';
import { CashyHttpClient } from './client/cashy-http.client';
import { isAbsent, MCH_ORDER_NO } from './client/cashy-wire';
import { PayoutClock } from './clock/payout.clock';
import { toPayoutBalance, toPayoutBanks, toPayoutOrder } from './client/cashy-response.mapper';
import {
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutValidationError,
} from './payout.errors';
import { payoutDiagnostics } from './payout.diagnostics';
import type { CreatePayoutDto } from './validation/create-payout.dto';
import type { QueryPayoutDto } from './validation/query-payout.dto';
import type { CashyApiError } from './payout.errors';
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
import {
  asTransportError,
  otherOrder,
  PayoutLookup,
  type SentLookup,
} from './outcome/payout-lookup';
import { PayoutReconciler } from './reconciliation/payout-reconciler';
import type { PayoutReportResult } from './outcome/payout-status-report.interface';
import { PAYOUT_STORE } from './payout.constants';
import { RECONCILIATION_DEFAULTS } from './reconciliation/payout-reconciliation.options';
import type {
  PayoutAttemptState,
  PayoutOpenCursor,
  PayoutStore,
} from './store/payout-store.interface';
import { checkCreatePayout, type CashyPayOutBody } from './validation/create-payout.rules';
import { checkPayoutNotification } from './validation/payout-notification.rules';

/** Per-call options of every `PayoutService` method. */
export type PayoutCallOptions = PayoutAccountSelector;

/** A payout the module still watches (`PayoutService.listOpenPayouts`). */
export interface PayoutOpenPayout {
  mchOrderNo: string;
  /** Where the next page starts: pass it as `after`. */
  cursor: string;
  /**
   * `'return'`: not open, a Mexican `SUCCESS` watched for an SPEI return until `watchUntil`
   * (`reconciliation.returnWatchMs`); absent for a payout still open.
   */
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

function requireCurrency(input: { currency?: unknown } | undefined): PayoutCurrency {
  const currency = input?.currency;
  if (!marketOf(currency)) {
    throw new PayoutValidationError([
      {
        field: 'currency',
        rule: 'currency',
        message: 'currency must be one of PEN, MXN',
      },
    ]);
  }
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

    const request: CreateRequest = {
      mchOrderNo: body.mchOrderNo,
      merchantId: account.merchantId,
      currency: body.currency,
      amount: body.amount,
    };
    const progress = await this.attempts.open(request);
    // Rule 12: while this call runs, the attempt it sends holds a lease it renews.
    const releaseLease = this.attempts.holdLease(progress, body.mchOrderNo);
    try {
      return await this.sendUntilKnown(account, body, request, progress);
    } catch (error) {
      if (
        !progress.uncertain ||
        error instanceof PayoutOutcomeUnknownError ||
        error instanceof PayoutOrderConflictError
      )
        throw error;
      // Rule 2: once an attempt may have landed, any failure (the store's included) means "unknown".
      throw this.outcomeUnknown(body, progress, error);
    } finally {
      await releaseLease();
    }
  }

  /**
   * The create loop. Each attempt is a lookup while the order may exist (`holdUntil`), else a send
   * whose classified answer decides what comes next (rules 1 to 4).
   */
  private async sendUntilKnown(
    account: CashyAccount,
    body: CashyPayOutBody,
    request: CreateRequest,
    progress: CreateProgress,
  ): Promise<PayoutOrder> {
    let busy: CashyApiError | undefined;
    for (let attempt = 1; attempt <= this.config.retry.attempts; attempt++) {
      if (attempt > 1) {
        const endpoint =
          progress.holdUntil !== undefined ? CASHY_ENDPOINTS.payOutQuery : CASHY_ENDPOINTS.payOut;
        payoutDiagnostics.retry(() => ({
          endpoint,
          merchantId: account.merchantId,
          attempt,
          reason: progress.reason || (busy?.message ?? ''),
        }));
        await this.client.backoff(attempt - 1);
      }
      if (progress.holdUntil !== undefined) {
        // Rules 3 and 5: look first; only a real "not found" after the window allows a new send.
        const found = await this.lookUpCreate(account, body, progress, attempt);
        if (found.kind === 'found')
          return this.acceptOrder(found.data, account, body, 'lookup', progress);
        if (found.kind === 'failed') {
          progress.reason = found.error.message;
          if (!found.retryable) throw this.outcomeUnknown(body, progress);
          continue;
        }
        // Rule 3 counts from when the lookup left: one sent inside the window proves nothing, however late its answer.
        // Once the window looks over, on a fresh reading of the store's clock (one more round trip,
        // only then): a step since moves the window by its size.
        if (
          found.sentAt < progress.holdUntil ||
          found.sentAt <
            progress.holdUntil +
              (await this.clock.freshStepMargin(resendWindowOf(progress.attempt)))
        ) {
          progress.reason = `the gateway does not show the order yet, and an earlier attempt may still land (re-send window ${this.config.resendWindowMs} ms)`;
          continue;
        }
        progress.holdUntil = undefined;
      }
      if (!(await this.attempts.markSending(progress, request))) {
        await this.restartFromStore(body, request, progress);
        continue;
      }
      const outcome = await this.sendCreate(account, body, attempt);
      switch (outcome.kind) {
        case 'created': // rule 4: never sent again
          return this.acceptOrder(outcome.data, account, body, 'create', progress);
        case 'busy': // rule 1: nothing was done; the attempt stays "sending" until the call ends
          busy = outcome.error;
          break;
        case 'rejected':
          if (progress.uncertain) {
            // Rule 2: an earlier attempt may still land, so this is no proof that nothing was created.
            progress.reason = `${outcome.error.message}, after an attempt whose outcome is unknown`;
            progress.holdUntil = await this.attempts.markUnknown(progress, body.mchOrderNo);
            break;
          }
          if (!(await this.settleRejected(progress, body.mchOrderNo)))
            return this.resolveShownOrder(account, body, progress);
          throw outcome.error;
        case 'duplicate':
        case 'ambiguous': // rules 1 and 3: it may exist; look it up, never send it inside the window
          progress.uncertain = true;
          progress.reason =
            outcome.kind === 'duplicate'
              ? `${outcome.error.message} (the gateway says the order exists)`
              : outcome.reason;
          progress.holdUntil = await this.attempts.markUnknown(progress, body.mchOrderNo);
          break;
      }
    }
    if (progress.holdUntil !== undefined) {
      // The budget is spent; one more look often turns "unknown" into an answer.
      const order = await this.lastLook(account, body, progress);
      if (order) return order;
    }
    if (progress.uncertain || progress.holdUntil !== undefined || !busy)
      throw this.outcomeUnknown(body, progress);
    // Busy on every attempt: nothing was created.
    if (!(await this.settleRejected(progress, body.mchOrderNo)))
      return this.resolveShownOrder(account, body, progress);
    throw busy;
  }

  /**
   * Another call (or a webhook, or a sweep) wrote this mchOrderNo since this call last did: start
   * again from what the store says, still uncertain if this call was (rule 2). Found not created
   * meanwhile (`payout.not_created`, or `reconcile()` → `null`), it sends nothing more: whoever
   * learned that may send it again.
   */
  private async restartFromStore(
    body: CashyPayOutBody,
    request: CreateRequest,
    progress: CreateProgress,
  ): Promise<void> {
    const fresh = await this.attempts.open(request);
    if (
      fresh.attempt?.state === 'rejected' &&
      (progress.uncertain || (progress.leaseToken !== undefined && fresh.attempt.notice))
    ) {
      progress.reason = `${progress.reason}; meanwhile it was found not created, so this call does not send it again`;
      throw this.outcomeUnknown(body, progress);
    }
    Object.assign(progress, fresh, { uncertain: progress.uncertain || fresh.uncertain });
  }

  /** Reads one order (`POST /api/payOutQuery`); an order the gateway does not know raises `CashyApiError`. */
  async queryPayout(input: QueryPayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder> {
    const { body, account, currency } = await this.reconciler.prepareQuery(input, options);
    const data = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.payOutQuery, body);
    return toPayoutOrder(data, CASHY_ENDPOINTS.payOutQuery, {
      currency,
      mchOrderNo: body.mchOrderNo,
    });
  }

  /**
   * Settles what the host does not know yet: queries the order and feeds the answer through the same
   * state machine and store as webhooks, so its event is emitted exactly once whichever of the query
   * and the webhook comes first. Resolves with the order once any listener has run, or with `null`
   * when the gateway definitely does not have it and no create of it may still land: the create may
   * then be sent again with the same `mchOrderNo`. Rejects with `PayoutOutcomeUnknownError` while
   * an earlier create may still land (money-safety rule 3), and with `PayoutOrderConflictError` when
   * the gateway answers with an order that is not this payout's (rule 7).
   */
  async reconcile(input: QueryPayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder | null> {
    const found = await this.reconciler.settle(input, options, () => ({
      state: 'reconciled',
    }));
    if (found.kind === 'not_created') return null;
    // Never another payout's status for this one: the host would refund while its own order may pay.
    if (found.conflict)
      throw new PayoutOrderConflictError(
        found.order.mchOrderNo,
        found.order.orderNo,
        found.conflict,
      );
    return found.order;
  }

  /**
   * The payouts the module still watches (a create of unknown outcome, or an order not yet final),
   * oldest first, a page of at most `limit` (default 100, at most 1000) after `after`: the `cursor`
   * of the last payout of the previous page, which stays valid when that payout settles meanwhile.
   * The built-in reconciliation settles them by itself.
   */
  async listOpenPayouts(
    page: { limit?: number; after?: string } = {},
  ): Promise<PayoutOpenPayout[]> {
    const limit = page.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new PayoutValidationError([
        {
          field: 'limit',
          rule: 'range',
          message: 'limit must be a whole number from 1 to 1000',
        },
      ]);
    }
    const after = page.after === undefined ? undefined : parseCursor(page.after);
    const entries = await storeCall('listOpen', () => this.store.listOpen(limit, after));
    return Promise.all(
      entries.map(async (entry) => {
        const attempt = await storeCall('getAttempt', () =>
          this.store.getAttempt(entry.mchOrderNo),
        );
        return {
          mchOrderNo: entry.mchOrderNo,
          cursor: `${entry.openedAt}~${entry.mchOrderNo}`,
          ...(entry.watchUntil !== undefined
            ? { watching: 'return' as const, watchUntil: entry.watchUntil }
            : {}),
          openedAt: entry.openedAt,
          nextCheckAt: entry.dueAt,
          state: attempt?.state,
          orderNo: attempt?.orderNo,
          merchantId: entry.merchantId ?? attempt?.merchantId,
          currency: attempt?.currency,
          amount: attempt?.amount,
        };
      }),
    );
  }

  /** The account's payout banks (`POST /api/bankListQuery`). Cache it: it rarely changes. */
  async listBanks(
    input: { currency: PayoutCurrency },
    options?: PayoutCallOptions,
  ): Promise<PayoutBank[]> {
    const account = this.config.selectAccount(options, requireCurrency(input));
    const data = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.bankListQuery, {});
    return toPayoutBanks(data, CASHY_ENDPOINTS.bankListQuery);
  }

  /** The account's balance (`POST /api/getBalance`). */
  async getBalance(
    input: { currency: PayoutCurrency },
    options?: PayoutCallOptions,
  ): Promise<PayoutBalance> {
    const account = this.config.selectAccount(options, requireCurrency(input));
    const data = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.getBalance, {});
    return toPayoutBalance(data, CASHY_ENDPOINTS.getBalance, account.merchantId);
  }

  /**
   * Applies a notification whose signature was already verified (by `PayoutSignatureGuard`) for the
   * account `merchantId`: dedupes it, checks it against what is recorded, runs the state machine and
   * emits its event once. Resolves when every listener has succeeded; rejects with
   * `PayoutValidationError` for a body that does not identify an outcome.
   */
  async handleNotification(body: unknown, merchantId: string): Promise<PayoutReportResult> {
    const { errors, report } = checkPayoutNotification(body, merchantId);
    if (!report) throw new PayoutValidationError(errors);
    report.currency = this.config.accountByMerchantId(merchantId)?.soleCurrency;
    return this.outcomes.apply(report);
  }

  private outcomeUnknown(
    body: CashyPayOutBody,
    progress: CreateProgress,
    cause?: unknown,
  ): PayoutOutcomeUnknownError {
    const reason =
      cause === undefined
        ? progress.reason
        : `${progress.reason}; then ${(cause as Error)?.message ?? String(cause)}`;
    this.logger.warn(`payout ${body.mchOrderNo}: outcome unknown (${reason})`);
    payoutDiagnostics.outcomeUnknown(() => ({
      mchOrderNo: body.mchOrderNo,
      merchantId: progress.attempt?.merchantId ?? '',
      reason,
    }));
    return new PayoutOutcomeUnknownError(body.mchOrderNo, reason);
  }

  /**
   * Definitely not created: recorded so, and no longer watched. Resolves `false`, recording nothing,
   * when the store knows the order as created meanwhile (a webhook reported it): no rejection then.
   */
  private async settleRejected(progress: CreateProgress, mchOrderNo: string): Promise<boolean> {
    const attempt = await this.attempts.markRejected(progress, mchOrderNo);
    if (attempt?.state === 'created') return false;
    await this.attempts.untrack(mchOrderNo);
    return true;
  }

  /**
   * The store knows the order as created (a webhook showed it) while this call's own attempts say
   * otherwise: the call resolves with that order, looked up, or its outcome is unknown (rule 2).
   */
  private async resolveShownOrder(
    account: CashyAccount,
    body: CashyPayOutBody,
    progress: CreateProgress,
  ): Promise<PayoutOrder> {
    progress.uncertain = true;
    progress.reason = `the gateway refused an attempt, but reported the order ${progress.attempt?.orderNo ?? ''} meanwhile`;
    progress.orderNo ??= progress.attempt?.orderNo;
    const order = await this.lastLook(account, body, progress);
    if (order) return order;
    throw this.outcomeUnknown(body, progress);
  }

  /** One look past the attempts' budget: the order, when the gateway shows it. */
  private async lastLook(
    account: CashyAccount,
    body: CashyPayOutBody,
    progress: CreateProgress,
  ): Promise<PayoutOrder | undefined> {
    const found = await this.lookUpCreate(account, body, progress, this.config.retry.attempts + 1);
    return found.kind === 'found'
      ? this.acceptOrder(found.data, account, body, 'lookup', progress)
      : undefined;
  }

  /** One create attempt, classified (rules 1 and 4). */
  private async sendCreate(
    account: CashyAccount,
    body: CashyPayOutBody,
    attempt: number,
  ): Promise<CreateAttemptOutcome> {
    // Whatever the transport throws, the bytes may have left: never read it as a rejection.
    const answer = await this.client
      .post(account, CASHY_ENDPOINTS.payOut, body, attempt)
      .catch((error: unknown) => asTransportError(error, CASHY_ENDPOINTS.payOut));
    return classifyCreateAnswer(answer, CASHY_ENDPOINTS.payOut, this.config.messages);
  }

  /** A lookup of the create's mchOrderNo; an answer naming another order than the one known is not this payout (F5). */
  private async lookUpCreate(
    account: CashyAccount,
    body: CashyPayOutBody,
    progress: CreateProgress,
    attempt: number,
  ): Promise<SentLookup> {
    return this.lookup.once(
      account,
      {
        mchOrderNo: body.mchOrderNo,
        ...(progress.orderNo ? { orderNo: progress.orderNo } : {}),
      },
      attempt,
    );
  }

  /**
   * Turns an order the gateway holds under this `mchOrderNo` (a create's answer or a lookup) into
   * the result (rule 4). An answer about another `mchOrderNo`, or another order than the one the
   * gateway already gave it, is recorded nowhere and rejects with `PayoutOrderConflictError`; one for
   * another amount is recorded (its webhooks are then checked against the amount asked for) and
   * rejects the same way. Each emits `payout.anomaly`.
   */
  private async acceptOrder(
    data: Record<string, unknown>,
    account: CashyAccount,
    body: CashyPayOutBody,
    source: 'create' | 'lookup',
    progress: CreateProgress,
  ): Promise<PayoutOrder> {
    const order = toPayoutOrder(
      data,
      source === 'create' ? CASHY_ENDPOINTS.payOut : CASHY_ENDPOINTS.payOutQuery,
      {
        currency: body.currency,
        mchOrderNo: body.mchOrderNo,
      },
    );
    const conflict = async (reason: string): Promise<never> => {
      await this.outcomes.reportAnomaly({
        kind: 'answer',
        merchantId: account.merchantId,
        mchOrderNo: body.mchOrderNo,
        orderNo: order.orderNo,
        status: order.orderStatus,
        reason,
        raw: data,
      });
      throw new PayoutOrderConflictError(body.mchOrderNo, order.orderNo, reason);
    };
    const other = otherOrder(data, {
      mchOrderNo: body.mchOrderNo,
      orderNo: progress.orderNo,
    });
    if (other) {
      // Not this payout's order: whether ours was created is still unknown.
      if (source === 'create')
        progress.holdUntil = await this.attempts.markUnknown(progress, body.mchOrderNo);
      return conflict(`the ${source} ${other}`);
    }
    // The order exists whatever the store says next: its bookkeeping never fails the call. But one
    // mchOrderNo never stands for two orders: a webhook may have reported another since (rule 7).
    const stored = await this.attempts
      .markCreated(progress, body.mchOrderNo, order.orderNo)
      .catch((error: unknown) => {
        // Recorded in the background, under this call's lease, so nothing calls it not created.
        this.logger.warn(
          `payout ${body.mchOrderNo}: could not record its create as created yet (${(error as Error).message}); retrying`,
        );
        this.attempts.recordCreatedLater(progress, body.mchOrderNo, order.orderNo);
        return undefined;
      });
    const reported = await this.store.findByMchOrderNo(body.mchOrderNo).catch(() => undefined);
    const known = [stored?.orderNo, reported?.orderNo].find(
      (orderNo) => orderNo !== undefined && orderNo !== order.orderNo,
    );
    if (known !== undefined)
      return conflict(
        `the ${source} answer names order ${order.orderNo}, and order ${known} was reported under this mchOrderNo`,
      );
    await this.remember(order, account, body);
    // Watched until its outcome is emitted: a final status seen here is emitted by the webhook or,
    // if that never comes, by the next sweep (so it is checked at once).
    const final = isFinalPayoutStatus(order.orderStatus as PayoutStatus);
    await this.attempts.track(
      body.mchOrderNo,
      this.clock.now() + (final ? 0 : this.firstCheckMs()),
    );
    if (!isAbsent(data.amount) && !sameAmount(data.amount, body.amount)) {
      return conflict(
        `the ${source} answer says ${String(data.amount)} ${body.currency} where ${body.amount} was asked for`,
      );
    }
    return order;
  }

  /** Records the order so later reports know its merchant, market and amount; a failure only costs that. */
  private async remember(
    order: PayoutOrder,
    account: CashyAccount,
    body: CashyPayOutBody,
  ): Promise<void> {
    try {
      await this.outcomes.remember({
        orderNo: order.orderNo,
        mchOrderNo: body.mchOrderNo,
        merchantId: account.merchantId,
        currency: body.currency,
        amount: body.amount,
      });
    } catch (error) {
      this.logger.warn(
        `payout ${body.mchOrderNo}: could not record it in the store (${(error as Error).message})`,
      );
    }
  }

  private firstCheckMs(): number {
    return (this.config.reconciliation || RECONCILIATION_DEFAULTS).firstCheckMs;
  }
}

/** A `listOpenPayouts` cursor (`<openedAt>~<mchOrderNo>`; `~` is never in an mchOrderNo). */
function parseCursor(after: string): PayoutOpenCursor {
  const match = /^(\d{1,16})~(.*)$/.exec(after);
  if (!match || !MCH_ORDER_NO.test(match[2]))
    throw new PayoutValidationError([
      {
        field: 'after',
        rule: 'cursor',
        message: 'after must be the cursor of the last payout of the previous page',
      },
    ]);
  return { openedAt: Number(match[1]), mchOrderNo: match[2] };
}

/** An account number for logs: its last 4 characters only (`****6813`). */
function maskTail(value: string): string {
  return value.length <= 4 ? '****' : `****${value.slice(-4)}`;
}

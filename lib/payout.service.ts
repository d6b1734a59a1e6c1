import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  classifyCreateAnswer,
  classifyLookupAnswer,
  type CreateAttemptOutcome,
  type LookupOutcome,
  CASHY_ENDPOINTS,
  type CashyEndpoint,
} from './client/cashy-protocol';
import { CashyHttpClient } from './client/cashy-http.client';
import { PayoutClock } from './clock/payout.clock';
import {
  toPayoutBalance,
  toPayoutBanks,
  toPayoutOrder,
} from './client/cashy-response.mapper';
import {
  CashyTransportError,
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
import { parseDecimal } from './markets/decimal';
import type { CashyAccount } from './options/cashy-account';
import {
  PayoutConfig,
  type PayoutAccountSelector,
} from './options/payout-config';
import {
  type CreateProgress,
  type CreateRequest,
  PayoutAttemptLedger,
  sameAmount,
  storeCall,
} from './outcome/payout-attempt.ledger';
import { PayoutOutcomeProcessor } from './outcome/payout-outcome.processor';
import type { PayoutReportResult } from './outcome/payout-status-report.interface';
import { PAYOUT_STORE } from './payout.constants';
import { RECONCILIATION_DEFAULTS } from './reconciliation/payout-reconciliation.options';
import type {
  PayoutAttemptState,
  PayoutStore,
} from './store/payout-store.interface';
import {
  checkCreatePayout,
  type CashyPayOutBody,
} from './validation/create-payout.rules';
import { checkPayoutNotification } from './validation/payout-notification.rules';
import {
  checkQueryPayout,
  type CashyPayOutQueryBody,
} from './validation/query-payout.rules';

/**
 * A lookup's classified answer, with the time (on the module's clock) it was sent: a "not found"
 * describes the gateway as it was then at the latest, so the re-send window is judged by it (rule 3).
 */
type SentLookup = LookupOutcome & { sentAt: number };

/** Per-call options of every `PayoutService` method. */
export type PayoutCallOptions = PayoutAccountSelector;

/** A payout the module still watches (`PayoutService.listOpenPayouts`). */
export interface PayoutOpenPayout {
  mchOrderNo: string;
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

function requireCurrency(
  input: { currency?: unknown } | undefined,
): PayoutCurrency {
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
  ) {}

  /**
   * Creates a payout (`POST /api/payOut`) and never sends it twice while an earlier attempt may
   * still land. Resolves with the order; rejects with `PayoutValidationError` (nothing sent),
   * `CashyApiError` (definitely not created: a published rejection, or busy on every attempt),
   * `PayoutOrderConflictError` (this `mchOrderNo` holds another payout) or
   * `PayoutOutcomeUnknownError` (it may exist: settle it with `reconcile({ mchOrderNo })`).
   */
  async createPayout(
    input: CreatePayoutDto,
    options?: PayoutCallOptions,
  ): Promise<PayoutOrder> {
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
          progress.holdUntil !== undefined
            ? CASHY_ENDPOINTS.payOutQuery
            : CASHY_ENDPOINTS.payOut;
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
          return this.acceptOrder(
            found.data,
            account,
            body,
            'lookup',
            progress,
          );
        if (found.kind === 'failed') {
          progress.reason = found.error.message;
          if (!found.retryable) throw this.outcomeUnknown(body, progress);
          continue;
        }
        // Rule 3 counts from when the lookup left: one sent inside the window proves nothing, however late its answer.
        if (found.sentAt < progress.holdUntil) {
          progress.reason = `the gateway does not show the order yet, and an earlier attempt may still land (re-send window ${this.config.resendWindowMs} ms)`;
          continue;
        }
        progress.holdUntil = undefined;
      }
      if (!(await this.attempts.markSending(progress, request))) {
        // Another call (or a webhook) wrote this mchOrderNo since: start again from what the store says.
        Object.assign(progress, await this.attempts.open(request));
        continue;
      }
      const outcome = await this.sendCreate(account, body, attempt);
      switch (outcome.kind) {
        case 'created': // rule 4: never sent again
          return this.acceptOrder(
            outcome.data,
            account,
            body,
            'create',
            progress,
          );
        case 'busy': // rule 1: nothing was done; the attempt stays "sending" until the call ends
          busy = outcome.error;
          break;
        case 'rejected':
          if (progress.uncertain) {
            // Rule 2: an earlier attempt may still land, so this is no proof that nothing was created.
            progress.reason = `${outcome.error.message}, after an attempt whose outcome is unknown`;
            progress.holdUntil = await this.attempts.markUnknown(
              progress,
              body.mchOrderNo,
            );
            break;
          }
          await this.settleRejected(progress, body.mchOrderNo);
          throw outcome.error;
        case 'duplicate':
        case 'ambiguous': // rules 1 and 3: it may exist; look it up, never send it inside the window
          progress.uncertain = true;
          progress.reason =
            outcome.kind === 'duplicate'
              ? `${outcome.error.message} (the gateway says the order exists)`
              : outcome.reason;
          progress.holdUntil = await this.attempts.markUnknown(
            progress,
            body.mchOrderNo,
          );
          break;
      }
    }
    if (progress.holdUntil !== undefined) {
      // The budget is spent; one more look often turns "unknown" into an answer.
      const found = await this.lookUpCreate(
        account,
        body,
        progress,
        this.config.retry.attempts + 1,
      );
      if (found.kind === 'found')
        return this.acceptOrder(found.data, account, body, 'lookup', progress);
    }
    if (progress.uncertain || progress.holdUntil !== undefined || !busy)
      throw this.outcomeUnknown(body, progress);
    // Busy on every attempt: nothing was created.
    await this.settleRejected(progress, body.mchOrderNo);
    throw busy;
  }

  /** Reads one order (`POST /api/payOutQuery`); an order the gateway does not know raises `CashyApiError`. */
  async queryPayout(
    input: QueryPayoutDto,
    options?: PayoutCallOptions,
  ): Promise<PayoutOrder> {
    const { body, account, currency } = await this.prepareQuery(input, options);
    const data = await this.client.sendIdempotent(
      account,
      CASHY_ENDPOINTS.payOutQuery,
      body,
    );
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
   * an earlier create may still land (money-safety rule 3).
   */
  async reconcile(
    input: QueryPayoutDto,
    options?: PayoutCallOptions,
  ): Promise<PayoutOrder | null> {
    const { body, account, currency } = await this.prepareQuery(input, options);
    const found = await this.lookUpWithRetries(account, body);
    if (found.kind === 'failed') throw found.error;
    if (found.kind === 'absent')
      return this.confirmAbsent(
        body,
        account,
        found.error.message,
        found.sentAt,
      );

    const order = toPayoutOrder(found.data, CASHY_ENDPOINTS.payOutQuery, {
      currency,
      mchOrderNo: body.mchOrderNo,
    });
    const raw = found.data;
    await this.outcomes.apply({
      merchantId: account.merchantId,
      ...(order.merchantId && order.merchantId !== account.merchantId
        ? { bodyMerchantId: order.merchantId }
        : {}),
      mchOrderNo: order.mchOrderNo,
      orderNo: order.orderNo,
      ...(order.channelOrderNo !== undefined
        ? { channelOrderNo: order.channelOrderNo }
        : {}),
      amount: parseDecimal(raw.amount) ?? null,
      fee: parseDecimal(raw.fee) ?? null,
      orderStatus: order.orderStatus,
      completionTime: order.completionTime,
      resultDesc: order.resultDesc ?? null,
      raw,
      currency,
    });
    await this.attempts.markCreated(undefined, order.mchOrderNo, order.orderNo);
    if (isFinalPayoutStatus(order.orderStatus as PayoutStatus))
      await this.attempts.untrack(order.mchOrderNo);
    return order;
  }

  /**
   * The payouts the module still watches (a create of unknown outcome, or an order not yet final),
   * oldest first, a page of at most `limit` (default 100, at most 1000) after `after` (an
   * `mchOrderNo` of the previous page). The built-in reconciliation settles them by itself.
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
    const entries = await storeCall('listOpen', () =>
      this.store.listOpen(limit, page.after),
    );
    return Promise.all(
      entries.map(async (entry) => {
        const attempt = await storeCall('getAttempt', () =>
          this.store.getAttempt(entry.mchOrderNo),
        );
        return {
          mchOrderNo: entry.mchOrderNo,
          openedAt: entry.openedAt,
          nextCheckAt: entry.dueAt,
          state: attempt?.state,
          orderNo: attempt?.orderNo,
          merchantId: attempt?.merchantId,
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
    const data = await this.client.sendIdempotent(
      account,
      CASHY_ENDPOINTS.bankListQuery,
      {},
    );
    return toPayoutBanks(data, CASHY_ENDPOINTS.bankListQuery);
  }

  /** The account's balance (`POST /api/getBalance`). */
  async getBalance(
    input: { currency: PayoutCurrency },
    options?: PayoutCallOptions,
  ): Promise<PayoutBalance> {
    const account = this.config.selectAccount(options, requireCurrency(input));
    const data = await this.client.sendIdempotent(
      account,
      CASHY_ENDPOINTS.getBalance,
      {},
    );
    return toPayoutBalance(
      data,
      CASHY_ENDPOINTS.getBalance,
      account.merchantId,
    );
  }

  /**
   * Applies a notification whose signature was already verified (by `PayoutSignatureGuard`) for the
   * account `merchantId`: dedupes it, checks it against what is recorded, runs the state machine and
   * emits its event once. Resolves when every listener has succeeded; rejects with
   * `PayoutValidationError` for a body that does not identify an outcome.
   */
  async handleNotification(
    body: unknown,
    merchantId: string,
  ): Promise<PayoutReportResult> {
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

  /** Definitely not created: recorded so, and no longer watched. */
  private async settleRejected(
    progress: CreateProgress,
    mchOrderNo: string,
  ): Promise<void> {
    await this.attempts.markRejected(progress, mchOrderNo);
    await this.attempts.untrack(mchOrderNo);
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
      .catch((error: unknown) =>
        asTransportError(error, CASHY_ENDPOINTS.payOut),
      );
    return classifyCreateAnswer(
      answer,
      CASHY_ENDPOINTS.payOut,
      this.config.messages,
    );
  }

  /** One lookup, classified (rule 5), with the time it was sent. */
  private async lookUpOnce(
    account: CashyAccount,
    body: CashyPayOutQueryBody,
    attempt: number,
  ): Promise<SentLookup> {
    // Read before the request is even queued: an early time only makes the window stricter.
    const sentAt = this.clock.now();
    const found = await this.classifyLookup(account, body, attempt);
    return { ...found, sentAt };
  }

  private async classifyLookup(
    account: CashyAccount,
    body: CashyPayOutQueryBody,
    attempt: number,
  ): Promise<LookupOutcome> {
    const answer = await this.client
      .post(account, CASHY_ENDPOINTS.payOutQuery, body, attempt)
      .catch((error: unknown) =>
        asTransportError(error, CASHY_ENDPOINTS.payOutQuery),
      );
    const found = classifyLookupAnswer(
      answer,
      CASHY_ENDPOINTS.payOutQuery,
      this.config.messages,
    );
    if (found.kind !== 'found') return found;
    // An answer about another order is no answer about this one (rules 5 and 7).
    const other = otherOrder(found.data, body);
    if (!other) return found;
    await this.outcomes.reportAnomaly({
      kind: 'answer',
      merchantId: account.merchantId,
      mchOrderNo: body.mchOrderNo ?? String(found.data.mchOrderNo ?? ''),
      orderNo: body.orderNo ?? String(found.data.orderNo ?? ''),
      status: String(found.data.orderStatus ?? ''),
      reason: other,
      raw: found.data,
    });
    return {
      kind: 'failed',
      error: new CashyTransportError(
        'unparsable',
        CASHY_ENDPOINTS.payOutQuery,
        other,
      ),
      retryable: true,
    };
  }

  /** A lookup of the create's mchOrderNo; an answer naming another order than the one known is not this payout (F5). */
  private async lookUpCreate(
    account: CashyAccount,
    body: CashyPayOutBody,
    progress: CreateProgress,
    attempt: number,
  ): Promise<SentLookup> {
    return this.lookUpOnce(
      account,
      {
        mchOrderNo: body.mchOrderNo,
        ...(progress.orderNo ? { orderNo: progress.orderNo } : {}),
      },
      attempt,
    );
  }

  /** A lookup retried while the failure may pass, within the retry policy; `sentAt` is the last one's. */
  private async lookUpWithRetries(
    account: CashyAccount,
    body: CashyPayOutQueryBody,
  ): Promise<SentLookup> {
    for (let attempt = 1; ; attempt++) {
      const found = await this.lookUpOnce(account, body, attempt);
      if (
        found.kind !== 'failed' ||
        !found.retryable ||
        attempt >= this.config.retry.attempts
      )
        return found;
      payoutDiagnostics.retry(() => ({
        endpoint: CASHY_ENDPOINTS.payOutQuery,
        merchantId: account.merchantId,
        attempt: attempt + 1,
        reason: found.error.message,
      }));
      await this.client.backoff(attempt);
    }
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
      source === 'create'
        ? CASHY_ENDPOINTS.payOut
        : CASHY_ENDPOINTS.payOutQuery,
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
      throw new PayoutOrderConflictError(
        body.mchOrderNo,
        order.orderNo,
        reason,
      );
    };
    const other = otherOrder(data, {
      mchOrderNo: body.mchOrderNo,
      orderNo: progress.orderNo,
    });
    if (other) {
      // Not this payout's order: whether ours was created is still unknown.
      if (source === 'create')
        progress.holdUntil = await this.attempts.markUnknown(
          progress,
          body.mchOrderNo,
        );
      return conflict(`the ${source} ${other}`);
    }
    // The order exists whatever the store says next: its bookkeeping never fails the call.
    await this.attempts
      .markCreated(progress, body.mchOrderNo, order.orderNo)
      .catch((error: unknown) =>
        this.logger.warn(
          `payout ${body.mchOrderNo}: could not record its create as created (${(error as Error).message})`,
        ),
      );
    await this.remember(order, account, body);
    // Watched until its outcome is emitted: a final status seen here is emitted by the webhook or,
    // if that never comes, by the next sweep (so it is checked at once).
    const final = isFinalPayoutStatus(order.orderStatus as PayoutStatus);
    await this.attempts.track(
      body.mchOrderNo,
      this.clock.now() + (final ? 0 : this.firstCheckMs()),
    );
    if (!absentValue(data.amount) && !sameAmount(data.amount, body.amount)) {
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

  /**
   * The gateway says it does not have the order: `null` only when nothing known says otherwise and
   * no create of it may still land (rules 3 and 5), and only from the merchant it was sent from. The
   * window is judged by when the lookup was sent (`lookupSentAt`), never by when it answered. The
   * attempt is then recorded as not created, so `createPayout` may send it again at once.
   */
  private async confirmAbsent(
    body: CashyPayOutQueryBody,
    account: CashyAccount,
    answer: string,
    lookupSentAt: number,
  ): Promise<null> {
    const record = body.orderNo
      ? await storeCall('get', () => this.store.get(body.orderNo!))
      : await storeCall('findByMchOrderNo', () =>
          this.store.findByMchOrderNo(body.mchOrderNo!),
        );
    const mchOrderNo = body.mchOrderNo ?? record?.mchOrderNo;
    const attempt =
      mchOrderNo === undefined
        ? undefined
        : await storeCall('getAttempt', () =>
            this.store.getAttempt(mchOrderNo),
          );
    const unknown = (reason: string) =>
      new PayoutOutcomeUnknownError(
        mchOrderNo ?? body.orderNo!,
        `${answer}, but ${reason}`,
      );
    if (record)
      throw unknown(`the gateway created order ${record.orderNo} earlier`);
    if (attempt?.state === 'created')
      throw unknown(
        `the gateway answered its create with order ${attempt.orderNo ?? '?'}`,
      );
    if (attempt && attempt.merchantId !== account.merchantId) {
      throw unknown(
        `merchant ${account.merchantId} was asked, and the payout was sent from merchant ${attempt.merchantId}`,
      );
    }
    if (
      attempt &&
      attempt.state !== 'rejected' &&
      lookupSentAt < attempt.resendAfter
    ) {
      throw unknown(
        `its create may still land until ${new Date(attempt.resendAfter).toISOString()} (re-send window), and this lookup was sent at ${new Date(lookupSentAt).toISOString()}`,
      );
    }
    // Only the attempt checked above is not created: if another call wrote it since (it may be
    // sending the payout right now), nothing can be said yet.
    if (
      attempt &&
      attempt.state !== 'rejected' &&
      !(await this.attempts.rejectIfUnchanged(attempt))
    ) {
      throw unknown('another call is sending it right now');
    }
    return null;
  }

  /**
   * Validates a query and picks its account: the one named, else the merchant the store knows the
   * order under, else the one serving the currency; and the currency, for the amounts' scale.
   */
  private async prepareQuery(
    input: QueryPayoutDto,
    options?: PayoutCallOptions,
  ) {
    const { errors, body, currency: requested } = checkQueryPayout(input);
    if (!body) throw new PayoutValidationError(errors);
    const known = await this.knownOrder(body);
    const currency = requested ?? known?.currency;
    const account =
      known?.merchantId && !options?.account
        ? this.config.selectAccount({ account: known.merchantId })
        : this.config.selectAccount(options, currency);
    return {
      body,
      account,
      currency: currency ?? account.soleCurrency,
    };
  }

  /** What the store knows of an order (its record, else its create attempt); nothing when the store fails. */
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

  private firstCheckMs(): number {
    return (this.config.reconciliation || RECONCILIATION_DEFAULTS).firstCheckMs;
  }
}

/** Cashy leaves fields out, or sends them as null or "". */
function absentValue(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** An identifier as text: Cashy may send a digit-only one as a JSON number. */
function idText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  return typeof value === 'number' && Number.isSafeInteger(value)
    ? String(value)
    : undefined;
}

/** How an answer names another order than `expected` (by mchOrderNo or orderNo), if it does. */
function otherOrder(
  data: Record<string, unknown>,
  expected: { mchOrderNo?: string; orderNo?: string },
): string | undefined {
  const mchOrderNo = idText(data.mchOrderNo);
  if (
    expected.mchOrderNo !== undefined &&
    !absentValue(data.mchOrderNo) &&
    mchOrderNo !== expected.mchOrderNo
  ) {
    return `answer names mchOrderNo ${String(data.mchOrderNo)}, not ${expected.mchOrderNo}`;
  }
  if (expected.orderNo !== undefined && data.orderNo !== expected.orderNo)
    return `answer names order ${String(data.orderNo)}, not ${expected.orderNo}`;
  return undefined;
}

/** Any failure of the transport, as the ambiguous `CashyTransportError` it stands for. */
function asTransportError(
  error: unknown,
  endpoint: CashyEndpoint,
): CashyTransportError {
  return error instanceof CashyTransportError
    ? error
    : new CashyTransportError(
        'connection',
        endpoint,
        (error as Error)?.message ?? String(error),
      );
}

/** An account number for logs: its last 4 characters only (`****6813`). */
function maskTail(value: string): string {
  return value.length <= 4 ? '****' : `****${value.slice(-4)}`;
}

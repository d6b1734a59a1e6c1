import { Inject, Injectable, Logger } from '@nestjs/common';
import { classifyCreateAnswer, classifyLookupAnswer, type CreateAttemptOutcome, type LookupOutcome } from './client/cashy-answers';
import { CASHY_ENDPOINTS } from './client/cashy-endpoints';
import { CashyHttpClient } from './client/cashy-http.client';
import { soleCurrency, toPayoutBalance, toPayoutBanks, toPayoutOrder } from './client/cashy-response.mapper';
import { CashyTransportError } from './client/cashy-transport.error';
import type { CreatePayoutDto } from './dto/create-payout.dto';
import type { QueryPayoutDto } from './dto/query-payout.dto';
import { PayoutOrderConflictError } from './errors/payout-order-conflict.error';
import { PayoutOutcomeUnknownError } from './errors/payout-outcome-unknown.error';
import { PayoutStoreError } from './errors/payout-store.error';
import { PayoutValidationError } from './errors/payout-validation.error';
import type { PayoutBalance, PayoutBank, PayoutCurrency, PayoutOrder } from './interfaces/payout-types.interface';
import { marketOf } from './markets/payout-markets';
import { compareDecimals, parseDecimal } from './money/decimal';
import type { CashyAccount } from './options/cashy-account';
import { PayoutConfig, type PayoutAccountSelector } from './options/payout-config';
import { PayoutOutcomeProcessor } from './outcome/payout-outcome.processor';
import type { PayoutReportResult } from './outcome/payout-status-report.interface';
import { PAYOUT_STORE } from './payout.constants';
import type { PayoutAttempt, PayoutAttemptState, PayoutStore } from './store/payout-store.interface';
import { maskTail } from './utils/mask';
import { checkCreatePayout, type CashyPayOutBody } from './validation/create-payout.rules';
import { checkPayoutNotification } from './validation/payout-notification.rules';
import { checkQueryPayout, type CashyPayOutQueryBody } from './validation/query-payout.rules';

/** Per-call options of every `PayoutService` method. */
export type PayoutCallOptions = PayoutAccountSelector;

function requireCurrency(input: { currency?: unknown } | undefined): PayoutCurrency {
  const currency = input?.currency;
  if (!marketOf(currency)) {
    throw new PayoutValidationError([{ field: 'currency', rule: 'currency', message: 'currency must be one of PEN, MXN' }]);
  }
  return currency as PayoutCurrency;
}

/**
 * Where one `createPayout` call stands between attempts.
 * - `uncertain`: an attempt (this call's or an earlier one's) may have created the order, so the
 *   call can no longer end in a rejection (money-safety rule 2);
 * - `holdUntil`: while set, the order may exist and the create is not sent before this epoch ms
 *   (rule 3); the call looks the order up instead.
 */
interface CreateProgress {
  uncertain: boolean;
  holdUntil?: number;
  reason: string;
}

/** Sends payouts and reads them back. Every input is validated before anything is sent. */
@Injectable()
export class PayoutService {
  private readonly logger = new Logger('PayoutService');

  constructor(
    private readonly client: CashyHttpClient,
    private readonly config: PayoutConfig,
    private readonly outcomes: PayoutOutcomeProcessor,
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
  ) {}

  /**
   * Creates a payout (`POST /api/payOut`) and never sends it twice while an earlier attempt may
   * still land. Resolves with the order; rejects with `PayoutValidationError` (nothing sent),
   * `CashyApiError` (definitely not created: a published rejection, or busy on every attempt),
   * `PayoutOrderConflictError` (this `mchOrderNo` holds another payout) or
   * `PayoutOutcomeUnknownError` (it may exist: settle it with `reconcile({ mchOrderNo })`).
   */
  async createPayout(input: CreatePayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder> {
    const { errors, body } = checkCreatePayout(input, { limits: this.config.limits, defaultNotifyUrl: this.config.notifyUrl });
    if (!body) throw new PayoutValidationError(errors);
    const account = this.config.selectAccount(options, body.currency);
    this.logger.log(
      `payout ${body.mchOrderNo}: ${body.amount} ${body.currency} to bank ${body.bankId} account ${maskTail(body.accountNo)} (merchant ${account.merchantId})`,
    );

    const progress = await this.openAttempt(account, body);
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.config.retry.attempts; attempt++) {
      if (attempt > 1) await this.client.backoff(attempt - 1);
      if (progress.holdUntil !== undefined) {
        // Rules 3 and 5: look first; only a real "not found" after the window allows a new send.
        const found = await this.lookUpOnce(account, { mchOrderNo: body.mchOrderNo });
        if (found.kind === 'found') return this.acceptOrder(found.data, account, body, 'lookup');
        if (found.kind === 'failed') {
          progress.reason = found.error.message;
          if (!found.retryable) throw this.outcomeUnknown(body, progress);
          continue;
        }
        if (Date.now() < progress.holdUntil) {
          progress.reason = `the gateway does not show the order yet, and an earlier attempt may still land (re-send window ${this.config.resendWindowMs} ms)`;
          continue;
        }
        progress.holdUntil = undefined;
      }
      if (!(await this.markSending(account, body))) {
        // Another call is sending this mchOrderNo right now.
        Object.assign(progress, await this.openAttempt(account, body));
        continue;
      }
      const outcome = await this.sendCreate(account, body);
      switch (outcome.kind) {
        case 'created':
          return this.acceptOrder(outcome.data, account, body, 'create');
        case 'busy':
          lastError = outcome.error; // nothing was done: the same request may go again
          await this.markAttempt(body.mchOrderNo, 'rejected');
          break;
        case 'rejected':
          if (progress.uncertain) {
            // Rule 2: an earlier attempt may still land, so this is no proof that nothing was created.
            progress.reason = `${outcome.error.message}, after an attempt whose outcome is unknown`;
            progress.holdUntil = await this.markAttempt(body.mchOrderNo, 'unknown');
            break;
          }
          await this.markAttempt(body.mchOrderNo, 'rejected');
          throw outcome.error;
        case 'duplicate':
        case 'ambiguous':
          progress.uncertain = true;
          progress.reason = outcome.kind === 'duplicate' ? `${outcome.error.message} (the gateway says the order exists)` : outcome.reason;
          progress.holdUntil = await this.markAttempt(body.mchOrderNo, 'unknown');
          break;
      }
    }
    if (progress.holdUntil !== undefined) {
      // The budget is spent; one more look often turns "unknown" into an answer.
      const found = await this.lookUpOnce(account, { mchOrderNo: body.mchOrderNo });
      if (found.kind === 'found') return this.acceptOrder(found.data, account, body, 'lookup');
    }
    if (progress.uncertain || progress.holdUntil !== undefined) throw this.outcomeUnknown(body, progress);
    // Busy on every attempt: nothing was created.
    throw lastError;
  }

  /** Reads one order (`POST /api/payOutQuery`); an order the gateway does not know raises `CashyApiError`. */
  async queryPayout(input: QueryPayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder> {
    const { body, account, currency } = await this.prepareQuery(input, options);
    const data = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.payOutQuery, body);
    return toPayoutOrder(data, CASHY_ENDPOINTS.payOutQuery, { currency, mchOrderNo: body.mchOrderNo });
  }

  /**
   * Settles what the host does not know yet: queries the order and feeds the answer through the same
   * state machine and store as webhooks, so its event is emitted exactly once whichever of the query
   * and the webhook comes first. Resolves with the order once any listener has run, or with `null`
   * when the gateway definitely does not have it and no create of it may still land: the create may
   * then be sent again with the same `mchOrderNo`. Rejects with `PayoutOutcomeUnknownError` while
   * an earlier create may still land (money-safety rule 3).
   */
  async reconcile(input: QueryPayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder | null> {
    const { body, account, currency } = await this.prepareQuery(input, options);
    const found = await this.lookUp(account, body);
    if (found.kind === 'failed') throw found.error;
    if (found.kind === 'absent') return this.confirmAbsent(body, found.error.message);

    const order = toPayoutOrder(found.data, CASHY_ENDPOINTS.payOutQuery, { currency, mchOrderNo: body.mchOrderNo });
    const raw = found.data;
    await this.outcomes.apply({
      merchantId: account.merchantId,
      ...(order.merchantId && order.merchantId !== account.merchantId ? { bodyMerchantId: order.merchantId } : {}),
      mchOrderNo: order.mchOrderNo,
      orderNo: order.orderNo,
      ...(order.channelOrderNo !== undefined ? { channelOrderNo: order.channelOrderNo } : {}),
      amount: parseDecimal(raw.amount) ?? null,
      fee: parseDecimal(raw.fee) ?? null,
      orderStatus: order.orderStatus,
      completionTime: order.completionTime,
      resultDesc: order.resultDesc ?? null,
      raw,
      currency,
    });
    await this.markFound(order.mchOrderNo, order.orderNo);
    return order;
  }

  /** The account's payout banks (`POST /api/bankListQuery`). Cache it: it rarely changes. */
  async listBanks(input: { currency: PayoutCurrency }, options?: PayoutCallOptions): Promise<PayoutBank[]> {
    const account = this.config.selectAccount(options, requireCurrency(input));
    const data = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.bankListQuery, {});
    return toPayoutBanks(data, CASHY_ENDPOINTS.bankListQuery);
  }

  /** The account's balance (`POST /api/getBalance`). */
  async getBalance(input: { currency: PayoutCurrency }, options?: PayoutCallOptions): Promise<PayoutBalance> {
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
    report.currency = soleCurrency(this.config.accountByMerchantId(merchantId)?.currencies);
    return this.outcomes.apply(report);
  }

  private outcomeUnknown(body: CashyPayOutBody, progress: CreateProgress): PayoutOutcomeUnknownError {
    this.logger.warn(`payout ${body.mchOrderNo}: outcome unknown (${progress.reason})`);
    return new PayoutOutcomeUnknownError(body.mchOrderNo, progress.reason);
  }

  /**
   * Reads what the store knows of this `mchOrderNo` before anything is sent. A create recorded as
   * sending, unknown or created, or an order already known, means the order may exist: the call
   * looks it up first and re-sends only as rule 3 allows.
   */
  private async openAttempt(account: CashyAccount, body: CashyPayOutBody): Promise<CreateProgress> {
    const [attempt, order] = await this.storeCall('getAttempt', () =>
      Promise.all([this.store.getAttempt(body.mchOrderNo), this.store.findByMchOrderNo(body.mchOrderNo)]),
    );
    if (attempt && (attempt.currency !== body.currency || attempt.merchantId !== account.merchantId || !sameAmount(attempt.amount, body.amount))) {
      throw new PayoutOrderConflictError(
        body.mchOrderNo,
        attempt.orderNo,
        `it was sent as ${attempt.amount} ${attempt.currency} from merchant ${attempt.merchantId}; this call asks for ${body.amount} ${body.currency} from merchant ${account.merchantId}`,
      );
    }
    // An order the gateway already answered with is never sent again, whatever a lookup says (rule 4).
    if (attempt?.state === 'created') return { uncertain: true, holdUntil: Infinity, reason: `the gateway created it as order ${attempt.orderNo ?? '?'}` };
    if (attempt && attempt.state !== 'rejected') {
      return { uncertain: true, holdUntil: attempt.resendAfter, reason: `an earlier create of this mchOrderNo is ${attempt.state}` };
    }
    if (order) return { uncertain: true, holdUntil: Infinity, reason: `the store knows order ${order.orderNo} under this mchOrderNo` };
    return { uncertain: false, reason: '' };
  }

  /**
   * Records, before the create goes out, that it is being sent and may land until the attempt's
   * timeout plus the re-send window. Resolves `false` when another call holds this mchOrderNo.
   */
  private async markSending(account: CashyAccount, body: CashyPayOutBody): Promise<boolean> {
    const current = await this.storeCall('getAttempt', () => this.store.getAttempt(body.mchOrderNo));
    if (current && current.state !== 'rejected' && (current.state === 'created' || Date.now() < current.resendAfter)) return false;
    const now = Date.now();
    const next: PayoutAttempt = {
      mchOrderNo: body.mchOrderNo,
      merchantId: account.merchantId,
      currency: body.currency,
      amount: body.amount,
      state: 'sending',
      resendAfter: now + this.config.timeoutMs + this.config.resendWindowMs,
      revision: (current?.revision ?? 0) + 1,
      updatedAt: now,
    };
    return this.storeCall('compareAndSetAttempt', () => this.store.compareAndSetAttempt(next, current?.revision ?? 0));
  }

  /**
   * Moves the attempt to `state`. For `unknown`, the window restarts now, when the ambiguous attempt
   * ended (its create may land later still), and its end is returned. A store failure here is logged, not thrown: the
   * `sending` record already written keeps the create from going out again.
   */
  private async markAttempt(mchOrderNo: string, state: PayoutAttemptState, orderNo?: string): Promise<number> {
    const holdUntil = Date.now() + this.config.resendWindowMs;
    try {
      for (;;) {
        const current = await this.store.getAttempt(mchOrderNo);
        if (!current) return holdUntil;
        const next: PayoutAttempt = {
          ...current,
          state,
          resendAfter: state === 'unknown' ? holdUntil : state === 'rejected' ? 0 : current.resendAfter,
          ...(orderNo !== undefined ? { orderNo } : {}),
          revision: current.revision + 1,
          updatedAt: Date.now(),
        };
        if (await this.store.compareAndSetAttempt(next, current.revision)) return next.resendAfter;
      }
    } catch (error) {
      this.logger.warn(`payout ${mchOrderNo}: could not record its create as ${state} (${(error as Error).message})`);
      return holdUntil;
    }
  }

  /** One create attempt, classified (rules 1 and 4). */
  private async sendCreate(account: CashyAccount, body: CashyPayOutBody): Promise<CreateAttemptOutcome> {
    const answer = await this.client.post(account, CASHY_ENDPOINTS.payOut, body).catch((error: unknown) => {
      if (error instanceof CashyTransportError) return error;
      throw error;
    });
    return classifyCreateAnswer(answer, CASHY_ENDPOINTS.payOut, this.config.messages);
  }

  /** One lookup, classified (rule 5). */
  private async lookUpOnce(account: CashyAccount, body: CashyPayOutQueryBody): Promise<LookupOutcome> {
    const answer = await this.client.post(account, CASHY_ENDPOINTS.payOutQuery, body).catch((error: unknown) => {
      if (error instanceof CashyTransportError) return error;
      throw error;
    });
    return classifyLookupAnswer(answer, CASHY_ENDPOINTS.payOutQuery, this.config.messages);
  }

  /** A lookup retried while the failure may pass, within the retry policy. */
  private async lookUp(account: CashyAccount, body: CashyPayOutQueryBody): Promise<LookupOutcome> {
    for (let attempt = 1; ; attempt++) {
      const found = await this.lookUpOnce(account, body);
      if (found.kind !== 'failed' || !found.retryable || attempt >= this.config.retry.attempts) return found;
      await this.client.backoff(attempt);
    }
  }

  /**
   * Turns an order the gateway holds under this `mchOrderNo` (a create's answer or a lookup) into
   * the result (rule 4): the same `mchOrderNo` and amount as requested, or `PayoutOrderConflictError`.
   * Either way it is recorded, so its webhooks are checked against the amount asked for.
   */
  private async acceptOrder(data: Record<string, unknown>, account: CashyAccount, body: CashyPayOutBody, source: 'create' | 'lookup'): Promise<PayoutOrder> {
    const order = toPayoutOrder(data, source === 'create' ? CASHY_ENDPOINTS.payOut : CASHY_ENDPOINTS.payOutQuery, {
      currency: body.currency,
      mchOrderNo: body.mchOrderNo,
    });
    await this.markAttempt(body.mchOrderNo, 'created', order.orderNo);
    await this.remember(order, account, body);
    const answeredMchOrderNo = data.mchOrderNo;
    const mismatch =
      answeredMchOrderNo !== undefined && answeredMchOrderNo !== null && answeredMchOrderNo !== '' && answeredMchOrderNo !== body.mchOrderNo
        ? `the ${source} answer names mchOrderNo ${String(answeredMchOrderNo)}`
        : data.amount !== undefined && data.amount !== null && data.amount !== '' && !sameAmount(data.amount, body.amount)
          ? `the ${source} answer says ${String(data.amount)} ${body.currency} where ${body.amount} was asked for`
          : undefined;
    if (mismatch) {
      await this.outcomes.reportAnomaly({
        kind: 'answer',
        merchantId: account.merchantId,
        mchOrderNo: body.mchOrderNo,
        orderNo: order.orderNo,
        status: order.orderStatus,
        reason: mismatch,
        raw: data,
      });
      throw new PayoutOrderConflictError(body.mchOrderNo, order.orderNo, mismatch);
    }
    return order;
  }

  /** Records the order so later reports know its merchant, market and amount; a failure only costs that. */
  private async remember(order: PayoutOrder, account: CashyAccount, body: CashyPayOutBody): Promise<void> {
    try {
      await this.outcomes.remember({ orderNo: order.orderNo, mchOrderNo: body.mchOrderNo, merchantId: account.merchantId, currency: body.currency, amount: body.amount });
    } catch (error) {
      this.logger.warn(`payout ${body.mchOrderNo}: could not record it in the store (${(error as Error).message})`);
    }
  }

  /** Marks a create the gateway showed as created. */
  private async markFound(mchOrderNo: string, orderNo: string): Promise<void> {
    const attempt = await this.store.getAttempt(mchOrderNo).catch(() => undefined);
    if (attempt && attempt.state !== 'created') await this.markAttempt(mchOrderNo, 'created', orderNo);
  }

  /**
   * The gateway says it does not have the order: `null` only when nothing known says otherwise and
   * no create of it may still land (rules 3 and 5). The attempt is then recorded as not created, so
   * `createPayout` may send it again at once.
   */
  private async confirmAbsent(body: CashyPayOutQueryBody, answer: string): Promise<null> {
    const record = body.orderNo
      ? await this.storeCall('get', () => this.store.get(body.orderNo!))
      : await this.storeCall('findByMchOrderNo', () => this.store.findByMchOrderNo(body.mchOrderNo!));
    const mchOrderNo = body.mchOrderNo ?? record?.mchOrderNo;
    const attempt = mchOrderNo === undefined ? undefined : await this.storeCall('getAttempt', () => this.store.getAttempt(mchOrderNo));
    const unknown = (reason: string) => new PayoutOutcomeUnknownError(mchOrderNo ?? body.orderNo!, `${answer}, but ${reason}`);
    if (record) throw unknown(`the gateway created order ${record.orderNo} earlier`);
    if (attempt?.state === 'created') throw unknown(`the gateway answered its create with order ${attempt.orderNo ?? '?'}`);
    if (attempt && attempt.state !== 'rejected' && Date.now() < attempt.resendAfter) {
      throw unknown(`its create may still land until ${new Date(attempt.resendAfter).toISOString()} (re-send window)`);
    }
    if (attempt && attempt.state !== 'rejected') await this.markAttempt(attempt.mchOrderNo, 'rejected');
    return null;
  }

  /** Validates a query and picks its account and currency from the input, the store or the account. */
  private async prepareQuery(input: QueryPayoutDto, options?: PayoutCallOptions) {
    const { errors, body, currency: requested } = checkQueryPayout(input);
    if (!body) throw new PayoutValidationError(errors);
    const record = requested ? undefined : await this.recordOf(body);
    const currency = requested ?? record?.currency;
    const account = record?.merchantId && !options?.account ? this.config.selectAccount({ account: record.merchantId }) : this.config.selectAccount(options, currency);
    return { body, account, currency: currency ?? soleCurrency(account.currencies) };
  }

  /** What the store knows of an order, to pick its account and scale when the caller did not say. */
  private async recordOf(body: CashyPayOutQueryBody): Promise<{ merchantId?: string; currency?: PayoutCurrency } | undefined> {
    try {
      if (body.orderNo) return await this.store.get(body.orderNo);
      return (await this.store.findByMchOrderNo(body.mchOrderNo!)) ?? (await this.store.getAttempt(body.mchOrderNo!));
    } catch {
      return undefined;
    }
  }

  private async storeCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new PayoutStoreError(operation, error);
    }
  }
}

/** Whether two decimal amounts are equal; an unparsable one equals nothing. */
function sameAmount(a: unknown, b: unknown): boolean {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  return x !== undefined && y !== undefined && compareDecimals(x, y) === 0;
}

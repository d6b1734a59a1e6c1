import { Injectable, Logger } from '@nestjs/common';
import { CASHY_AMBIGUOUS_MESSAGE, CASHY_ENDPOINTS } from './client/cashy-endpoints';
import { CashyHttpClient, isTransientApiError } from './client/cashy-http.client';
import { soleCurrency, toPayoutBalance, toPayoutBanks, toPayoutOrder } from './client/cashy-response.mapper';
import { CashyTransportError } from './client/cashy-transport.error';
import type { CreatePayoutDto } from './dto/create-payout.dto';
import type { QueryPayoutDto } from './dto/query-payout.dto';
import { CashyApiError } from './errors/cashy-api.error';
import { PayoutError } from './errors/payout.error';
import { PayoutOutcomeUnknownError } from './errors/payout-outcome-unknown.error';
import { PayoutValidationError } from './errors/payout-validation.error';
import type { PayoutBalance, PayoutBank, PayoutCurrency, PayoutOrder } from './interfaces/payout-types.interface';
import { marketOf } from './markets/payout-markets';
import { parseDecimal } from './money/decimal';
import type { CashyAccount } from './options/cashy-account';
import { PayoutConfig, type PayoutAccountSelector } from './options/payout-config';
import { PayoutOutcomeProcessor } from './outcome/payout-outcome.processor';
import type { PayoutReportResult } from './outcome/payout-status-report.interface';
import { maskTail } from './utils/mask';
import { checkCreatePayout, type CashyPayOutBody } from './validation/create-payout.rules';
import { checkPayoutNotification } from './validation/payout-notification.rules';
import { checkQueryPayout } from './validation/query-payout.rules';

/** Per-call options of every `PayoutService` method. */
export type PayoutCallOptions = PayoutAccountSelector;

/** Cashy's wording for a reused mchOrderNo is unpublished; match the plausible spellings. */
const DUPLICATE_ORDER_MSG = /^(?!.*not_?exist).*(mchOrderNo.*(repeat|exist|duplicat|used)|order.*(repeat|duplicat))/i;
/** Cashy's wording for an unknown order is unpublished too; only these count as "the gateway does not have it". */
const ORDER_NOT_FOUND_MSG = /not_?exist|not_?found|no_?order/i;

/** True when a lookup's error says the gateway definitely does not hold the order. */
function isOrderNotFound(error: unknown): boolean {
  return error instanceof CashyApiError && ORDER_NOT_FOUND_MSG.test(error.msg);
}

function requireCurrency(input: { currency?: unknown } | undefined): PayoutCurrency {
  const currency = input?.currency;
  if (!marketOf(currency)) {
    throw new PayoutValidationError([{ field: 'currency', rule: 'currency', message: 'currency must be one of PEN, MXN' }]);
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
  ) {}

  /**
   * Creates a payout (`POST /api/payOut`). Safe under network failure: an ambiguous attempt is
   * followed by a lookup of the same `mchOrderNo`, and the create is sent again only when the
   * gateway does not have the order. Throws `PayoutValidationError` (nothing sent),
   * `CashyApiError` (rejected) or `PayoutOutcomeUnknownError` (reconcile with `queryPayout`).
   */
  async createPayout(input: CreatePayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder> {
    const { errors, body } = checkCreatePayout(input, { limits: this.config.limits, defaultNotifyUrl: this.config.notifyUrl });
    if (!body) throw new PayoutValidationError(errors);
    const account = this.config.selectAccount(options, body.currency);
    this.logger.log(
      `payout ${body.mchOrderNo}: ${body.amount} ${body.currency} to bank ${body.bankId} account ${maskTail(body.accountNo)} (merchant ${account.merchantId})`,
    );

    let mustLookUp = false;
    let uncertain = false;
    let lookupRejected = false;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.config.retry.attempts; attempt++) {
      if (attempt > 1) await this.client.backoff(attempt - 1);
      if (mustLookUp) {
        try {
          const existing = await this.findOrder(account, body);
          if (existing) return existing;
          mustLookUp = false; // the gateway definitely has no such order: sending it again is safe
        } catch (error) {
          if (!(error instanceof CashyTransportError) && !(error instanceof CashyApiError)) throw error;
          lastError = error;
          if (error instanceof CashyTransportError || isTransientApiError(error, true)) continue;
          // A definite error on the lookup (a signing or merchant problem) says nothing about the create.
          lookupRejected = true;
          break;
        }
      }
      try {
        const data = await this.client.send(account, CASHY_ENDPOINTS.payOut, body);
        const order = toPayoutOrder(data, CASHY_ENDPOINTS.payOut, { currency: body.currency, mchOrderNo: body.mchOrderNo });
        await this.remember(order, body.currency);
        return order;
      } catch (error) {
        lastError = error;
        if (error instanceof CashyTransportError || (error instanceof CashyApiError && error.msg === CASHY_AMBIGUOUS_MESSAGE)) {
          uncertain = mustLookUp = true;
        } else if (error instanceof CashyApiError && DUPLICATE_ORDER_MSG.test(error.msg)) {
          mustLookUp = true;
        } else if (!isTransientApiError(error, false)) {
          throw error; // a definite rejection: never retried
        }
      }
    }
    if (mustLookUp && !lookupRejected) {
      // The budget is spent, but one more look costs nothing and often turns "unknown" into an answer.
      const existing = await this.findOrder(account, body).catch((error: unknown) => {
        if (error instanceof CashyTransportError || error instanceof CashyApiError) return undefined;
        throw error;
      });
      if (existing) return existing;
    }
    if (uncertain || mustLookUp) {
      const reason = lastError instanceof Error ? lastError.message : 'no usable answer';
      this.logger.warn(`payout ${body.mchOrderNo}: outcome unknown after ${this.config.retry.attempts} attempts (${reason})`);
      throw new PayoutOutcomeUnknownError(body.mchOrderNo, reason);
    }
    throw lastError;
  }

  /** Reads one order (`POST /api/payOutQuery`); an order the gateway does not know raises `CashyApiError`. */
  async queryPayout(input: QueryPayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder> {
    return (await this.fetchOrder(input, options)).order;
  }

  /**
   * Settles what the host does not know yet: queries the order and feeds the answer through the same
   * state machine and store as webhooks, so its event is emitted exactly once whichever of the query
   * and the webhook comes first. Resolves with the order once any listener has run, or with `null`
   * when the gateway definitely does not have it (after `PayoutOutcomeUnknownError`, the create may
   * then be sent again with the same `mchOrderNo`).
   */
  async reconcile(input: QueryPayoutDto, options?: PayoutCallOptions): Promise<PayoutOrder | null> {
    let fetched: Awaited<ReturnType<PayoutService['fetchOrder']>>;
    try {
      fetched = await this.fetchOrder(input, options);
    } catch (error) {
      if (isOrderNotFound(error)) return null;
      throw error;
    }
    const { order, raw, account, currency } = fetched;
    await this.outcomes.apply({
      merchantId: order.merchantId || account.merchantId,
      mchOrderNo: order.mchOrderNo,
      orderNo: order.orderNo,
      ...(order.channelOrderNo !== undefined ? { channelOrderNo: order.channelOrderNo } : {}),
      amount: order.amount === null ? null : parseDecimal(order.amount)!,
      fee: order.fee === null ? null : parseDecimal(order.fee)!,
      orderStatus: order.orderStatus,
      completionTime: order.completionTime,
      resultDesc: order.resultDesc ?? null,
      raw,
      currency,
    });
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
   * account `merchantId`: dedupes it, runs the state machine and emits the event once. Resolves
   * when every listener has succeeded; rejects with `PayoutValidationError` for a malformed body.
   */
  handleNotification(body: unknown, merchantId: string): Promise<PayoutReportResult> {
    // Not `async`: on the webhook's hot path the processor's promise is handed back as is.
    const { errors, report } = checkPayoutNotification(body);
    if (!report) return Promise.reject(new PayoutValidationError(errors));
    if (report.merchantId !== merchantId) {
      return Promise.reject(
        new PayoutValidationError([{ field: 'merchantId', rule: 'merchantMatch', message: 'merchantId in the body does not match the MerchantId header' }]),
      );
    }
    report.currency = soleCurrency(this.config.accountByMerchantId(merchantId)?.currencies);
    return this.outcomes.apply(report);
  }

  private async fetchOrder(input: QueryPayoutDto, options?: PayoutCallOptions) {
    const { errors, body, currency: requested } = checkQueryPayout(input);
    if (!body) throw new PayoutValidationError(errors);
    const record = requested ? undefined : await this.knownOrder(body);
    const currency = requested ?? record?.currency;
    const account = record?.merchantId && !options?.account ? this.config.selectAccount({ account: record.merchantId }) : this.config.selectAccount(options, currency);
    const raw = await this.client.sendIdempotent(account, CASHY_ENDPOINTS.payOutQuery, body);
    const known = currency ?? soleCurrency(account.currencies);
    const order = toPayoutOrder(raw, CASHY_ENDPOINTS.payOutQuery, { currency: known, mchOrderNo: body.mchOrderNo });
    return { order, raw: raw as Record<string, unknown>, account, currency: known };
  }

  /** What the store knows of an order, to pick its account and scale when the caller did not say. */
  private async knownOrder(body: { orderNo?: string; mchOrderNo?: string }) {
    try {
      return body.orderNo ? await this.outcomes.recall(body.orderNo) : await this.outcomes.recallByMchOrderNo(body.mchOrderNo!);
    } catch {
      return undefined;
    }
  }

  private async findOrder(account: CashyAccount, body: CashyPayOutBody): Promise<PayoutOrder | undefined> {
    let data: unknown;
    try {
      data = await this.client.send(account, CASHY_ENDPOINTS.payOutQuery, { mchOrderNo: body.mchOrderNo });
    } catch (error) {
      if (isOrderNotFound(error)) return undefined;
      throw error;
    }
    const order = toPayoutOrder(data, CASHY_ENDPOINTS.payOutQuery, { currency: body.currency, mchOrderNo: body.mchOrderNo });
    if (order.amount !== null && order.amount !== body.amount) {
      throw new PayoutError(
        `mchOrderNo ${body.mchOrderNo} already belongs to another payout (${order.amount} ${body.currency}, order ${order.orderNo}); use a new mchOrderNo for a new payout`,
      );
    }
    await this.remember(order, body.currency);
    return order;
  }

  private async remember(order: PayoutOrder, currency: PayoutCurrency): Promise<void> {
    try {
      await this.outcomes.remember(order, currency);
    } catch (error) {
      // The payout exists; losing this hint only means a later webhook infers the market from the account.
      this.logger.warn(`payout ${order.mchOrderNo}: could not record it in the store (${(error as Error).message})`);
    }
  }
}

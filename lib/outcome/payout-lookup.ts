import { Injectable } from '@nestjs/common';
import {
  CASHY_ENDPOINTS,
  type CashyEndpoint,
  classifyLookupAnswer,
  type LookupOutcome,
} from '../client/cashy-protocol';
import { CashyHttpClient } from '../client/cashy-http.client';
import { idText, isAbsent } from '../client/cashy-wire';
import { PayoutClock } from '../clock/payout.clock';
import type { CashyAccount } from '../options/cashy-account';
import { PayoutConfig } from '../options/payout-config';
import { payoutDiagnostics } from '../payout.diagnostics';
import { CashyTransportError } from '../payout.errors';
import type { CashyPayOutQueryBody } from '../validation/query-payout.rules';
import { PayoutOutcomeProcessor } from './payout-outcome.processor';

/**
 * A lookup's classified answer, with the time (on the module's clock) it was sent: a "not found"
 * describes the gateway as it was then at the latest, so the re-send window is judged by it (rule 3).
 */
export type SentLookup = LookupOutcome & { sentAt: number };

/** Looks orders up (`POST /api/payOutQuery`) for the create loop and for reconciliation (rule 5). */
@Injectable()
export class PayoutLookup {
  constructor(
    private readonly client: CashyHttpClient,
    private readonly config: PayoutConfig,
    private readonly outcomes: PayoutOutcomeProcessor,
    private readonly clock: PayoutClock,
  ) {}

  /** One lookup, classified, with the time it was sent. */
  async once(
    account: CashyAccount,
    body: CashyPayOutQueryBody,
    attempt: number,
  ): Promise<SentLookup> {
    // Read before the request is even queued: an early time only makes the window stricter.
    const sentAt = this.clock.now();
    const found = await this.classify(account, body, attempt);
    return { ...found, sentAt };
  }

  /** A lookup retried while the failure may pass, within the retry policy; `sentAt` is the last one's. */
  async withRetries(account: CashyAccount, body: CashyPayOutQueryBody): Promise<SentLookup> {
    for (let attempt = 1; ; attempt++) {
      const found = await this.once(account, body, attempt);
      if (found.kind !== 'failed' || !found.retryable || attempt >= this.config.retry.attempts)
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

  private async classify(
    account: CashyAccount,
    body: CashyPayOutQueryBody,
    attempt: number,
  ): Promise<LookupOutcome> {
    const answer = await this.client
      .post(account, CASHY_ENDPOINTS.payOutQuery, body, attempt)
      .catch((error: unknown) => asTransportError(error, CASHY_ENDPOINTS.payOutQuery));
    const found = classifyLookupAnswer(answer, CASHY_ENDPOINTS.payOutQuery, this.config.messages);
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
      error: new CashyTransportError('unparsable', CASHY_ENDPOINTS.payOutQuery, other),
      retryable: true,
    };
  }
}

/** How an answer names another order than `expected` (by mchOrderNo or orderNo), if it does. */
export function otherOrder(
  data: Record<string, unknown>,
  expected: { mchOrderNo?: string; orderNo?: string },
): string | undefined {
  const mchOrderNo = idText(data.mchOrderNo);
  if (
    expected.mchOrderNo !== undefined &&
    !isAbsent(data.mchOrderNo) &&
    mchOrderNo !== expected.mchOrderNo
  ) {
    return `answer names mchOrderNo ${String(data.mchOrderNo)}, not ${expected.mchOrderNo}`;
  }
  if (expected.orderNo !== undefined && data.orderNo !== expected.orderNo)
    return `answer names order ${String(data.orderNo)}, not ${expected.orderNo}`;
  return undefined;
}

/** Any failure of the transport, as the ambiguous `CashyTransportError` it stands for. */
export function asTransportError(error: unknown, endpoint: CashyEndpoint): CashyTransportError {
  return error instanceof CashyTransportError
    ? error
    : new CashyTransportError('connection', endpoint, (error as Error)?.message ?? String(error));
}

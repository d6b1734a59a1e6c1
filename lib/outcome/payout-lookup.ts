import { Injectable } from '@nestjs/common';
import {
  type CashyAnswer,
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
import { CashyTransportError, errorMessage } from '../payout.errors';
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
    const endpoint = CASHY_ENDPOINTS.payOutQuery;
    const answer = await postAttempt(this.client, account, endpoint, body, attempt);
    const found = classifyLookupAnswer(answer, endpoint, this.config.messages);
    if (found.kind !== 'found') return { ...found, sentAt };
    // An answer about another order is no answer about this one (rules 5 and 7).
    const other = otherOrder(found.data, body);
    if (!other) return { ...found, sentAt };
    await this.outcomes.reportAnomaly({
      kind: 'answer',
      merchantId: account.merchantId,
      mchOrderNo: body.mchOrderNo ?? String(found.data.mchOrderNo ?? ''),
      orderNo: body.orderNo ?? String(found.data.orderNo ?? ''),
      status: String(found.data.orderStatus ?? ''),
      reason: other,
      raw: found.data,
    });
    const error = new CashyTransportError('unparsable', endpoint, other);
    return { kind: 'failed', error, retryable: true, sentAt };
  }

  /** A lookup retried while the failure may pass, within the retry policy; `sentAt` is the last one's. */
  withRetries(account: CashyAccount, body: CashyPayOutQueryBody): Promise<SentLookup> {
    return this.client.retry(
      CASHY_ENDPOINTS.payOutQuery,
      account,
      (attempt) => this.once(account, body, attempt),
      (found) => (found.kind === 'failed' && found.retryable ? found.error.message : undefined),
    );
  }
}

/** How an answer names another order than the one expected (by mchOrderNo or orderNo), if it does. */
export function otherOrder(
  data: Record<string, unknown>,
  { mchOrderNo, orderNo }: { mchOrderNo?: string; orderNo?: string },
): string | undefined {
  if (
    mchOrderNo !== undefined &&
    !isAbsent(data.mchOrderNo) &&
    idText(data.mchOrderNo) !== mchOrderNo
  )
    return `answer names mchOrderNo ${String(data.mchOrderNo)}, not ${mchOrderNo}`;
  if (orderNo !== undefined && data.orderNo !== orderNo)
    return `answer names order ${String(data.orderNo)}, not ${orderNo}`;
  return undefined;
}

/**
 * Sends one attempt. Whatever the transport throws, the bytes may have left: it resolves as the
 * ambiguous `CashyTransportError`, never read as a rejection (rule 1).
 */
export function postAttempt(
  client: CashyHttpClient,
  account: CashyAccount,
  endpoint: CashyEndpoint,
  body: object,
  attempt: number,
): Promise<CashyAnswer | CashyTransportError> {
  return client.post(account, endpoint, body, attempt).catch((error: unknown) => {
    if (error instanceof CashyTransportError) return error;
    return new CashyTransportError('connection', endpoint, errorMessage(error));
  });
}

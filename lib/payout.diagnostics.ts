import { channel } from 'node:diagnostics_channel';
import type { CashyTransportFailure } from './payout.errors';
import type { PayoutReportResult } from './outcome/payout-status-report.interface';

/**
 * `node:diagnostics_channel` names the module publishes on. Subscribe with
 * `diagnostics_channel.subscribe(PAYOUT_DIAGNOSTICS_CHANNELS.request, onMessage)`; with no
 * subscriber, nothing is built or published.
 */
export const PAYOUT_DIAGNOSTICS_CHANNELS = {
  /** Every gateway request, once it is answered or has failed: `PayoutRequestMessage`. */
  request: 'nestjs-cashy-payout:request',
  /** Every retry of a gateway call, before its backoff: `PayoutRetryMessage`. */
  retry: 'nestjs-cashy-payout:retry',
  /** Every create that ends in `PayoutOutcomeUnknownError`: `PayoutOutcomeUnknownMessage`. */
  outcomeUnknown: 'nestjs-cashy-payout:outcome-unknown',
  /** Every webhook answer, the guard's refusals included: `PayoutWebhookMessage`. */
  webhook: 'nestjs-cashy-payout:webhook',
  /** Every sweep of the built-in reconciliation: `PayoutSweepMessage`. */
  sweep: 'nestjs-cashy-payout:sweep',
} as const;

/** One gateway request. Never carries a body, a Sign or an apiKey. */
export interface PayoutRequestMessage {
  endpoint: string;
  merchantId: string;
  /** 1 for the first attempt of a call, 2 for its first retry, … */
  attempt: number;
  durationMs: number;
  /** `answered` (whatever the answer said), or why there was no answer. */
  outcome: 'answered' | CashyTransportFailure;
  httpStatus?: number;
  /** Cashy's envelope `code` and `msg`, when the answer had one. */
  code?: number;
  msg?: string;
}

/** A gateway call about to be tried again. */
export interface PayoutRetryMessage {
  endpoint: string;
  merchantId: string;
  /** The attempt about to be made (2 for the first retry). */
  attempt: number;
  reason: string;
}

/** A create whose outcome is unknown (`PayoutOutcomeUnknownError`). */
export interface PayoutOutcomeUnknownMessage {
  mchOrderNo: string;
  merchantId: string;
  reason: string;
}

/** One webhook answer. */
export interface PayoutWebhookMessage {
  status: number;
  /**
   * `acknowledged`, or why not: `content-type`, `too-large`, `raw-body`, `merchant`, `signature`,
   * `invalid`, `busy`, `store`, `listener-failed`.
   */
  reason: string;
  merchantId?: string;
  orderNo?: string;
  /** What applying it did, for an acknowledged notification. */
  result?: PayoutReportResult;
  durationMs?: number;
}

/** One sweep of the built-in reconciliation: how many payouts it checked, by result. */
export interface PayoutSweepMessage {
  durationMs: number;
  settled: number;
  open: number;
  not_created: number;
  unknown: number;
  failed: number;
  abandoned: number;
}

/** A publisher on `name` that builds its message only when someone subscribes. */
function publisher<T>(name: string): (build: () => T) => void {
  const onChannel = channel(name);
  return (build) => {
    if (onChannel.hasSubscribers) onChannel.publish(build());
  };
}

const requestChannel = channel(PAYOUT_DIAGNOSTICS_CHANNELS.request);

/** Publishers: each builds its message only when someone subscribes. */
export const payoutDiagnostics = {
  get requestObserved(): boolean {
    return requestChannel.hasSubscribers;
  },
  request: publisher<PayoutRequestMessage>(PAYOUT_DIAGNOSTICS_CHANNELS.request),
  retry: publisher<PayoutRetryMessage>(PAYOUT_DIAGNOSTICS_CHANNELS.retry),
  outcomeUnknown: publisher<PayoutOutcomeUnknownMessage>(
    PAYOUT_DIAGNOSTICS_CHANNELS.outcomeUnknown,
  ),
  webhook: publisher<PayoutWebhookMessage>(PAYOUT_DIAGNOSTICS_CHANNELS.webhook),
  sweep: publisher<PayoutSweepMessage>(PAYOUT_DIAGNOSTICS_CHANNELS.sweep),
};

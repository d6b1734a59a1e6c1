import { OnEvent } from '@nestjs/event-emitter';
import {
  PAYOUT_ANOMALY,
  PAYOUT_FAILED,
  PAYOUT_NOT_CREATED,
  PAYOUT_SUCCEEDED,
} from './payout.events';

type OnEventOptions = Exclude<Parameters<typeof OnEvent>[1], undefined>;

/** `@OnEvent` options a payout listener may set; errors are never suppressed. */
export type PayoutListenerOptions = Omit<OnEventOptions, 'suppressErrors' | 'async'>;

/**
 * A decorator factory for one payout event's listeners. A thrown listener must reach the webhook so
 * it answers 500 and Cashy retries; `async` would detach the listener from emitAsync and let the
 * webhook acknowledge before it settled.
 */
const payoutListener =
  (event: string) =>
  (options?: PayoutListenerOptions): MethodDecorator =>
    OnEvent(event, { ...options, suppressErrors: false, async: false });

/** Marks a method as a `payout.succeeded` listener. Its errors make the webhook answer 500. */
export const OnPayoutSucceeded = payoutListener(PAYOUT_SUCCEEDED);

/** Marks a method as a `payout.failed` listener. Its errors make the webhook answer 500. */
export const OnPayoutFailed = payoutListener(PAYOUT_FAILED);

/** Marks a method as a `payout.anomaly` listener. Its errors make the webhook answer 500. */
export const OnPayoutAnomaly = payoutListener(PAYOUT_ANOMALY);

/**
 * Marks a method as a `payout.not_created` listener. Its errors are logged and the check is repeated
 * later, so the event comes again until a listener succeeds.
 */
export const OnPayoutNotCreated = payoutListener(PAYOUT_NOT_CREATED);

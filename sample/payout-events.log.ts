import { Injectable, Logger } from '@nestjs/common';
import {
  OnPayoutFailed,
  OnPayoutSucceeded,
  PAYOUT_FAILED,
  PAYOUT_SUCCEEDED,
  PayoutFailedEvent,
  PayoutSucceededEvent,
} from 'nestjs-cashy-payout';
import { PayoutLedger } from './payout.ledger';

/** One event as `GET /events` lists it. */
export interface LoggedPayoutEvent {
  name: typeof PAYOUT_SUCCEEDED | typeof PAYOUT_FAILED;
  payload: PayoutSucceededEvent | PayoutFailedEvent;
}

/**
 * The sample's listeners: they log every payout event and keep it for `GET /events`. Set
 * `failNext` to make the next listener call throw, to watch Cashy's retry (the webhook answers 500).
 */
@Injectable()
export class PayoutEventsLog {
  private readonly logger = new Logger('PayoutEvents');
  readonly events: LoggedPayoutEvent[] = [];
  failNext = 0;

  constructor(private readonly ledger: PayoutLedger) {}

  @OnPayoutSucceeded()
  onSucceeded(event: PayoutSucceededEvent): void {
    this.record(PAYOUT_SUCCEEDED, event);
  }

  @OnPayoutFailed()
  onFailed(event: PayoutFailedEvent): void {
    this.record(PAYOUT_FAILED, event);
  }

  private record(
    name: LoggedPayoutEvent['name'],
    payload: PayoutSucceededEvent | PayoutFailedEvent,
  ): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error(`sample listener failing on purpose for ${payload.mchOrderNo}`);
    }
    // Listeners must be idempotent in real apps; here the module already guarantees one event per outcome.
    this.events.push({ name, payload });
    const account = this.ledger.maskedAccount(payload.mchOrderNo);
    const detail =
      'reversed' in payload && payload.reversed
        ? ` (reversed: ${payload.reason})`
        : payload.status === 'SUCCESS'
          ? ''
          : ` (${payload.resultDesc})`;
    this.logger.log(
      `${name} ${payload.mchOrderNo} ${payload.amount ?? '?'} to ${account}${detail}`,
    );
  }
}

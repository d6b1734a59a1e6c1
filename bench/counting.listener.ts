import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { OnPayoutSucceeded, type PayoutSucceededEvent } from 'nestjs-cashy-payout';
import { SIGNED_EVENT } from './bench.config';

/** The one listener a typical host has: counts `payout.succeeded` events (and the hand-written route's events). */
@Injectable()
export class CountingListener {
  succeeded = 0;
  signed = 0;

  @OnPayoutSucceeded()
  async onSucceeded(event: PayoutSucceededEvent): Promise<void> {
    if (event.orderNo) this.succeeded++;
  }

  @OnEvent(SIGNED_EVENT, { suppressErrors: false })
  async onSigned(body: Record<string, unknown>): Promise<void> {
    if (body.orderNo) this.signed++;
  }
}

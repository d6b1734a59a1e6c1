import { Injectable } from '@nestjs/common';
import { OnPayoutSucceeded, type PayoutSucceededEvent } from 'nestjs-cashy-payout';

/** The one listener a typical host has: counts `payout.succeeded` events. */
@Injectable()
export class CountingListener {
  succeeded = 0;

  @OnPayoutSucceeded()
  async onSucceeded(event: PayoutSucceededEvent): Promise<void> {
    if (event.orderNo) this.succeeded++;
  }
}

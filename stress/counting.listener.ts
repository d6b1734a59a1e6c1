import { Injectable } from '@nestjs/common';
import {
  OnPayoutAnomaly,
  OnPayoutFailed,
  OnPayoutSucceeded,
  type PayoutAnomalyEvent,
  type PayoutFailedEvent,
  type PayoutSucceededEvent,
} from 'nestjs-cashy-payout';

/**
 * The host's listener: counts every payout event per `orderNo` (the event's name, in order), and
 * every `payout.anomaly`. `delayMs` makes each payout listener take that long (the slow-listener
 * case); an event is counted once its listener has finished, as a host records it.
 */
@Injectable()
export class CountingListener {
  /** Event names per orderNo, oldest first. */
  readonly events = new Map<string, string[]>();
  /** `payout.anomaly` events: kind and orderNo. */
  readonly anomalies: { kind: string; orderNo: string }[] = [];
  delayMs = 0;

  @OnPayoutSucceeded()
  async succeeded(event: PayoutSucceededEvent): Promise<void> {
    await this.handle(event.orderNo, 'payout.succeeded');
  }

  @OnPayoutFailed()
  async failed(event: PayoutFailedEvent): Promise<void> {
    await this.handle(event.orderNo, event.reversed ? 'payout.failed:reversed' : 'payout.failed');
  }

  @OnPayoutAnomaly()
  anomaly(event: PayoutAnomalyEvent): void {
    this.anomalies.push({ kind: event.kind, orderNo: event.orderNo });
  }

  /** How many payout events `orderNo` received so far. */
  count(orderNo: string): number {
    return this.events.get(orderNo)?.length ?? 0;
  }

  private async handle(orderNo: string, name: string): Promise<void> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const list = this.events.get(orderNo);
    if (list) list.push(name);
    else this.events.set(orderNo, [name]);
  }
}

import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import {
  OnPayoutAnomaly,
  OnPayoutFailed,
  OnPayoutNotCreated,
  OnPayoutSucceeded,
  PayoutAnomalyEvent,
  PayoutFailedEvent,
  PayoutModule,
  PayoutNotCreatedEvent,
  type PayoutModuleOptions,
  PayoutService,
  type PayoutStore,
  PayoutSucceededEvent,
} from 'nestjs-cashy-payout';

/** One `payout.anomaly` the host received. */
export interface SoakAnomaly {
  kind: string;
  mchOrderNo: string;
  orderNo: string;
  status: string;
  reason: string;
}

/**
 * Counts the events each payout received (`payout.succeeded`, `payout.failed`,
 * `payout.failed:reversed`) and keeps every `payout.anomaly`.
 */
@Injectable()
export class SoakListener {
  readonly events = new Map<string, string[]>();
  readonly anomalies: SoakAnomaly[] = [];

  @OnPayoutSucceeded()
  succeeded(event: PayoutSucceededEvent): void {
    this.add(event.mchOrderNo, 'payout.succeeded');
  }

  @OnPayoutFailed()
  failed(event: PayoutFailedEvent): void {
    this.add(event.mchOrderNo, event.reversed ? 'payout.failed:reversed' : 'payout.failed');
  }

  @OnPayoutNotCreated()
  notCreated(event: PayoutNotCreatedEvent): void {
    this.add(event.mchOrderNo, 'payout.not_created');
  }

  @OnPayoutAnomaly()
  anomaly(event: PayoutAnomalyEvent): void {
    this.anomalies.push({
      kind: event.kind,
      mchOrderNo: event.mchOrderNo,
      orderNo: event.orderNo,
      status: event.status,
      reason: event.reason,
    });
  }

  private add(mchOrderNo: string, name: string): void {
    const list = this.events.get(mchOrderNo) ?? [];
    list.push(name);
    this.events.set(mchOrderNo, list);
  }
}

/** A Nest host on `port` whose PayoutModule talks to `gateway`, with `store` when given. */
export async function startSoakHost(
  port: number,
  gateway: PayoutModuleOptions,
  store?: PayoutStore,
): Promise<{
  app: INestApplication;
  payouts: PayoutService;
  listener: SoakListener;
}> {
  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({ ...gateway, ...(store ? { store } : {}) }),
    ],
    providers: [SoakListener],
  })
  class SoakHostModule {}

  const app = await NestFactory.create(SoakHostModule, {
    rawBody: true,
    logger: ['error'],
    abortOnError: false,
  });
  try {
    await app.listen(port, '127.0.0.1');
  } catch (error) {
    // Nothing else will close an app that never started listening.
    await app.close().catch(() => undefined);
    throw error;
  }
  return {
    app,
    payouts: app.get(PayoutService),
    listener: app.get(SoakListener),
  };
}

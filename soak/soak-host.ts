import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import {
  OnPayoutFailed,
  OnPayoutSucceeded,
  PayoutFailedEvent,
  PayoutModule,
  type PayoutModuleOptions,
  PayoutService,
  type PayoutStore,
  PayoutSucceededEvent,
} from 'nestjs-cashy-payout';

/** Counts the events each payout received: `payout.succeeded`, `payout.failed`, `payout.failed:reversed`. */
@Injectable()
export class SoakListener {
  readonly events = new Map<string, string[]>();

  @OnPayoutSucceeded()
  succeeded(event: PayoutSucceededEvent): void {
    this.add(event.mchOrderNo, 'payout.succeeded');
  }

  @OnPayoutFailed()
  failed(event: PayoutFailedEvent): void {
    this.add(event.mchOrderNo, event.reversed ? 'payout.failed:reversed' : 'payout.failed');
  }

  private add(mchOrderNo: string, name: string): void {
    const list = this.events.get(mchOrderNo) ?? [];
    list.push(name);
    this.events.set(mchOrderNo, list);
  }
}

/** A Nest host on `port` whose PayoutModule talks to `gateway`, with `store` when given. */
export async function startSoakHost(port: number, gateway: PayoutModuleOptions, store?: PayoutStore): Promise<{ app: INestApplication; payouts: PayoutService; listener: SoakListener }> {
  @Module({
    imports: [EventEmitterModule.forRoot(), PayoutModule.forRoot({ ...gateway, ...(store ? { store } : {}) })],
    providers: [SoakListener],
  })
  class SoakHostModule {}

  const app = await NestFactory.create(SoakHostModule, { rawBody: true, logger: ['error'], abortOnError: false });
  await app.listen(port, '127.0.0.1');
  return { app, payouts: app.get(PayoutService), listener: app.get(SoakListener) };
}

import {
  type DynamicModule,
  Injectable,
  type INestApplication,
  Module,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  OnPayoutAnomaly,
  OnPayoutFailed,
  OnPayoutSucceeded,
  PayoutAnomalyEvent,
  PayoutFailedEvent,
  PayoutSucceededEvent,
} from '../../lib';

/** Both HTTP adapters every e2e suite runs on. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** Events the test listener saw, in order, and a switch to make it throw. */
@Injectable()
export class RecordingListener {
  readonly events: {
    name: string;
    payload: PayoutSucceededEvent | PayoutFailedEvent;
  }[] = [];
  /** `payout.anomaly` events, kept apart from the payout events. */
  readonly anomalies: PayoutAnomalyEvent[] = [];
  /** How many of the next calls throw. */
  failNext = 0;
  /** Delay inside the listener, to widen race windows. */
  delayMs = 0;
  /** Payout listener calls under way (a test can wait until one is running). */
  inFlight = 0;

  @OnPayoutSucceeded()
  async succeeded(event: PayoutSucceededEvent): Promise<void> {
    await this.handle('payout.succeeded', event);
  }

  @OnPayoutFailed()
  async failed(event: PayoutFailedEvent): Promise<void> {
    await this.handle('payout.failed', event);
  }

  @OnPayoutAnomaly()
  anomaly(event: PayoutAnomalyEvent): void {
    this.anomalies.push(event);
  }

  private async handle(
    name: string,
    payload: PayoutSucceededEvent | PayoutFailedEvent,
  ): Promise<void> {
    this.inFlight++;
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.failNext > 0) {
        this.failNext--;
        throw new Error('listener failed on purpose');
      }
      this.events.push({ name, payload });
    } finally {
      this.inFlight--;
    }
  }
}

/** Boots a real Nest app on an ephemeral port with `rawBody: true` (unless told otherwise). */
export async function startHostApp(
  adapter: AdapterName,
  payoutModule: DynamicModule,
  extra: {
    controllers?: Type[];
    providers?: Provider[];
    imports?: DynamicModule[];
    rawBody?: boolean;
    eventEmitter?: boolean | 'after';
    /** Runs before the app listens (global filters, pipes). */
    configure?: (app: INestApplication) => void;
  } = {},
): Promise<{
  app: INestApplication;
  url: string;
  listener: RecordingListener;
}> {
  @Module({
    imports:
      extra.eventEmitter === 'after'
        ? [payoutModule, ...(extra.imports ?? []), EventEmitterModule.forRoot()]
        : [
            ...(extra.eventEmitter === false ? [] : [EventEmitterModule.forRoot()]),
            payoutModule,
            ...(extra.imports ?? []),
          ],
    controllers: extra.controllers ?? [],
    providers: [RecordingListener, ...(extra.providers ?? [])],
  })
  class HostModule {}

  const options = {
    rawBody: extra.rawBody ?? true,
    logger: false as const,
    abortOnError: false,
  };
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(HostModule, new FastifyAdapter(), options)
      : await NestFactory.create(HostModule, options);
  extra.configure?.(app);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, listener: app.get(RecordingListener) };
}

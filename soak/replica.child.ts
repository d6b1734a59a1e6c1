/**
 * One replica of a host, in its own process (forked by `replica.process.ts`): a Nest app with
 * `PayoutModule` on a shared Redis or PostgreSQL database, its sweep on, a listener that reports
 * every event to the parent and returns only once the parent has recorded it, and `createPayout` on
 * the parent's request. Its wall clock may be skewed and stepped by a `--require` hook; the module
 * must decide nothing on it.
 */
import 'reflect-metadata';
import { Injectable, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import {
  CashyApiError,
  type CreatePayoutDto,
  OnPayoutAnomaly,
  OnPayoutFailed,
  OnPayoutNotCreated,
  OnPayoutSucceeded,
  type PayoutAnomalyEvent,
  type PayoutFailedEvent,
  PayoutModule,
  type PayoutModuleOptions,
  type PayoutNotCreatedEvent,
  PayoutOutcomeUnknownError,
  PayoutService,
  type PayoutStore,
  type PayoutSucceededEvent,
} from 'nestjs-cashy-payout';
import { PostgresPayoutStore } from 'nestjs-cashy-payout/postgres';
import { RedisPayoutStore } from 'nestjs-cashy-payout/redis';
import type {
  ReplicaReply,
  ReplicaRequest,
  ReplicaStartOptions,
  ReplicaStoreOptions,
} from './replica.process';

const send = (message: ReplicaReply) => process.send!(message);
const acks = new Map<number, () => void>();
let nextEventId = 0;

/** Reports each event and waits until the parent recorded it, as a host's ledger write would. */
@Injectable()
class ReportingListener {
  static delayMs = 0;

  @OnPayoutSucceeded()
  succeeded(event: PayoutSucceededEvent): Promise<void> {
    return this.report(event.mchOrderNo, event.orderNo, 'payout.succeeded');
  }

  @OnPayoutFailed()
  failed(event: PayoutFailedEvent): Promise<void> {
    const name = event.reversed ? 'payout.failed:reversed' : 'payout.failed';
    return this.report(event.mchOrderNo, event.orderNo, name);
  }

  @OnPayoutNotCreated()
  notCreated(event: PayoutNotCreatedEvent): Promise<void> {
    return this.report(event.mchOrderNo, '', 'payout.not_created');
  }

  @OnPayoutAnomaly()
  anomaly(event: PayoutAnomalyEvent): Promise<void> {
    return this.report(event.mchOrderNo, event.orderNo, `payout.anomaly:${event.kind}`);
  }

  private async report(mchOrderNo: string, orderNo: string, name: string): Promise<void> {
    if (ReportingListener.delayMs > 0)
      await new Promise((resolve) => setTimeout(resolve, ReportingListener.delayMs));
    const id = nextEventId++;
    const recorded = new Promise<void>((resolve) => acks.set(id, resolve));
    send({ type: 'event', id, mchOrderNo, orderNo, name });
    await recorded;
  }
}

/** The shared store, and how to let go of it once the app is closed. */
async function openStore(
  options: ReplicaStoreOptions,
): Promise<{ store: PayoutStore; close: () => Promise<void> }> {
  if (options.kind === 'postgres') {
    const store = new PostgresPayoutStore({
      connection: options.url,
      tablePrefix: options.tablePrefix,
    });
    // Both replicas migrate at start, as a host would; the store's advisory lock orders them.
    await store.migrate();
    return { store, close: () => store.close() };
  }
  const client = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 20, 200),
  });
  client.on('error', () => undefined);
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  const store = new RedisPayoutStore({ client, keyPrefix: options.keyPrefix });
  return { store, close: async () => client.disconnect() };
}

async function start(options: ReplicaStartOptions): Promise<INestApplication> {
  const { store, close: closeStore } = await openStore(options.store);
  ReportingListener.delayMs = options.listenerMs ?? 0;
  const module: PayoutModuleOptions = { ...options.module, store };

  @Module({
    imports: [EventEmitterModule.forRoot(), PayoutModule.forRoot(module)],
    providers: [ReportingListener],
  })
  class ReplicaModule {}

  const nestOptions = { rawBody: true, logger: ['error' as const], abortOnError: false };
  const app =
    options.adapter === 'fastify'
      ? await NestFactory.create(ReplicaModule, new FastifyAdapter(), nestOptions)
      : await NestFactory.create(ReplicaModule, nestOptions);
  await app.listen(options.port, '127.0.0.1');
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await closeStore();
  };
  return app;
}

async function create(app: INestApplication, id: number, input: CreatePayoutDto): Promise<void> {
  try {
    const order = await app.get(PayoutService).createPayout(input);
    send({ type: 'created', id, outcome: 'order', orderNo: order.orderNo });
  } catch (error) {
    const outcome =
      error instanceof PayoutOutcomeUnknownError
        ? 'unknown'
        : error instanceof CashyApiError
          ? 'rejected'
          : 'error';
    send({ type: 'created', id, outcome, message: (error as Error).message });
  }
}

let app: INestApplication | undefined;
process.on('message', (message: ReplicaRequest) => {
  if (message.type === 'start')
    start(message.options).then(
      (started) => {
        app = started;
        send({ type: 'listening' });
      },
      (error: Error) => send({ type: 'failed', message: error.stack ?? error.message }),
    );
  else if (message.type === 'create') void create(app!, message.id, message.input);
  else if (message.type === 'ack') {
    acks.get(message.id)?.();
    acks.delete(message.id);
  } else if (message.type === 'stop')
    void (app?.close() ?? Promise.resolve()).finally(() => process.disconnect());
});

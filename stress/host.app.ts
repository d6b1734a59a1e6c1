import type { INestApplication } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { MemoryPayoutStore, PayoutModule, type PayoutStore } from 'nestjs-cashy-payout';
import { PostgresPayoutStore, type PostgresPayoutStoreOptions } from 'nestjs-cashy-payout/postgres';
import { RedisPayoutStore } from 'nestjs-cashy-payout/redis';
import { applyServerTimeouts, WEBHOOK_SERVER_TIMEOUTS } from '../sample/sample-app';
import type { CapturingLogger } from './capturing.logger';
import { CountingListener } from './counting.listener';
import { STRESS_ACCOUNTS } from './notifications.fixture';
import { withTimeout } from './stress.resources';

/** The two HTTP adapters every case runs on. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];
export type StoreName = 'memory' | 'redis' | 'postgres';

/** The largest notification the module accepts (the guard's `MAX_NOTIFICATION_BYTES`, 64 KiB). */
export const NOTIFICATION_LIMIT_BYTES = 64 * 1024;

/**
 * What the README's Deployment section tells a Fastify host to pass to its adapter: the sample's
 * server timeouts, an idle-socket timeout above the slowest answer, and a body limit at the module's
 * notification cap. `http` reaches `http.createServer`, the only place Fastify takes a headers
 * timeout and the timeout checker's interval.
 */
export const FASTIFY_WEBHOOK_OPTIONS = {
  requestTimeout: WEBHOOK_SERVER_TIMEOUTS.requestTimeoutMs,
  keepAliveTimeout: WEBHOOK_SERVER_TIMEOUTS.keepAliveTimeoutMs,
  // Socket inactivity: longer than a delivery may wait for a busy order (claimWaitMs) plus the slowest listener.
  connectionTimeout: 30_000,
  bodyLimit: NOTIFICATION_LIMIT_BYTES,
  http: {
    headersTimeout: WEBHOOK_SERVER_TIMEOUTS.headersTimeoutMs,
    connectionsCheckingInterval: WEBHOOK_SERVER_TIMEOUTS.checkIntervalMs,
  },
};

/**
 * Delivery settings of every host: a claim outlives a Redis restart (the background confirmation
 * has `claimTtlMs` to record an outcome), copies wait longer than the slow listener, and a claim
 * written just before a crash blocks re-sends for seconds rather than the default two minutes.
 */
export const STRESS_DELIVERY = { claimTtlMs: 10_000, claimWaitMs: 5_000 };

/**
 * Client settings the README recommends for a webhook: fail at once while Redis is down (the
 * webhook answers 503), reconnect quickly once it is back.
 */
const FAIL_FAST = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  retryStrategy: (times: number) => Math.min(times * 20, 200),
};

/** A running host app. */
export interface StressHost {
  app: INestApplication;
  adapter: AdapterName;
  store: StoreName;
  /** `http://127.0.0.1:<port>/payout/webhook`. */
  webhookUrl: URL;
  listener: CountingListener;
  /** The module's store, for a case that reads what it wrote. */
  payoutStore: PayoutStore;
  /** Closes the app, then its Redis client or PostgreSQL store. Idempotent. */
  close(): Promise<void>;
}

/** Options of `startStressHost`. */
export interface StressHostOptions {
  adapter: AdapterName;
  store: StoreName;
  logger: CapturingLogger;
  /** Where `RedisPayoutStore` keeps its keys (the `redis` store). */
  redisUrl?: string;
  /** `RedisPayoutStore`'s keyPrefix, so hosts sharing one Redis never see each other's orders. */
  keyPrefix?: string;
  /** `PostgresPayoutStore`'s options (the `postgres` store); the host runs `migrate()` first. */
  postgres?: Omit<PostgresPayoutStoreOptions, 'clock'>;
}

/**
 * Boots a real Nest host on 127.0.0.1: `rawBody: true`, `PayoutModule` with both stress accounts,
 * no reconciliation (nothing to reconcile against), the chosen store, the counting listener, and the
 * server settings a webhook facing the internet needs (the sample's on Express, `FASTIFY_WEBHOOK_OPTIONS` on Fastify).
 */
export async function startStressHost(options: StressHostOptions): Promise<StressHost> {
  let client: Redis | undefined;
  let postgres: PostgresPayoutStore | undefined;
  let store: PayoutStore;
  if (options.store === 'postgres') {
    if (!options.postgres) throw new Error('the postgres store needs its options');
    postgres = new PostgresPayoutStore(options.postgres);
    try {
      await withTimeout(postgres.migrate(), 15_000, 'migrating the PostgreSQL store');
    } catch (error) {
      await postgres.close();
      throw error;
    }
    store = postgres;
  } else if (options.store === 'redis') {
    if (!options.redisUrl) throw new Error('the redis store needs a redisUrl');
    client = new Redis(options.redisUrl, FAIL_FAST);
    // Failed commands carry the error to the store (503); the client's own events say nothing new.
    client.on('error', () => undefined);
    await withTimeout(client.connect(), 5_000, `connecting to ${options.redisUrl}`);
    store = new RedisPayoutStore({
      client,
      keyPrefix: options.keyPrefix ?? 'cashy-stress:',
    });
  } else {
    store = new MemoryPayoutStore();
  }

  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        accounts: STRESS_ACCOUNTS,
        store,
        reconciliation: false,
        delivery: STRESS_DELIVERY,
      }),
    ],
    providers: [CountingListener],
  })
  class StressHostModule {}

  const nestOptions = {
    rawBody: true,
    logger: options.logger,
    abortOnError: false,
  };
  let app: INestApplication | undefined;
  try {
    app =
      options.adapter === 'fastify'
        ? await NestFactory.create(
            StressHostModule,
            new FastifyAdapter(FASTIFY_WEBHOOK_OPTIONS),
            nestOptions,
          )
        : await NestFactory.create(StressHostModule, nestOptions);
    if (options.adapter === 'express') applyServerTimeouts(app.getHttpServer());
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app?.close().catch(() => undefined);
    client?.disconnect();
    await postgres?.close();
    throw error;
  }
  const { port } = app.getHttpServer().address() as { port: number };
  const running = app;
  let closing: Promise<void> | undefined;
  return {
    app,
    adapter: options.adapter,
    store: options.store,
    webhookUrl: new URL(`http://127.0.0.1:${port}/payout/webhook`),
    listener: app.get(CountingListener),
    payoutStore: store,
    close: () =>
      (closing ??= (async () => {
        try {
          await running.close();
        } finally {
          client?.disconnect();
          await postgres?.close();
        }
      })()),
  };
}

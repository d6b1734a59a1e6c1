import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { PayoutStore } from 'nestjs-cashy-payout';
import { PostgresPayoutStore } from 'nestjs-cashy-payout/postgres';
import { RedisPayoutStore } from 'nestjs-cashy-payout/redis';

/** Injection token of the sample's `SampleStore`. */
export const SAMPLE_STORE = Symbol('SAMPLE_STORE');

/** The store `PAYOUT_STORE_URL` names, with what it takes to start and stop it. */
export interface SampleStore {
  /** `undefined`: the module's default `MemoryPayoutStore`. */
  store?: PayoutStore;
  /** Connects, and for PostgreSQL creates the tables (idempotent, safe on every replica). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store for `PAYOUT_STORE_URL`: `postgres://…` (or `postgresql://…`) → `PostgresPayoutStore`,
 * `redis://…` (or `rediss://…`) → `RedisPayoutStore`, unset → memory. Connects nothing until
 * `start()`. The URL is never repeated in an error: it may hold a password.
 */
export function sampleStoreFor(url: string | undefined): SampleStore {
  if (!url) return { start: async () => undefined, close: async () => undefined };
  const scheme = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const store = new PostgresPayoutStore({ connection: url });
    return {
      store,
      start: async () => void (await store.migrate()),
      close: () => store.close(),
    };
  }
  if (scheme === 'redis' || scheme === 'rediss') {
    // Fail fast while Redis is down: the webhook answers 503 and Cashy retries.
    const client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => undefined); // failed commands carry the error; the client reconnects
    return {
      store: new RedisPayoutStore({ client }),
      start: () => client.connect(),
      close: async () => client.disconnect(),
    };
  }
  throw new Error(
    'PAYOUT_STORE_URL must start with postgres://, postgresql://, redis:// or rediss:// (or be unset for the in-memory store)',
  );
}

/** Provides the `SampleStore` for a `PAYOUT_STORE_URL`, started before the app and closed after it. */
@Module({})
export class SampleStoreModule implements OnApplicationShutdown {
  constructor(@Inject(SAMPLE_STORE) private readonly sample: SampleStore) {}

  static forUrl(url: string | undefined): DynamicModule {
    return {
      module: SampleStoreModule,
      providers: [
        {
          provide: SAMPLE_STORE,
          useFactory: async () => {
            const sample = sampleStoreFor(url);
            await sample.start();
            return sample;
          },
        },
      ],
      exports: [SAMPLE_STORE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sample.close();
  }
}

import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { PayoutModule, type PayoutDeliveryOptions, type PayoutModuleOptions } from '../../lib';
import { RedisPayoutStore } from '../../lib/redis';
import { MXN_ACCOUNT, PEN_ACCOUNT } from '../support/notifications';

/** Injection token of the host's ioredis client. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/**
 * Client settings for a webhook: commands fail at once while Redis is down (so the webhook answers
 * 503 instead of hanging) and the client reconnects quickly once it is back.
 */
export const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  retryStrategy: (times) => Math.min(times * 20, 200),
};

/** The host's Redis connection, the way an app would own it: connected at startup, closed at shutdown. */
@Module({})
export class RedisClientModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly client: Redis) {}

  static forPort(port: number): DynamicModule {
    return {
      module: RedisClientModule,
      providers: [
        {
          provide: REDIS_CLIENT,
          useFactory: async () => {
            const client = new Redis({
              host: '127.0.0.1',
              port,
              lazyConnect: true,
              ...FAIL_FAST,
            });
            // ioredis reports connection errors as events; the commands that fail carry them anyway.
            client.on('error', () => undefined);
            await client.connect();
            return client;
          },
        },
      ],
      exports: [REDIS_CLIENT],
    };
  }

  onApplicationShutdown(): void {
    this.client.disconnect();
  }
}

/** `PayoutModule` of one replica, keeping its state in the Redis on `port`, both test accounts configured. */
export function redisPayoutModule(
  port: number,
  delivery?: PayoutDeliveryOptions,
  extra: Partial<PayoutModuleOptions> = {},
): DynamicModule {
  return PayoutModule.forRootAsync({
    imports: [RedisClientModule.forPort(port)],
    inject: [REDIS_CLIENT],
    useFactory: (client: Redis) => ({
      baseUrl: 'http://127.0.0.1:9',
      accounts: [PEN_ACCOUNT, MXN_ACCOUNT],
      store: new RedisPayoutStore({ client }),
      ...(delivery ? { delivery } : {}),
      ...extra,
    }),
  });
}

import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Pool, type PoolConfig } from 'pg';
import { PayoutModule, type PayoutDeliveryOptions, type PayoutModuleOptions } from '../../lib';
import { PostgresPayoutStore, type PostgresPayoutStoreOptions } from '../../lib/postgres';
import { MXN_ACCOUNT, PEN_ACCOUNT } from '../support/notifications';

/** Injection token of the host's pg pool. */
export const PG_POOL = Symbol('PG_POOL');

/** Short enough that a test of an outage waits little; a production default is 5 s. */
export const TEST_STATEMENT_TIMEOUT_MS = 500;

/** The host's pg pool, the way an app would own it (TypeORM's or a plain one): ended at shutdown. */
@Module({})
export class PostgresPoolModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  static forConfig(config: PoolConfig): DynamicModule {
    return {
      module: PostgresPoolModule,
      providers: [
        {
          provide: PG_POOL,
          useFactory: () => {
            const pool = new Pool({ connectionTimeoutMillis: 1_000, ...config });
            // A connection dropped while idle (the database killed) is replaced on the next query.
            pool.on('error', () => undefined);
            return pool;
          },
        },
      ],
      exports: [PG_POOL],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * `PayoutModule` of one replica keeping its state in PostgreSQL (`config`), migrated at startup,
 * both test accounts configured.
 */
export function postgresPayoutModule(
  config: PoolConfig,
  delivery?: PayoutDeliveryOptions,
  extra: Partial<PayoutModuleOptions> = {},
  storeOptions: Partial<PostgresPayoutStoreOptions> = {},
): DynamicModule {
  return PayoutModule.forRootAsync({
    imports: [PostgresPoolModule.forConfig(config)],
    inject: [PG_POOL],
    useFactory: async (pool: Pool) => {
      const store = new PostgresPayoutStore({
        pool,
        statementTimeoutMs: TEST_STATEMENT_TIMEOUT_MS,
        purgeIntervalMs: 0,
        ...storeOptions,
      });
      await store.migrate();
      return {
        baseUrl: 'http://127.0.0.1:9',
        accounts: [PEN_ACCOUNT, MXN_ACCOUNT],
        store,
        ...(delivery ? { delivery } : {}),
        ...extra,
      };
    },
  });
}

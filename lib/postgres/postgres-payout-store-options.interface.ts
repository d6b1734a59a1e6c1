// Types only: nothing of pg is loaded by this file; the host's pool brings the code.
import type { Pool, PoolConfig } from 'pg';
import type { PayoutClock } from '../clock/payout.clock';

/**
 * What the store needs of a pool: node-postgres's `Pool`, such as the one TypeORM keeps
 * (`(dataSource.driver as PostgresDriver).master`) or MikroORM's.
 */
export type PostgresPayoutPool = Pick<Pool, 'connect'>;

/** Options of `PostgresPayoutStore`: give `pool` or `connection`, not both. */
export interface PostgresPayoutStoreOptions {
  /**
   * A node-postgres `Pool` that your app owns: the store borrows a connection per statement and
   * never ends the pool. Give it an `error` listener (TypeORM's has one), or a connection dropped
   * while idle (a database restart) ends the process; and, if you can, a `statement_timeout`, so
   * the server also cancels a statement the store stopped waiting for.
   */
  pool?: PostgresPayoutPool;
  /**
   * Connection settings (a `postgres://` URL or a pg `PoolConfig`): the store then creates its own
   * pool, with `statement_timeout` and `connectionTimeoutMillis` set to `statementTimeoutMs`, and
   * `close()` ends it. Needs the `pg` package installed.
   */
  connection?: string | PoolConfig;
  /** The schema of the tables (default `public`): a lowercase SQL identifier. */
  schema?: string;
  /** The start of every table's name (default `cashy_payout_`): a lowercase SQL identifier. */
  tablePrefix?: string;
  /**
   * How long one statement may wait for a connection, and then run, in ms (default 5000). Past it
   * the operation fails (the webhook answers 503), instead of holding Cashy's request while the
   * database is down, restarting or out of connections.
   */
  statementTimeoutMs?: number;
  /**
   * How long a finished order or create attempt is kept after its last write, in ms (default 48 h,
   * past Cashy's ~17 h of retries). Rows still needed are kept past it (money-safety rule 10).
   */
  ttlMs?: number;
  /** How often rows past `ttlMs` are purged, in ms (default 60,000; 0: only when you call `purgeExpired()`). */
  purgeIntervalMs?: number;
  /** Most rows one purge statement deletes (default 1000), so a purge never holds many locks at once. */
  purgeBatchSize?: number;
  /**
   * The clock the module decides on. Default: the database server's (`clock_timestamp()`), read at
   * start and every 30 s and advanced by each replica's monotonic clock in between.
   */
  clock?: PayoutClock;
}

import { Logger } from '@nestjs/common';
// Types only: pg is loaded at runtime only when the store creates its own pool (`connection`).
import type { Pool, PoolClient, PoolConfig, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { type PayoutClock, SyncedPayoutClock } from '../clock/payout.clock';
import { defaultsOf, OptionReader } from '../options/option.reader';
import {
  DEFAULT_RECORD_TTL_MS,
  type PayoutAttempt,
  type PayoutOpenChange,
  type PayoutOpenCursor,
  type PayoutOpenDetails,
  type PayoutOpenEntry,
  type PayoutRecord,
  type PayoutReportContext,
  type PayoutStore,
} from '../store/payout-store.interface';
import type {
  PostgresPayoutPool,
  PostgresPayoutStoreOptions,
} from './postgres-payout-store-options.interface';
import {
  type PostgresPayoutTables,
  postgresPayoutMigrations,
  postgresPayoutTables,
  nameProblem,
} from './postgres-payout.schema';
import {
  type PostgresPayoutStatements,
  postgresPayoutStatements,
} from './postgres-payout.statements';
import { parseStored } from '../store/compare-and-set';
import { openChangeParams, openEntry } from '../store/open-payout.index';

/** First key of the migration's advisory lock ('CSHY'); the second is a hash of schema and prefix. */
const MIGRATION_LOCK_CLASS = 0x43534859;
/** Batches one background purge deletes at most per table, so one purge stays short. */
const PURGE_BATCHES = 10;
/** How much later than the server's statement_timeout the client gives up on its own pool. */
const CLIENT_TIMEOUT_MARGIN_MS = 1_000;
/** Largest timeout PostgreSQL and Node timers take (a signed 32-bit number of ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** The store's options: `[min, max, default]` for numbers, the default for names. */
const POSTGRES_STORE_RULES = {
  schema: 'public',
  tablePrefix: 'cashy_payout_',
  statementTimeoutMs: [1, MAX_TIMEOUT_MS, 5_000],
  ttlMs: [1, Infinity, DEFAULT_RECORD_TTL_MS],
  purgeIntervalMs: [0, MAX_TIMEOUT_MS, 60_000],
  purgeBatchSize: [1, 100_000, 1_000],
} as const;

type OpenRow = Record<'mch_order_no' | 'due_at' | 'opened_at', string> &
  Record<'merchant_id' | 'watch_until', string | null>;

/** A whole number of ms for a bigint column, or null (the exact value stays in the JSON). */
function ms(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? Math.floor(value) : null;
}

/**
 * Whether a failed statement leaves its connection unusable: anything but an error the server
 * answered (those carry a SQLSTATE), such as a client-side timeout with the statement still running.
 */
function connectionBroken(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return !(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code));
}

/**
 * A `PayoutStore` in PostgreSQL, shared by every replica of your app, beside your own ledger
 * (tables, migrations and plans: docs/postgres-store.md). Every operation is one statement, atomic
 * by itself, through an index. Errors propagate unchanged (the module answers 503, so Cashy
 * retries). Run `migrate()` once at startup, or apply the migrations with your own tool.
 */
export class PostgresPayoutStore implements PayoutStore {
  /** The defaults, in one place. */
  static readonly DEFAULTS = defaultsOf(POSTGRES_STORE_RULES);

  // The options as resolved (`PostgresPayoutStoreOptions`); ttlMs is checked against the module's.
  readonly schema: string;
  readonly tablePrefix: string;
  readonly statementTimeoutMs: number;
  readonly ttlMs: number;
  readonly purgeIntervalMs: number;
  readonly purgeBatchSize: number;
  /** The clock every replica of this store decides on: the database server's, by default. */
  readonly clock: PayoutClock;
  /** The quoted, schema-qualified table names. */
  readonly tables: PostgresPayoutTables;

  private readonly pool: PostgresPayoutPool;
  private readonly ownedPool?: Pool;
  private readonly sql: PostgresPayoutStatements;
  /** The client-side bound of a statement: past it the connection is dropped, statement and all. */
  private readonly queryTimeoutMs: number;
  private readonly logger = new Logger(PostgresPayoutStore.name);
  private purgeTimer?: NodeJS.Timeout;
  private purgeFailing = false;
  private closed = false;

  constructor(options: PostgresPayoutStoreOptions) {
    const reader = new OptionReader();
    const { schema, tablePrefix, statementTimeoutMs, ttlMs, purgeIntervalMs, purgeBatchSize } =
      reader.read({ ...options }, POSTGRES_STORE_RULES);
    for (const option of ['schema', 'tablePrefix'] as const) {
      const problem = nameProblem(option, { schema, tablePrefix }[option]);
      if (problem) reader.report(option, problem);
    }
    reader.throwIfAny('PostgresPayoutStore: ', RangeError);
    this.schema = schema;
    this.tablePrefix = tablePrefix;
    this.statementTimeoutMs = statementTimeoutMs;
    this.ttlMs = ttlMs;
    this.purgeIntervalMs = purgeIntervalMs;
    this.purgeBatchSize = purgeBatchSize;
    this.tables = postgresPayoutTables(schema, tablePrefix);
    this.sql = postgresPayoutStatements(this.tables);

    const { pool, connection } = options ?? {};
    if ((pool === undefined) === (connection === undefined))
      throw new TypeError(
        'PostgresPayoutStore: give either pool (a pg Pool your app owns) or connection (a postgres:// URL or a pg PoolConfig), not both',
      );
    if (pool !== undefined) {
      if (typeof pool?.connect !== 'function')
        throw new TypeError('PostgresPayoutStore: pool must be a pg Pool');
      this.pool = pool;
    } else {
      if (typeof connection !== 'string' && (typeof connection !== 'object' || !connection))
        throw new TypeError(
          'PostgresPayoutStore: connection must be a postgres:// URL or a pg PoolConfig',
        );
      this.ownedPool = this.createPool(connection);
      this.pool = this.ownedPool;
    }
    // On a pool of its own the server cancels a statement at statementTimeoutMs (the connection
    // stays usable); the client's bound is then only the backstop for a server that went silent.
    this.queryTimeoutMs = statementTimeoutMs + (this.ownedPool ? CLIENT_TIMEOUT_MARGIN_MS : 0);
    this.clock =
      options.clock ??
      new SyncedPayoutClock(async () => {
        const { rows } = await this.run<{ now: string }>(this.sql.serverTime);
        return Number(rows[0]?.now);
      });
    if (purgeIntervalMs > 0) this.schedulePurge();
  }

  /**
   * Creates the tables, or brings them to this version, idempotently: in one transaction under an
   * advisory lock, so replicas that start together apply each migration once, one after the other.
   * Resolves with the versions it applied (none when the schema was up to date).
   */
  async migrate(): Promise<number[]> {
    const { schema, tablePrefix } = this;
    const table = this.tables.migrations;
    return this.withClient(async (client) => {
      const query = <R extends QueryResultRow>(text: string, values?: unknown[]) =>
        client.query<R>(this.config(text, values));
      await query('BEGIN');
      try {
        await query(`SET LOCAL statement_timeout = ${this.statementTimeoutMs}`);
        const lock = `${schema}.${tablePrefix}`;
        await query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_CLASS}, hashtext($1))`, [lock]);
        const { rows } = await query<{ present: boolean }>(
          'SELECT to_regclass($1) IS NOT NULL AS present',
          [table],
        );
        const done = new Set<number>();
        if (rows[0]?.present) {
          const recorded = await query<{ version: number }>(`SELECT version FROM ${table}`);
          for (const row of recorded.rows) done.add(Number(row.version));
        }
        const due = postgresPayoutMigrations({ schema, tablePrefix }).filter(
          (migration) => !done.has(migration.version),
        );
        for (const migration of due) await query(migration.sql);
        await query('COMMIT');
        return due.map((migration) => migration.version);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  async get(orderNo: string): Promise<PayoutRecord | undefined> {
    return this.readStored(this.sql.getRecord, orderNo);
  }

  async findByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined> {
    return this.readStored(this.sql.findByMchOrderNo, mchOrderNo);
  }

  async getReportContext(orderNo: string, mchOrderNo: string): Promise<PayoutReportContext> {
    type Row = Record<'record' | 'attempt' | 'sibling', string | null>;
    const { rows } = await this.run<Row>(this.sql.reportContext, [orderNo, mchOrderNo]);
    const row = rows[0];
    return {
      record: parseStored(row?.record),
      attempt: parseStored(row?.attempt),
      sibling: parseStored(row?.sibling),
    };
  }

  /**
   * With `open`, the open-index change is part of the same statement: it happens if and only if
   * the record is written.
   */
  async compareAndSet(
    record: PayoutRecord,
    expectedRevision: number,
    open?: PayoutOpenChange,
  ): Promise<boolean> {
    const values: unknown[] = [
      record.orderNo,
      record.mchOrderNo ?? null,
      record.merchantId ?? null,
      record.currency ?? null,
      record.amount ?? null,
      record.status ?? null,
      record.processed ?? [],
      record.reversed === true,
      record.claim?.status ?? null,
      record.claim?.token ?? null,
      ms(record.claim?.expiresAt),
      record.revision,
      ms(record.updatedAt) ?? 0,
      JSON.stringify(record),
    ];
    const insert = expectedRevision === 0;
    if (!insert) values.push(expectedRevision);
    if (!open) {
      const result = await this.run(insert ? this.sql.insertRecord : this.sql.updateRecord, values);
      return result.rowCount === 1;
    }
    const { sql } = this;
    const statement =
      'untrack' in open
        ? insert
          ? sql.insertRecordUntrack
          : sql.updateRecordUntrack
        : insert
          ? sql.insertRecordTrack
          : sql.updateRecordTrack;
    values.push(...openChangeParams(open, null));
    const { rows } = await this.run<{ written: number }>(statement, values);
    return Number(rows[0]?.written) === 1;
  }

  async getAttempt(mchOrderNo: string): Promise<PayoutAttempt | undefined> {
    return this.readStored(this.sql.getAttempt, mchOrderNo);
  }

  async compareAndSetAttempt(attempt: PayoutAttempt, expectedRevision: number): Promise<boolean> {
    const values: unknown[] = [
      attempt.mchOrderNo,
      attempt.merchantId,
      attempt.currency,
      attempt.amount,
      attempt.state,
      ms(attempt.resendAfter) ?? 0,
      attempt.orderNo ?? null,
      ms(attempt.sentAt),
      ms(attempt.leaseUntil),
      attempt.leaseToken ?? null,
      attempt.notice?.state ?? null,
      attempt.notice?.claim?.token ?? null,
      ms(attempt.notice?.claim?.expiresAt),
      attempt.revision,
      ms(attempt.updatedAt) ?? 0,
      JSON.stringify(attempt),
    ];
    const result =
      expectedRevision === 0
        ? await this.run(this.sql.insertAttempt, values)
        : await this.run(this.sql.updateAttempt, [...values, expectedRevision]);
    return result.rowCount === 1;
  }

  async trackOpen(
    mchOrderNo: string,
    openedAt: number,
    dueAt: number,
    details?: PayoutOpenDetails,
  ): Promise<void> {
    const values = openChangeParams({ track: mchOrderNo, openedAt, dueAt, details }, null);
    await this.run(this.sql.trackOpen, values);
  }

  async untrackOpen(mchOrderNo: string): Promise<void> {
    await this.run(this.sql.untrackOpen, [mchOrderNo]);
  }

  async takeDueOpen(now: number, limit: number, leaseMs: number): Promise<PayoutOpenEntry[]> {
    if (limit < 1) return [];
    const { rows } = await this.run<OpenRow>(this.sql.takeDueOpen, [now, limit, now + leaseMs]);
    return rows.map(toOpenEntry);
  }

  async listOpen(limit: number, after?: PayoutOpenCursor): Promise<PayoutOpenEntry[]> {
    if (limit < 1) return [];
    const { rows } = after
      ? await this.run<OpenRow>(this.sql.listOpenAfter, [limit, after.openedAt, after.mchOrderNo])
      : await this.run<OpenRow>(this.sql.listOpenFirst, [limit]);
    return rows.map(toOpenEntry);
  }

  async countOpen(): Promise<{ open: number; watching: number }> {
    const { rows } = await this.run<{ all: string; watching: string }>(this.sql.countOpen);
    const all = Number(rows[0]?.all ?? 0);
    const watching = Number(rows[0]?.watching ?? 0);
    return { open: all - watching, watching };
  }

  /**
   * Deletes orders and create attempts last written more than `ttlMs` ago, `purgeBatchSize` rows
   * per statement and at most `maxBatches` statements per table, never a row still needed (a live
   * claim; an attempt sending, of unknown outcome, leased or with a pending notice; anything of a
   * payout still open or watched). Runs by itself every `purgeIntervalMs`; resolves with the counts.
   */
  async purgeExpired(maxBatches = PURGE_BATCHES): Promise<{ records: number; attempts: number }> {
    const purge = async (statement: string) => {
      let deleted = 0;
      for (let batch = 0; batch < maxBatches; batch++) {
        const { rowCount } = await this.run(statement, [this.ttlMs, this.purgeBatchSize]);
        deleted += rowCount ?? 0;
        if ((rowCount ?? 0) < this.purgeBatchSize) break;
      }
      return deleted;
    };
    return {
      records: await purge(this.sql.purgeRecords),
      attempts: await purge(this.sql.purgeAttempts),
    };
  }

  /**
   * Stops the background purge and, when the store created its pool (`connection`), ends it. Your
   * own pool is left as it is. Later operations reject.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.purgeTimer);
    await this.ownedPool?.end();
  }

  /** Runs one statement on a pooled connection, each step bounded by `statementTimeoutMs`. */
  private run<R extends QueryResultRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<QueryResult<R>> {
    return this.withClient((client) => client.query<R>(this.config(text, values)));
  }

  /**
   * Lends `work` a pooled connection. A connection that failed under it (dropped, or a statement
   * the client stopped waiting for and that may still run) is closed, never handed on.
   */
  private async withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    let broken = false;
    // While lent out, a dropped connection is reported here too (an unheard 'error' would crash
    // the process); the statement under way fails with it as well.
    const onError = () => (broken = true);
    client.on('error', onError);
    try {
      return await work(client);
    } catch (error) {
      if (connectionBroken(error)) broken = true;
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken || undefined);
    }
  }

  /** A query with the client-side timeout: the answer comes in time, or the call fails. */
  private config(text: string, values?: unknown[]): QueryConfig {
    return { text, values, query_timeout: this.queryTimeoutMs } as QueryConfig;
  }

  /** A connection from the pool, or an error once `statementTimeoutMs` passed without one. */
  private acquire(): Promise<PoolClient> {
    if (this.closed) return Promise.reject(new Error('PostgresPayoutStore is closed'));
    const timeoutMs = this.statementTimeoutMs;
    return new Promise<PoolClient>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        const what = `no pool connection within ${timeoutMs} ms (statementTimeoutMs)`;
        reject(new Error(`PostgresPayoutStore: ${what}`));
      }, timeoutMs);
      // True for the first outcome only, which then stops the timer.
      const first = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        return true;
      };
      this.pool.connect().then(
        // One handed over after we gave up goes straight back.
        (client) => (first() ? resolve(client) : client.release()),
        (error: Error) => void (first() && reject(error)),
      );
    });
  }

  /** The stored JSON the statement `text` reads for `key`, parsed. */
  private async readStored<T>(text: string, key: string): Promise<T | undefined> {
    const { rows } = await this.run<{ record: string }>(text, [key]);
    return parseStored(rows[0]?.record);
  }

  private createPool(connection: string | PoolConfig): Pool {
    let pg: typeof import('pg');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- pg is an optional peer, loaded only for a pool of the store's own
      pg = require('pg') as typeof import('pg');
    } catch {
      throw new Error(
        'PostgresPayoutStore: connection needs the pg package (npm install pg), or pass your own pool',
      );
    }
    const config: PoolConfig =
      typeof connection === 'string' ? { connectionString: connection } : connection;
    const pool = new pg.Pool({
      ...config,
      // The server cancels what the store stopped waiting for; connecting is bounded the same way.
      statement_timeout: config.statement_timeout ?? this.statementTimeoutMs,
      connectionTimeoutMillis: config.connectionTimeoutMillis ?? this.statementTimeoutMs,
    });
    // An idle connection that drops (a restart) is only logged: the next statement gets a new one.
    pool.on('error', (error) =>
      this.logger.warn(`an idle database connection failed (${error.message})`),
    );
    return pool;
  }

  private schedulePurge(): void {
    this.purgeTimer = setTimeout(() => void this.purgeInBackground(), this.purgeIntervalMs);
    this.purgeTimer.unref();
  }

  private async purgeInBackground(): Promise<void> {
    try {
      await this.purgeExpired();
      if (this.purgeFailing) this.logger.log('expired rows are purged again');
      this.purgeFailing = false;
    } catch (error) {
      if (!this.purgeFailing && !this.closed)
        this.logger.warn(
          `could not purge expired rows (${(error as Error).message}); trying again in ${this.purgeIntervalMs} ms`,
        );
      this.purgeFailing = true;
    }
    if (!this.closed) this.schedulePurge();
  }
}

function toOpenEntry(row: OpenRow): PayoutOpenEntry {
  return openEntry({
    mchOrderNo: row.mch_order_no,
    dueAt: Number(row.due_at),
    openedAt: Number(row.opened_at),
    merchantId: row.merchant_id ?? undefined,
    watchUntil: row.watch_until !== null ? Number(row.watch_until) : undefined,
  });
}

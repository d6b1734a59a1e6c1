import { Pool } from 'pg';
import { type PayoutStore } from '../../lib';
import {
  POSTGRES_PAYOUT_MIGRATIONS,
  PostgresPayoutStore,
  type PostgresPayoutStoreOptions,
  postgresPayoutMigrations,
} from '../../lib/postgres';
import { describeWithPostgres, PostgresServer } from './postgres-server';
import { describeStoreContract, record as rec } from '../support/store.contract';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres('PostgresPayoutStore', () => {
  let server: PostgresServer;
  let pool: Pool;
  const stores: PostgresPayoutStore[] = [];
  let schemas = 0;

  /** A migrated store in a schema of its own. */
  const fresh = async (options: Partial<PostgresPayoutStoreOptions> = {}) => {
    const store = new PostgresPayoutStore({
      pool,
      schema: `s${++schemas}`,
      purgeIntervalMs: 0,
      ...options,
    });
    stores.push(store);
    await store.migrate();
    return store;
  };

  beforeAll(async () => {
    server = await PostgresServer.start();
    pool = await server.createDatabase('payouts', { max: 10 });
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await pool?.end();
    await server?.dispose();
  });

  describeStoreContract({
    fresh: () => fresh(),
    retention: {
      ttlMs: 200,
      fresh: (ttlMs) => fresh({ ttlMs }),
      expire: async (store: PayoutStore) => {
        await sleep(250);
        await (store as PostgresPayoutStore).purgeExpired();
      },
    },
    serverTime: async () => {
      const { rows } = await pool.query<{ now: number }>(
        'SELECT floor(extract(epoch from clock_timestamp()) * 1000)::float8 AS now',
      );
      return rows[0].now;
    },
  });

  describe('options', () => {
    it('defaults to public.cashy_payout_*, 5 s per statement, 48 h of retention', () => {
      const store = new PostgresPayoutStore({ pool, purgeIntervalMs: 0 });
      const ticking = new PostgresPayoutStore({ pool });
      stores.push(store, ticking);
      expect(store).toMatchObject({
        schema: 'public',
        tablePrefix: 'cashy_payout_',
        statementTimeoutMs: 5_000,
        ttlMs: 48 * 60 * 60 * 1000,
        purgeBatchSize: 1_000,
      });
      expect(store.tables.orders).toBe('"public"."cashy_payout_orders"');
      expect(ticking.purgeIntervalMs).toBe(60_000);
    });

    it.each<[string, object, RegExp]>([
      ['neither pool nor connection', {}, /give either pool .* or connection/],
      ['both pool and connection', { connection: 'postgres://x' }, /not both/],
      ['a pool that is not pg', { pool: {} }, /pool must be a pg Pool/],
      ['a connection of the wrong type', { pool: undefined, connection: 5 }, /connection must be/],
      ['a schema with a quote', { schema: 'x"; DROP TABLE y; --' }, /schema must be a lowercase/],
      ['an uppercase schema', { schema: 'Payouts' }, /schema must be a lowercase/],
      ['a prefix with a dash', { tablePrefix: 'cashy-' }, /tablePrefix must be a lowercase/],
      ['a prefix too long', { tablePrefix: 'p'.repeat(44) }, /tablePrefix .* at most 43/],
      ['statementTimeoutMs 0', { statementTimeoutMs: 0 }, /statementTimeoutMs must be/],
      ['statementTimeoutMs fractional', { statementTimeoutMs: 1.5 }, /statementTimeoutMs must/],
      ['ttlMs 0', { ttlMs: 0 }, /ttlMs must be a whole number/],
      ['purgeIntervalMs negative', { purgeIntervalMs: -1 }, /purgeIntervalMs must be/],
      ['purgeBatchSize 0', { purgeBatchSize: 0 }, /purgeBatchSize must be/],
    ])('rejects %s, naming the option', (_case, options, message) => {
      const base = 'pool' in options || 'connection' in options ? {} : { pool };
      const given = Object.keys(options).length === 0 ? {} : { pool, ...base, ...options };
      expect(() => new PostgresPayoutStore(given as PostgresPayoutStoreOptions)).toThrow(message);
    });

    it("owns a pool made from connection settings: the server's statement_timeout is set, close() ends it", async () => {
      const store = new PostgresPayoutStore({
        connection: server.url('payouts'),
        schema: 'owned',
        statementTimeoutMs: 1_234,
        purgeIntervalMs: 0,
      });
      await store.migrate();
      const record = rec(1);
      expect(await store.compareAndSet(record, 0)).toBe(true);
      expect(await store.get(record.orderNo)).toEqual(record);
      const owned = (store as unknown as { ownedPool: Pool }).ownedPool;
      expect((await owned.query('SHOW statement_timeout')).rows[0]).toEqual({
        statement_timeout: '1234ms',
      });
      await store.close();
      expect(owned.ended).toBe(true);
      await expect(store.get(record.orderNo)).rejects.toThrow(/closed/);
    });
  });

  describe('migrations', () => {
    it('applies once when five replicas migrate a fresh database together, then never again', async () => {
      const racing = await server.createDatabase('migrate_race', { max: 10 });
      try {
        const replicas = Array.from(
          { length: 5 },
          () => new PostgresPayoutStore({ pool: racing, purgeIntervalMs: 0 }),
        );
        const applied = await Promise.all(replicas.map((r) => r.migrate()));
        expect(applied.flat()).toEqual([1]);
        expect(await replicas[0].migrate()).toEqual([]);
        const { rows } = await racing.query(
          'SELECT version, name FROM public.cashy_payout_migrations',
        );
        expect(rows).toEqual([{ version: 1, name: '0001_payout_store' }]);
        // Ordinary logged tables (never UNLOGGED): what was committed survives a crash.
        const tables = await racing.query<{ relname: string; relpersistence: string }>(
          `SELECT relname, relpersistence FROM pg_class
           WHERE relname LIKE 'cashy_payout_%' AND relkind = 'r' ORDER BY relname`,
        );
        expect(tables.rows).toEqual(
          ['attempts', 'migrations', 'open', 'orders'].map((name) => ({
            relname: `cashy_payout_${name}`,
            relpersistence: 'p',
          })),
        );
      } finally {
        await racing.end();
      }
    });

    it("ships SQL a host's own tool can run (twice, harmlessly), which migrate() then recognises", async () => {
      expect(POSTGRES_PAYOUT_MIGRATIONS.map((m) => [m.version, m.name])).toEqual([
        [1, '0001_payout_store'],
      ]);
      const [migration] = postgresPayoutMigrations({ schema: 'by_tool', tablePrefix: 'pay_' });
      expect(migration.sql).toContain('"by_tool"."pay_orders"');
      await pool.query(migration.sql);
      await pool.query(migration.sql);
      const store = new PostgresPayoutStore({
        pool,
        schema: 'by_tool',
        tablePrefix: 'pay_',
        purgeIntervalMs: 0,
      });
      stores.push(store);
      expect(await store.migrate()).toEqual([]);
      expect(await store.compareAndSet(rec(1), 0)).toBe(true);
      expect(() => postgresPayoutMigrations({ schema: 'a;b' })).toThrow(RangeError);
    });
  });

  describe('tables a person can read', () => {
    it('keeps one row per order with its statuses, claim and revision, and amounts as text', async () => {
      const store = await fresh();
      const record = rec(1, {
        merchantId: '1002002',
        currency: 'MXN',
        amount: '1500',
        status: 'SUCCESS',
        processed: ['PROCESSING', 'SUCCESS'],
        claim: { status: 'SUCCESS', token: 'tok', expiresAt: 1_700_000_060_000 },
      });
      await store.compareAndSet(record, 0);
      await store.compareAndSetAttempt(
        {
          mchOrderNo: record.mchOrderNo!,
          merchantId: '1002002',
          currency: 'MXN',
          amount: '1500',
          state: 'created',
          orderNo: record.orderNo,
          resendAfter: 1_700_000_120_000,
          revision: 1,
          updatedAt: 1_700_000_000_000,
        },
        0,
      );
      await store.trackOpen(record.mchOrderNo!, 1_700_000_000_000, 1_700_000_030_000, {
        merchantId: '1002002',
      });
      const { rows } = await pool.query(
        `SELECT o.order_no, o.mch_order_no, o.merchant_id, o.currency, o.amount, o.status,
           o.processed, o.claim_token, o.claim_expires_at, o.revision, a.state, a.resend_after,
           p.due_at
         FROM ${store.tables.orders} o
         JOIN ${store.tables.attempts} a USING (mch_order_no)
         JOIN ${store.tables.open} p USING (mch_order_no)`,
      );
      expect(rows).toEqual([
        {
          order_no: record.orderNo,
          mch_order_no: record.mchOrderNo,
          merchant_id: '1002002',
          currency: 'MXN',
          amount: '1500',
          status: 'SUCCESS',
          processed: ['PROCESSING', 'SUCCESS'],
          claim_token: 'tok',
          claim_expires_at: '1700000060000',
          revision: '1',
          state: 'created',
          resend_after: '1700000120000',
          due_at: '1700000030000',
        },
      ]);
    });
  });

  describe('retention', () => {
    it('purges in bounded batches, oldest first', async () => {
      const store = await fresh({ ttlMs: 100, purgeBatchSize: 3 });
      for (let i = 0; i < 8; i++) await store.compareAndSet(rec(1), 0);
      await sleep(150);
      expect(await store.purgeExpired(2)).toEqual({ records: 6, attempts: 0 });
      expect(await store.purgeExpired()).toEqual({ records: 2, attempts: 0 });
    });

    it('purges by itself every purgeIntervalMs', async () => {
      const store = await fresh({ ttlMs: 50, purgeIntervalMs: 100 });
      const record = rec(1);
      await store.compareAndSet(record, 0);
      for (let i = 0; i < 100 && (await store.get(record.orderNo)); i++) await sleep(20);
      expect(await store.get(record.orderNo)).toBeUndefined();
    });
  });

  describe('errors', () => {
    it('rejects with the driver error, unchanged, when the database cannot be reached', async () => {
      const nowhere = new Pool({ host: '127.0.0.1', port: 9, user: 'postgres' });
      const store = new PostgresPayoutStore({ pool: nowhere, purgeIntervalMs: 0 });
      try {
        await expect(store.get('P1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
        await expect(store.compareAndSet(rec(1), 0)).rejects.toMatchObject({
          code: 'ECONNREFUSED',
        });
      } finally {
        await nowhere.end();
      }
    });

    it('gives up on a statement blocked past statementTimeoutMs, and the pool goes on', async () => {
      const store = await fresh({ statementTimeoutMs: 300 });
      const record = rec(1);
      await store.compareAndSet(record, 0);
      const blocker = await pool.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(`SELECT 1 FROM ${store.tables.orders} WHERE order_no = $1 FOR UPDATE`, [
          record.orderNo,
        ]);
        const started = Date.now();
        await expect(store.compareAndSet(rec(2, { orderNo: record.orderNo }), 1)).rejects.toThrow(
          /timeout/i,
        );
        expect(Date.now() - started).toBeLessThan(1_500);
      } finally {
        await blocker.query('ROLLBACK');
        blocker.release();
      }
      expect((await store.get(record.orderNo))?.orderNo).toBe(record.orderNo);
    });

    it('fails within statementTimeoutMs when the pool has no free connection, instead of hanging', async () => {
      const tiny = new Pool({ ...server.config('payouts'), max: 1 });
      const store = new PostgresPayoutStore({
        pool: tiny,
        schema: 's1',
        statementTimeoutMs: 250,
        purgeIntervalMs: 0,
      });
      const held = await tiny.connect();
      try {
        const started = Date.now();
        await expect(store.get('P1')).rejects.toThrow(/no pool connection within 250 ms/);
        expect(Date.now() - started).toBeLessThan(1_000);
      } finally {
        held.release();
      }
      expect(await store.get('P1')).toBeUndefined();
      await tiny.end();
    });
  });
});

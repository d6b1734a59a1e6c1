import { Pool, type PoolClient } from 'pg';
import { PayoutModule } from '../../lib';
import { PostgresPayoutStore } from '../../lib/postgres';
import { startHostApp } from '../support/host-app';
import { deliver, MXN_ACCOUNT, notification, PEN_ACCOUNT } from '../support/notifications';
import { describeWithPostgres, PostgresServer } from './postgres-server';

/** A pg pool that counts the statements sent through it (each one round trip). */
class CountingPool extends Pool {
  statements = 0;
  private readonly counted = new WeakSet<PoolClient>();

  override connect(): Promise<PoolClient>;
  override connect(
    callback: (err: Error | undefined, client: PoolClient | undefined, done: () => void) => void,
  ): void;
  override connect(...args: unknown[]): Promise<PoolClient> | void {
    if (args.length > 0) return super.connect(...(args as [never]));
    return super.connect().then((client) => {
      if (!this.counted.has(client)) {
        this.counted.add(client);
        const query = client.query.bind(client) as (...a: unknown[]) => unknown;
        (client as { query: unknown }).query = (...a: unknown[]) => {
          // The clock's own reading (every 30 s, on a timer) is not the webhook's.
          const text = String((a[0] as { text?: string }).text ?? a[0]);
          if (!text.includes(' AS now')) this.statements++;
          return query(...a);
        };
      }
      return client;
    });
  }
}

/** What a webhook costs in SQL statements, each its own round trip and implicit transaction. */
describeWithPostgres('PostgreSQL statements per notification', () => {
  let server: PostgresServer;
  let pool: CountingPool;

  beforeAll(async () => {
    server = await PostgresServer.start();
    await (await server.createDatabase('payouts')).end();
    pool = new CountingPool(server.config('payouts'));
  });
  afterAll(async () => {
    await pool?.end();
    await server?.dispose();
  });

  it('takes 3 for a new outcome, 2 for an in-progress status and 1 for a duplicate', async () => {
    const store = new PostgresPayoutStore({ pool, purgeIntervalMs: 0 });
    await store.migrate();
    const { app, url } = await startHostApp(
      'express',
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        accounts: [PEN_ACCOUNT, MXN_ACCOUNT],
        store,
      }),
    );
    const cost = async (body: Record<string, unknown>) => {
      const before = pool.statements;
      expect((await deliver(`${url}/payout/webhook`, body)).status).toBe(200);
      return pool.statements - before;
    };
    try {
      const outcome = notification();
      // Read the context; claim (INSERT … ON CONFLICT DO NOTHING); record and untrack (one UPDATE).
      expect(await cost(outcome)).toBe(3);
      expect(await cost(outcome)).toBe(1);
      expect(await cost(notification({ orderStatus: 'PROCESSING' }))).toBe(2);
    } finally {
      await app.close();
    }
  });
});

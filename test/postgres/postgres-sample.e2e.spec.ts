import { Pool } from 'pg';
import { PAYOUT_STORE } from '../../lib';
import { PostgresPayoutStore } from '../../lib/postgres';
import { waitFor } from '../../lib/testing';
import { type RunningSample, startSampleApp } from '../../sample/sample-app';
import { describeWithPostgres, PostgresServer } from './postgres-server';

/** The sample as a new user runs it against PostgreSQL: `PAYOUT_STORE_URL=postgres://…`. */
describeWithPostgres('sample app with PAYOUT_STORE_URL=postgres://…', () => {
  let server: PostgresServer;
  let sample: RunningSample;
  let pool: Pool;

  beforeAll(async () => {
    server = await PostgresServer.start();
    pool = await server.createDatabase('sample');
    sample = await startSampleApp({
      env: { PAYOUT_STORE_URL: server.url('sample') },
      port: 0,
      logger: false,
      sandbox: { processingMs: 10, payingMs: 20, timeScale: 0.001 },
    });
  });
  afterAll(async () => {
    await sample?.close();
    await pool?.end();
    await server?.dispose();
  });

  it('migrates at start, and a payout settles with its state readable in SQL', async () => {
    expect(sample.app.get(PAYOUT_STORE)).toBeInstanceOf(PostgresPayoutStore);
    const created = await fetch(`${sample.url}/payouts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        accountName: 'Jose Hernandez',
        accountNo: '002010077777777771',
        accountType: 40,
        currency: 'MXN',
        amount: 1500,
        bankId: 80,
        remark: 'retiro',
        mchOrderNo: 'SAMPLE-PG-1',
      }),
    });
    expect(created.status).toBe(201);
    await waitFor(async () => {
      const events = (await (await fetch(`${sample.url}/events`)).json()) as {
        name: string;
        payload: { mchOrderNo: string };
      }[];
      return events.some(
        (e) => e.name === 'payout.succeeded' && e.payload.mchOrderNo === 'SAMPLE-PG-1',
      );
    });
    const { rows } = await pool.query(
      `SELECT o.status, o.amount, o.currency, a.state
       FROM cashy_payout_orders o JOIN cashy_payout_attempts a USING (mch_order_no)
       WHERE o.mch_order_no = 'SAMPLE-PG-1'`,
    );
    expect(rows).toEqual([
      { status: 'SUCCESS', amount: '1500', currency: 'MXN', state: 'created' },
    ]);
  });
});

import { TerminusModule } from '@nestjs/terminus';
import type { Pool } from 'pg';
import { PAYOUT_STORE, PayoutService, PayoutStoreError } from '../../lib';
import { PostgresPayoutStore } from '../../lib/postgres';
import { PayoutHealthIndicator } from '../../lib/terminus';
import { CashySandbox, waitFor } from '../../lib/testing';
import { ADAPTERS, startHostApp } from '../support/host-app';
import { deliver, notification } from '../support/notifications';
import { penPayout } from '../support/payouts';
import { describeWithPostgres, PostgresServer } from './postgres-server';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { ScriptedGateway } from '../support/scripted-gateway';
import { PG_POOL, postgresPayoutModule, TEST_STATEMENT_TIMEOUT_MS } from './postgres-host';

/** Until the store answers again after a restart (the pool replaces its dropped connections). */
async function whenBack(store: { countOpen?(): Promise<unknown> }): Promise<void> {
  await waitFor(() =>
    store.countOpen!().then(
      () => true,
      () => false,
    ),
  );
}

/**
 * PostgreSQL down, restarting or out of pool connections answers as a Redis outage does: the
 * webhook 503 (Cashy retries) with nothing emitted, createPayout sending nothing it cannot record.
 */
describeWithPostgres('PostgreSQL unavailable', () => {
  let server: PostgresServer;

  beforeAll(async () => {
    server = await PostgresServer.start();
    await (await server.createDatabase('payouts')).end();
  });
  afterAll(() => server?.dispose());

  it.each(ADAPTERS)(
    'answers 503 and emits nothing while PostgreSQL is down, then 200 once it is back (%s)',
    async (adapter) => {
      const { app, url, listener } = await startHostApp(
        adapter,
        postgresPayoutModule(server.config('payouts')),
      );
      const webhook = `${url}/payout/webhook`;
      try {
        expect(await deliver(webhook, notification())).toMatchObject({
          status: 200,
          text: 'SUCCESS',
        });
        expect(listener.events).toHaveLength(1);

        await server.kill();
        const body = notification();
        const down = await deliver(webhook, body);
        expect(down.status).toBe(503);
        expect(down.text).toMatch(/payout state is unavailable/);
        expect(listener.events).toHaveLength(1);

        await server.restart();
        await whenBack(app.get(PAYOUT_STORE));
        expect(await deliver(webhook, body)).toMatchObject({ status: 200, text: 'SUCCESS' });
        expect(await deliver(webhook, body)).toMatchObject({ status: 200, text: 'SUCCESS' });
        expect(listener.events.map((e) => e.payload.orderNo)).toEqual([
          expect.any(String),
          body.orderNo,
        ]);
      } finally {
        await app.close();
      }
    },
  );

  it('answers 503 within the statement timeout when the pool has no free connection, and 200 once one is back', async () => {
    const { app, url, listener } = await startHostApp(
      'express',
      postgresPayoutModule({ ...server.config('payouts'), max: 1 }),
    );
    const pool = app.get<Pool>(PG_POOL);
    const held = await pool.connect();
    const body = notification();
    try {
      const started = Date.now();
      const answer = await deliver(`${url}/payout/webhook`, body);
      expect(answer.status).toBe(503);
      // One statement's wait for a connection, not a hang (Cashy gives up on a slow webhook).
      expect(Date.now() - started).toBeLessThan(TEST_STATEMENT_TIMEOUT_MS + 1_000);
      expect(listener.events).toHaveLength(0);
    } finally {
      held.release();
    }
    try {
      expect(await deliver(`${url}/payout/webhook`, body)).toMatchObject({ status: 200 });
      expect(listener.events).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('sends no create it cannot record first', async () => {
    const gateway = new ScriptedGateway();
    const baseUrl = await gateway.start();
    const pool = await server.createDatabase('creates');
    const store = new PostgresPayoutStore({
      pool,
      statementTimeoutMs: TEST_STATEMENT_TIMEOUT_MS,
      purgeIntervalMs: 0,
    });
    await store.migrate();
    const app = await compileScriptedPayoutModule(
      baseUrl,
      { store, reconciliation: false },
      { init: true },
    );
    try {
      await server.kill();
      const error = await app
        .get(PayoutService)
        .createPayout(penPayout(`PG-DOWN-${process.pid}`))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PayoutStoreError);
      expect(gateway.requests).toHaveLength(0);
    } finally {
      await server.restart();
      await app.close();
      await pool.end();
      await gateway.stop();
    }
  });

  it('reports the store down (and no payout counts) while the database is down, up again once it is back', async () => {
    const sandbox = new CashySandbox();
    await sandbox.start();
    const { app } = await startHostApp(
      'express',
      postgresPayoutModule(server.config('payouts'), undefined, {
        ...sandbox.moduleOptions(),
      }),
      { imports: [TerminusModule.forRoot({ logger: false })], providers: [PayoutHealthIndicator] },
    );
    const health = app.get(PayoutHealthIndicator);
    try {
      const up = await health.isHealthy('cashy', { timeoutMs: 300 });
      expect(up.cashy).toMatchObject({
        status: 'up',
        payouts: { open: 0, watchingReturns: 0 },
        store: { status: 'up' },
      });
      await server.kill();
      const started = Date.now();
      const down = await health.isHealthy('cashy', { timeoutMs: 300 });
      expect(Date.now() - started).toBeLessThan(TEST_STATEMENT_TIMEOUT_MS + 1_000);
      expect(down.cashy).toMatchObject({
        status: 'down',
        store: { status: 'down' },
        message: expect.stringContaining('the payout store is down'),
      });
      expect(down.cashy.payouts).toBeUndefined();
      // The gateway itself answers: only the store is down.
      expect(Object.values(down.cashy.accounts).every((a) => a.status === 'up')).toBe(true);
      await server.restart();
      await whenBack(app.get(PAYOUT_STORE));
      expect((await health.isHealthy('cashy', { timeoutMs: 300 })).cashy).toMatchObject({
        status: 'up',
        payouts: { open: 0, watchingReturns: 0 },
        store: { status: 'up' },
      });
    } finally {
      await app.close();
      await sandbox.stop();
    }
  });
});

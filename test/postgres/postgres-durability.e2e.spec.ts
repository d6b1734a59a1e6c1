import { CashyApiError, PAYOUT_STORE, PayoutService, type PayoutStore } from '../../lib';
import { PostgresPayoutStore } from '../../lib/postgres';
import { waitFor } from '../../lib/testing';
import { startHostApp } from '../support/host-app';
import { deliver, notification } from '../support/notifications';
import { penPayout } from '../support/payouts';
import { describeWithPostgres, PostgresServer } from './postgres-server';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { ScriptedGateway } from '../support/scripted-gateway';
import { postgresPayoutModule } from './postgres-host';

/** Until the store answers again after a restart (the pool replaces its dropped connections). */
const whenBack = (store: PayoutStore) =>
  waitFor(() =>
    store.countOpen!().then(
      () => true,
      () => false,
    ),
  );

/**
 * Durable means what was acknowledged is there after a crash: the database is SIGKILLed (postmaster
 * and every backend, as a machine losing power would leave it, less the OS cache) right after the
 * acknowledgement, then recovers from its WAL. With `synchronous_commit = off` or an UNLOGGED table
 * these records would be lost.
 */
describeWithPostgres('PostgreSQL crash after an acknowledgement', () => {
  let server: PostgresServer;

  beforeAll(async () => {
    server = await PostgresServer.start();
    await (await server.createDatabase('payouts')).end();
  });
  afterAll(() => server?.dispose());

  it('keeps the record of a webhook answered SUCCESS, so the copy Cashy sends later emits nothing', async () => {
    const { app, url, listener } = await startHostApp(
      'fastify',
      postgresPayoutModule(server.config('payouts'), undefined, { reconciliation: false }),
    );
    const store = app.get<PayoutStore>(PAYOUT_STORE);
    const body = notification();
    try {
      expect(await deliver(`${url}/payout/webhook`, body)).toMatchObject({
        status: 200,
        text: 'SUCCESS',
      });
      await server.kill();
      await server.restart();
      await whenBack(store);
      expect(await store.get(String(body.orderNo))).toMatchObject({
        status: 'SUCCESS',
        processed: ['SUCCESS'],
        amount: '150.50',
      });
      expect(await deliver(`${url}/payout/webhook`, body)).toMatchObject({
        status: 200,
        text: 'SUCCESS',
      });
      expect(listener.events.map((e) => e.payload.orderNo)).toEqual([body.orderNo]);
    } finally {
      await app.close();
    }
  });

  it('keeps the attempt marked sending before its create left, while the create is held at the gateway', async () => {
    const gateway = new ScriptedGateway();
    gateway.then({ hang: true });
    const baseUrl = await gateway.start();
    const pool = await server.createDatabase('creates');
    const store = new PostgresPayoutStore({ pool, statementTimeoutMs: 500, purgeIntervalMs: 0 });
    await store.migrate();
    // The create is held far longer than the crash and recovery take.
    const app = await compileScriptedPayoutModule(
      baseUrl,
      { store, timeoutMs: 5_000, retry: { attempts: 1 }, reconciliation: false },
      { init: true },
    );
    const mchOrderNo = `PG-HELD-${process.pid}`;
    const outcome = app
      .get(PayoutService)
      .createPayout(penPayout(mchOrderNo))
      .catch((e: unknown) => e);
    try {
      await waitFor(() => gateway.requests.length === 1);
      await server.kill();
      await server.restart();
      // A reader that never saw the attempt before the crash: only the recovered database holds it.
      const reader = new PostgresPayoutStore({
        connection: server.url('creates'),
        purgeIntervalMs: 0,
      });
      try {
        expect(await reader.getAttempt(mchOrderNo)).toMatchObject({
          mchOrderNo,
          state: 'sending',
          amount: '150.50',
          currency: 'PEN',
        });
        expect((await reader.listOpen(10)).map((e) => e.mchOrderNo)).toEqual([mchOrderNo]);
      } finally {
        await reader.close();
      }
    } finally {
      await gateway.stop();
      // A create that may have landed is never reported as rejected (rule 2).
      expect(await outcome).not.toBeInstanceOf(CashyApiError);
      await app.close();
      await pool.end();
    }
  });
});

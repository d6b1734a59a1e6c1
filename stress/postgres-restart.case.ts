import type { PostgresPayoutStore } from 'nestjs-cashy-payout/postgres';
import { Pool } from 'pg';
import { PostgresServer } from '../test/support/postgres-server';
import { CaseChecks, type CaseRow, fmt } from './case.result';
import type { CapturingLogger } from './capturing.logger';
import { deliverThroughOutage, expectOnceAfterResending, watchRecording } from './outage.util';
import { type AdapterName, startStressHost } from './host.app';
import { keepAliveAgent, statusTally } from './http.client';
import { type SignedNotification, signedNotifications } from './notifications.fixture';
import { StressResources, sleep } from './stress.resources';

/** Options of the PostgreSQL kill-and-restart case. */
export interface PostgresRestartOptions {
  notifications: number;
  connections: number;
  /** Offered load, so that the load goes on after the restart. */
  ratePerSecond: number;
  /** How long the listener takes per event, so that many deliveries hold a claim when the server goes. */
  listenerMs: number;
  /** How long the server stays dead before it is started again (crash recovery comes on top). */
  downMs: number;
  /** The store's `statementTimeoutMs`: how long a delivery waits for a connection that will not come. */
  statementTimeoutMs: number;
}

export const POSTGRES_RESTART_CASE = 'PostgreSQL SIGKILL + restart mid-load';

/**
 * Load on a host whose `PostgresPayoutStore` (a pool of its own, `connection`) lives in a throwaway
 * cluster that is SIGKILLed, postmaster and every backend at once, a third of the way through and
 * started again on the same directory `downMs` later (crash recovery from the WAL; `fsync=on`,
 * synchronous commit). Every answer must be 200 or 503, no `SUCCESS` may come before its event was
 * recorded, every order acknowledged with 200 must still have its outcome row after the restart,
 * and once every notification has been sent again as Cashy would (all of them, to prove that the
 * acknowledged ones are duplicates), each has exactly one event.
 */
export async function postgresRestartCase(
  adapter: AdapterName,
  logger: CapturingLogger,
  options: PostgresRestartOptions,
): Promise<CaseRow> {
  const checks = new CaseChecks(POSTGRES_RESTART_CASE, adapter, 'postgres');
  const resources = new StressResources(`postgres restart (${adapter})`);
  try {
    const server = await PostgresServer.start();
    resources.add(`postgres :${server.port}`, () => server.dispose());
    const host = await startStressHost({
      adapter,
      store: 'postgres',
      logger,
      postgres: {
        connection: server.config(),
        tablePrefix: 'stress_restart_',
        statementTimeoutMs: options.statementTimeoutMs,
      },
    });
    resources.add(`${adapter} host`, () => host.close());
    host.listener.delayMs = options.listenerMs;
    const agent = keepAliveAgent(options.connections);
    resources.add('HTTP agent', async () => agent.destroy());

    const { unrecorded, recordedLater, neverRecorded } = watchRecording(logger);
    const notifications = signedNotifications(
      `PR${adapter[0]}`.toUpperCase(),
      options.notifications,
    );
    let killedAt = 0;
    let restartedAt = 0;
    const load = await deliverThroughOutage(checks, host, agent, notifications, options, {
      what: 'PostgreSQL was killed',
      run: async () => {
        killedAt = Date.now();
        await server.kill();
        await sleep(options.downMs);
        await server.restart();
        restartedAt = Date.now();
      },
      timeoutMs: 30_000,
    });
    checks.expect(
      load.answers.some((a) => a.status === 503),
      'no 503 during the outage: PostgreSQL was not killed while under load',
    );
    const okInSecondHalf = load.answers.filter(
      (a, i) => a.status === 200 && i > options.notifications / 2,
    ).length;

    // What survived the crash, read before anything is sent again: every acknowledged outcome.
    const acknowledged = notifications.filter((_, i) => load.answers[i]?.status === 200);
    const admin = new Pool(server.config());
    admin.on('error', () => undefined);
    resources.add('admin pool', () => admin.end());
    const missing = await missingOutcomes(
      admin,
      (host.payoutStore as PostgresPayoutStore).tables.orders,
      acknowledged,
    );
    checks.expect(
      missing.length === 0,
      `${missing.length} of ${acknowledged.length} acknowledged outcome(s) missing after the restart (${missing.slice(0, 3).join(', ')})`,
    );

    // Cashy re-sends what was not acknowledged; everything goes again, so the acknowledged ones
    // prove to be duplicates.
    const { resent, ackedWithoutEvent, tally } = await expectOnceAfterResending(
      checks,
      host,
      agent,
      notifications,
      notifications,
      load,
      options.connections,
      neverRecorded,
    );

    const statuses = statusTally(load.answers);
    const downMs = restartedAt - killedAt;
    Object.assign(checks.details, {
      ...options,
      statuses,
      acknowledgedBeforeResend: acknowledged.length,
      acknowledgedMissing: missing.length,
      unrecordedAtFirst: unrecorded(),
      recordedLater: recordedLater(),
      neverRecorded: neverRecorded(),
      outageMs: downMs,
      okInSecondHalf,
      resendRounds: resent.rounds,
      resendStatuses: Object.fromEntries(resent.statuses),
    });
    return checks.row(
      `${fmt(options.notifications)} at ${options.ratePerSecond}/s, listener ${options.listenerMs} ms, PostgreSQL down ${downMs} ms (SIGKILL, crash recovery): ${statuses}; ${fmt(acknowledged.length - missing.length)} of ${fmt(acknowledged.length)} acknowledged outcomes in the table after the restart; ${ackedWithoutEvent.length} SUCCESS without event; ${unrecorded()} outcome(s) recorded only after the restart; re-sent all (${resent.rounds} round(s)); events: ${fmt(tally.once)} once, ${tally.doubled} double, ${tally.lost} lost`,
    );
  } catch (error) {
    checks.broke(error);
    return checks.row('did not complete');
  } finally {
    await resources.closeAll();
  }
}

/** The orderNos of `acknowledged` whose row does not hold their final status as handled. */
async function missingOutcomes(
  pool: Pool,
  ordersTable: string,
  acknowledged: readonly SignedNotification[],
): Promise<string[]> {
  const { rows } = await pool.query<{ order_no: string; status: string; processed: string[] }>(
    `SELECT order_no, status, processed FROM ${ordersTable} WHERE order_no = ANY($1)`,
    [acknowledged.map((n) => n.orderNo)],
  );
  const found = new Map(rows.map((row) => [row.order_no, row]));
  return acknowledged
    .filter((n) => {
      const row = found.get(n.orderNo);
      const status = n.expected === 'payout.succeeded' ? 'SUCCESS' : 'FAIL';
      return !row || row.status !== status || !row.processed.includes(status);
    })
    .map((n) => n.orderNo);
}

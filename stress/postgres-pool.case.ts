import type { PoolClient } from 'pg';
import { PostgresServer } from '../test/support/postgres-server';
import { CaseChecks, type CaseRow, fmt } from './case.result';
import type { CapturingLogger } from './capturing.logger';
import { deliverThroughOutage, expectOnceAfterResending, watchRecording } from './outage.util';
import { type AdapterName, startStressHost } from './host.app';
import { keepAliveAgent, statusTally } from './http.client';
import { signedNotifications } from './notifications.fixture';
import { StressResources, sleep } from './stress.resources';

/** Options of the exhausted-pool case. */
export interface PostgresPoolOptions {
  notifications: number;
  connections: number;
  ratePerSecond: number;
  /** How long the listener takes per event, so that many deliveries are mid-way when the pool runs dry. */
  listenerMs: number;
  /** The host's pool size (`max`), all of which the host takes for itself mid-load. */
  poolMax: number;
  /** How long the host holds every connection. */
  holdMs: number;
  /** The store's `statementTimeoutMs`: how long a delivery waits for a connection. */
  statementTimeoutMs: number;
}

export const POSTGRES_POOL_CASE = 'PostgreSQL pool exhausted mid-load';

/**
 * Load on a host that gives `PostgresPayoutStore` its own small pool (`max` = `poolMax`) and, a
 * third of the way through, takes every connection of that pool for itself (as a long report or a
 * migration of its own would) for `holdMs`. While it holds them the store cannot run a statement:
 * each delivery must wait `statementTimeoutMs` at most and answer 503, never 200 and never 500. Once
 * they are released and every notification has been sent again, each has exactly one event.
 */
export async function postgresPoolCase(
  adapter: AdapterName,
  logger: CapturingLogger,
  options: PostgresPoolOptions,
): Promise<CaseRow> {
  const checks = new CaseChecks(
    POSTGRES_POOL_CASE,
    adapter,
    `postgres (pool max ${options.poolMax})`,
  );
  const resources = new StressResources(`postgres pool (${adapter})`);
  try {
    const server = await PostgresServer.start();
    resources.add(`postgres :${server.port}`, () => server.dispose());
    // The host's pool, as the store's documentation asks for: an error listener and a statement_timeout.
    const pool = await server.createDatabase('stress_pool', {
      max: options.poolMax,
      statement_timeout: options.statementTimeoutMs,
    });
    resources.add('host pool', () => pool.end());
    const host = await startStressHost({
      adapter,
      store: 'postgres',
      logger,
      postgres: { pool, statementTimeoutMs: options.statementTimeoutMs },
    });
    resources.add(`${adapter} host`, () => host.close());
    host.listener.delayMs = options.listenerMs;
    const agent = keepAliveAgent(options.connections);
    resources.add('HTTP agent', async () => agent.destroy());

    const { unrecorded, neverRecorded } = watchRecording(logger);
    const notifications = signedNotifications(
      `PP${adapter[0]}`.toUpperCase(),
      options.notifications,
    );
    /** When each answer's request started and ended, to judge those that ran wholly inside the hold. */
    const spans: { start: number; end: number; status: number }[] = [];
    let heldAt = 0;
    let releasedAt = 0;
    const load = await deliverThroughOutage(
      checks,
      host,
      agent,
      notifications,
      options,
      {
        what: 'the pool was taken',
        // Queued behind the store's statements, like any other borrower: held once all are ours.
        run: async () => {
          const held: PoolClient[] = await Promise.all(
            Array.from({ length: options.poolMax }, () => pool.connect()),
          );
          heldAt = Date.now();
          await sleep(options.holdMs);
          releasedAt = Date.now();
          for (const client of held) client.release();
        },
        timeoutMs: 30_000,
      },
      (answer) => {
        const end = Date.now();
        spans.push({ start: end - answer.ms, end, status: answer.status });
      },
    );
    const inside = spans.filter((s) => s.start >= heldAt && s.end <= releasedAt);
    const insideOk = inside.filter((s) => s.status !== 503).length;
    checks.expect(
      inside.length > 0,
      `no delivery ran wholly while the pool was held (${releasedAt - heldAt} ms): the hold came too late`,
    );
    checks.expect(
      insideOk === 0,
      `${insideOk} of ${inside.length} deliveries made while the pool was held were not answered 503`,
    );

    const { resent, tally } = await expectOnceAfterResending(
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
    Object.assign(checks.details, {
      ...options,
      statuses,
      heldMs: releasedAt - heldAt,
      deliveriesWhileHeld: inside.length,
      unrecordedAtFirst: unrecorded(),
      resendRounds: resent.rounds,
      resendStatuses: Object.fromEntries(resent.statuses),
    });
    return checks.row(
      `${fmt(options.notifications)} at ${options.ratePerSecond}/s, listener ${options.listenerMs} ms, statementTimeoutMs ${options.statementTimeoutMs}, all ${options.poolMax} connections held by the host for ${releasedAt - heldAt} ms: ${statuses}; ${inside.length} deliveries made wholly while held, ${inside.length - insideOk} of them 503; ${unrecorded()} outcome(s) recorded only after; re-sent all (${resent.rounds} round(s)); events: ${fmt(tally.once)} once, ${tally.doubled} double, ${tally.lost} lost`,
    );
  } catch (error) {
    checks.broke(error);
    return checks.row('did not complete');
  } finally {
    await resources.closeAll();
  }
}

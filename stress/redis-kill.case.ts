import { Redis } from 'ioredis';
import { CaseChecks, type CaseRow, fmt } from './case.result';
import type { CapturingLogger } from './capturing.logger';
import { deliverThroughOutage, expectOnceAfterResending, watchRecording } from './outage.util';
import { type AdapterName, startStressHost } from './host.app';
import { keepAliveAgent, statusTally } from './http.client';
import { signedNotifications } from './notifications.fixture';
import { RedisServer } from '../test/support/redis-server';
import { StressResources, sleep } from './stress.resources';

/** Options of the Redis kill-and-restart case. */
export interface RedisKillOptions {
  notifications: number;
  connections: number;
  /** Offered load, so that the load goes on after the restart. */
  ratePerSecond: number;
  /** How long the listener takes per event, so that many deliveries hold a claim when Redis goes. */
  listenerMs: number;
  /** How long Redis stays dead. */
  downMs: number;
  /**
   * `aof`: Redis keeps every write (AOF, `appendfsync always`). `none`: it comes back empty, so
   * claims and records written before the kill are gone.
   */
  persistence: 'aof' | 'none';
}

/**
 * Load on a host whose `RedisPayoutStore` lives in a redis-server that is SIGKILLed a third of the
 * way through and started again on the same port `downMs` later, with its data (AOF, `appendfsync
 * always`) or empty. Every answer must be 200 or 503, no `SUCCESS` may come before its event was
 * recorded, and once the notifications are sent again as Cashy would (with AOF every one, to prove
 * duplicates; empty, those not acknowledged, since Cashy stops at SUCCESS), each has exactly one
 * event: none emitted twice, none lost.
 */
export async function redisKillCase(
  adapter: AdapterName,
  logger: CapturingLogger,
  options: RedisKillOptions,
): Promise<CaseRow> {
  const empty = options.persistence === 'none';
  const checks = new CaseChecks(
    redisKillCaseName(options),
    adapter,
    empty ? 'redis (no persistence)' : 'redis (AOF always)',
  );
  const resources = new StressResources(`redis kill (${adapter})`);
  try {
    const server = await RedisServer.start({ persistent: !empty });
    resources.add(`redis-server :${server.port}`, () => server.dispose());
    const host = await startStressHost({
      adapter,
      store: 'redis',
      redisUrl: server.url,
      logger,
      keyPrefix: 'cashy-stress-kill:',
    });
    resources.add(`${adapter} host`, () => host.close());
    host.listener.delayMs = options.listenerMs;
    const agent = keepAliveAgent(options.connections);
    resources.add('HTTP agent', async () => agent.destroy());

    const { unrecorded, recordedLater, neverRecorded } = watchRecording(logger);
    const notifications = signedNotifications(
      `K${adapter[0]}`.toUpperCase(),
      options.notifications,
    );
    let killedAt = 0;
    let restartedAt = 0;
    const load = await deliverThroughOutage(checks, host, agent, notifications, options, {
      what: 'Redis was killed',
      run: async () => {
        killedAt = Date.now();
        await server.stop();
        await sleep(options.downMs);
        await server.restart();
        restartedAt = Date.now();
      },
      timeoutMs: 15_000,
    });
    checks.expect(
      load.answers.some((a) => a.status === 503),
      'no 503 during the outage: Redis was not killed while under load',
    );
    const okInSecondHalf = load.answers.filter(
      (a, i) => a.status === 200 && i > options.notifications / 2,
    ).length;

    // What survived the crash: every write acknowledged before it was appended and fsynced.
    const admin = new Redis(server.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    resources.add('admin client', async () => admin.disconnect());
    await admin.connect();
    const keysAfterRestart = await admin.dbsize();

    // Cashy re-sends what was not acknowledged. With AOF every notification goes again, acknowledged
    // or not (each must be a duplicate); after an empty restart only what Cashy would re-send.
    const again = empty
      ? notifications.filter((_, i) => load.answers[i]?.status !== 200)
      : notifications;
    const { resent, ackedWithoutEvent, tally } = await expectOnceAfterResending(
      checks,
      host,
      agent,
      notifications,
      again,
      load,
      options.connections,
      neverRecorded,
    );
    const statuses = statusTally(load.answers);
    const downMs = restartedAt - killedAt;
    Object.assign(checks.details, {
      ...options,
      statuses,
      keysAfterRestart,
      unrecordedAtFirst: unrecorded(),
      recordedLater: recordedLater(),
      neverRecorded: neverRecorded(),
      outageMs: downMs,
      okInSecondHalf,
      resendRounds: resent.rounds,
      resendStatuses: Object.fromEntries(resent.statuses),
    });
    return checks.row(
      `${fmt(options.notifications)} at ${options.ratePerSecond}/s, listener ${options.listenerMs} ms, Redis down ${downMs} ms: ${statuses}; ${ackedWithoutEvent.length} SUCCESS without event; ${unrecorded()} outcome(s) recorded only after the restart; re-sent ${empty ? `the ${again.length} unacknowledged` : 'all'} (${resent.rounds} round(s)); events: ${fmt(tally.once)} once, ${tally.doubled} double, ${tally.lost} lost`,
    );
  } catch (error) {
    checks.broke(error);
    return checks.row('did not complete');
  } finally {
    await resources.closeAll();
  }
}

/** The row's name for `options`. */
export function redisKillCaseName(options: Pick<RedisKillOptions, 'persistence'>): string {
  return options.persistence === 'none'
    ? 'Redis SIGKILL + restart empty mid-load'
    : 'Redis SIGKILL + restart mid-load';
}

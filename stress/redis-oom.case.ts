import { Redis } from 'ioredis';
import { CaseChecks, type CaseRow, expectOneEventEach, fmt, tallyEvents } from './case.result';
import type { CapturingLogger } from './capturing.logger';
import { deliverTracked, expectStatuses, resendUntilAcknowledged } from './delivery.util';
import { type AdapterName, startStressHost } from './host.app';
import { keepAliveAgent, statusTally } from './http.client';
import { signedNotifications } from './notifications.fixture';
import { RedisServer } from '../test/support/redis-server';
import { StressResources } from './stress.resources';

/** Options of the Redis OOM case. */
export interface RedisOomOptions {
  notifications: number;
  connections: number;
  ratePerSecond: number;
  /** How long the listener takes per event, so that many deliveries hold a claim when Redis goes. */
  listenerMs: number;
  /** Room left above the memory in use when the limit is set, in bytes. */
  headroomBytes: number;
}

/** One field of `INFO <section>`, as a number (0 when absent). */
async function info(admin: Redis, section: string, field: string): Promise<number> {
  const text = await admin.info(section);
  const match = new RegExp(`^${field}:(\\S+)`, 'm').exec(text);
  if (!match) return 0;
  // errorstat lines read `errorstat_OOM:count=12`.
  const count = /count=(\d+)/.exec(match[1]);
  return Number(count ? count[1] : match[1]);
}

/**
 * Load on a host whose Redis has `maxmemory-policy noeviction`: a third of the way through, its
 * `maxmemory` is set just above the memory in use, so it fills up while notifications keep coming
 * (new orders cannot be claimed: 503); two thirds through, the limit is lifted. No outcome may be
 * emitted twice, no `SUCCESS` may come before its event, and once every notification has been sent
 * again each has exactly one event.
 */
export async function redisOomCase(
  adapter: AdapterName,
  logger: CapturingLogger,
  options: RedisOomOptions,
): Promise<CaseRow> {
  const checks = new CaseChecks('Redis OOM (noeviction) mid-load', adapter, 'redis');
  const resources = new StressResources(`redis oom (${adapter})`);
  try {
    const server = await RedisServer.start();
    resources.add(`redis-server :${server.port}`, () => server.dispose());
    const admin = new Redis(server.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    resources.add('admin client', async () => admin.disconnect());
    await admin.connect();
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const host = await startStressHost({
      adapter,
      store: 'redis',
      redisUrl: server.url,
      logger,
      keyPrefix: 'cashy-stress-oom:',
    });
    resources.add(`${adapter} host`, () => host.close());
    host.listener.delayMs = options.listenerMs;
    const agent = keepAliveAgent(options.connections);
    resources.add('HTTP agent', async () => agent.destroy());

    const notifications = signedNotifications(
      `O${adapter[0]}`.toUpperCase(),
      options.notifications,
    );
    // Moved on by the answers' callback; the `as` keeps TypeScript from narrowing it to 'room' below.
    let step = 'room' as 'room' | 'limited' | 'freed';
    let limitBytes = 0;
    let config: Promise<unknown> = Promise.resolve();
    const load = await deliverTracked(host, agent, notifications, {
      concurrency: options.connections,
      ratePerSecond: options.ratePerSecond,
      onAnswer: (_answer, answered) => {
        if (step === 'room' && answered >= options.notifications / 3) {
          step = 'limited';
          config = config.then(async () => {
            limitBytes = (await info(admin, 'memory', 'used_memory')) + options.headroomBytes;
            await admin.config('SET', 'maxmemory', String(limitBytes));
          });
        } else if (step === 'limited' && answered >= (2 * options.notifications) / 3) {
          step = 'freed';
          config = config.then(() => admin.config('SET', 'maxmemory', '0'));
        }
      },
    });
    await config;
    const oomErrors = await info(admin, 'errorstats', 'errorstat_OOM');
    checks.expect(step === 'freed', 'the load ended before the limit was set and lifted');
    checks.expect(
      oomErrors > 0,
      'Redis never refused a write (OOM): the limit was not reached mid-run',
    );
    expectStatuses(checks, load.answers, [200, 503], 'under load');
    const unavailable = load.answers.filter((a) => a.status === 503).length;

    const resent = await resendUntilAcknowledged(
      host,
      agent,
      notifications,
      options.connections,
      30_000,
    );
    checks.expect(
      resent.unacknowledged.length === 0,
      `${resent.unacknowledged.length} notification(s) still unacknowledged after the memory was freed`,
    );
    const ackedWithoutEvent = [...load.ackedWithoutEvent, ...resent.ackedWithoutEvent];
    checks.expect(
      ackedWithoutEvent.length === 0,
      `${ackedWithoutEvent.length} SUCCESS answer(s) before the event was recorded`,
    );
    const tally = tallyEvents(host.listener, notifications);
    expectOneEventEach(checks, tally, notifications.length);

    const statuses = statusTally(load.answers);
    Object.assign(checks.details, {
      ...options,
      limitBytes,
      oomErrors,
      statuses,
      unavailable,
      resendRounds: resent.rounds,
      resendStatuses: Object.fromEntries(resent.statuses),
    });
    return checks.row(
      `${fmt(options.notifications)} at ${options.ratePerSecond}/s, listener ${options.listenerMs} ms, maxmemory = used + ${options.headroomBytes / 1024} KiB then lifted: ${statuses}, ${fmt(oomErrors)} OOM refusals; re-sent all; events: ${fmt(tally.once)} once, ${tally.doubled} double, ${tally.lost} lost`,
    );
  } catch (error) {
    checks.broke(error);
    return checks.row('did not complete');
  } finally {
    await resources.closeAll();
  }
}

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './autocannon.load';
import { BENCH, SIGNED_PATH, WEBHOOK_PATH, type AdapterName } from './bench.config';
import { packageOf, type CpuProfile } from './cpu-profile.summary';
import { startChild, type BenchChild } from './ipc.util';
import { NotificationPool } from './notifications.fixture';
import { round } from './stats.util';
import type { HostAppStats } from './webhook-app.child';

type ProfiledRoute = 'signed' | 'webhook';
const PATHS: Record<ProfiledRoute, string> = {
  signed: SIGNED_PATH,
  webhook: WEBHOOK_PATH,
};

/** Self time per request, in µs, of one category or function on each route. */
export interface ProfileRow {
  name: string;
  signed: number;
  webhook: number;
}

/**
 * The main thread's CPU profile of two processes of one app (MemoryPayoutStore), one loaded on the
 * signed route and one on the module's, taking turns: self time per request by kind of code, and the
 * module's own functions. Sampled, so each figure is an estimate to about a tenth of a µs.
 */
export interface ProfileResult {
  adapter: AdapterName;
  /** Sampling interval, µs. */
  intervalUs: number;
  /** Seconds under load per route, and the requests answered in them. */
  seconds: Record<ProfiledRoute, number>;
  requests: Record<ProfiledRoute, number>;
  /** App CPU per request (all threads, from process.cpuUsage) over the profiled span: the profiler adds some. */
  cpuUsPerRequest: Record<ProfiledRoute, number>;
  /** Self time per request by kind of code (main thread only; idle left out), largest difference first. */
  categories: ProfileRow[];
  /** The module's own functions (lib/, as compiled in dist/), by self time per request on its route. */
  moduleFunctions: ProfileRow[];
}

/** What kind of code a profile node is. */
function categoryOf(functionName: string, url: string): string | undefined {
  if (functionName === '(idle)') return undefined;
  if (functionName === '(garbage collector)') return 'garbage collector (main thread)';
  if (functionName === '(program)') return '(program): V8 and Node outside any JS function';
  const where = packageOf(url);
  if (where === 'nestjs-cashy-payout (dist)') return 'the module (lib/)';
  if (where === 'bench') return "the bench's hand-written guard and controllers";
  if (where.startsWith('@nestjs/')) return 'Nest (@nestjs/*)';
  if (where.startsWith('node:')) return 'Node internals (node:*)';
  if (where === '(native/program)') return `native: ${functionName || '(anonymous)'}`;
  return 'the HTTP adapter, its parsers and other packages (eventemitter2, …)';
}

/**
 * Profiles (`--cpu-prof`, a sample every `intervalUs`) two processes of the same app, one loaded on
 * the signed route and one on the module's, in alternating segments; each process's samples are
 * counted from the start of its first measured segment to a moment after its last (idle left
 * out), so GC work a segment leaves behind counts for its route, as in the other rows. The
 * parent's and the children's monotonic clocks are the same clock on Linux.
 */
export async function profileWebhook(
  adapter: AdapterName,
  log: (line: string) => void,
  intervalUs = 500,
): Promise<ProfileResult> {
  const { connections, warmupSeconds } = BENCH.webhook;
  const { rounds, segmentSeconds } = BENCH.profile;
  const routes: ProfiledRoute[] = ['signed', 'webhook'];
  const dirs = {} as Record<ProfiledRoute, string>;
  const apps = {} as Record<ProfiledRoute, BenchChild<{ url: string }>>;
  const requests: Record<ProfiledRoute, number> = { signed: 0, webhook: 0 };
  const seconds: Record<ProfiledRoute, number> = { signed: 0, webhook: 0 };
  const span = {} as Record<
    ProfiledRoute,
    { from: number; to: number; cpuFrom: number; cpuTo: number }
  >;
  const micros = () => Number(process.hrtime.bigint() / 1000n);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    for (const route of routes) {
      dirs[route] = mkdtempSync(join(tmpdir(), `cashy-bench-prof-${route}-`));
      apps[route] = await startChild<{ url: string }>(
        'webhook-app.child',
        [adapter, JSON.stringify({ store: 'memory' })],
        ['--cpu-prof', '--cpu-prof-dir', dirs[route], '--cpu-prof-interval', String(intervalUs)],
      );
    }
    const pool = new NotificationPool();
    try {
      for (const route of routes) {
        pool.ensure(BENCH.webhook.initialPool);
        await runLoad(apps[route].ready.url, PATHS[route], pool, warmupSeconds, connections);
      }
      for (let n = 1; n <= rounds; n++) {
        for (const route of n % 2 === 1 ? routes : [...routes].reverse()) {
          await pause(250);
          pool.ensure(BENCH.webhook.initialPool);
          const before = await apps[route].ask<HostAppStats>('stats');
          span[route] ??= {
            from: micros(),
            to: 0,
            cpuFrom: before.cpuUs,
            cpuTo: 0,
          };
          const figures = await runLoad(
            apps[route].ready.url,
            PATHS[route],
            pool,
            segmentSeconds,
            connections,
          );
          await pause(50);
          const after = await apps[route].ask<HostAppStats>('stats');
          if (figures.non2xx > 0 || figures.errors > 0) {
            throw new Error(
              `${adapter} profile ${route}: ${figures.non2xx} non-2xx answers and ${figures.errors} errors`,
            );
          }
          requests[route] += figures.ok;
          seconds[route] += figures.seconds;
          log(
            `  ${adapter} profile round ${n} ${route.padEnd(7)} ${figures.perSecond.toFixed(0).padStart(6)} req/s  ` +
              `app ${round((after.cpuUs - before.cpuUs) / figures.ok, 1)} µs CPU/req in the segment`,
          );
        }
      }
      await pause(1_000);
      for (const route of routes) {
        span[route].to = micros();
        span[route].cpuTo = (await apps[route].ask<HostAppStats>('stats')).cpuUs;
      }
    } finally {
      await Promise.all(routes.map((route) => apps[route]?.stop()));
    }
    const profiles = {} as Record<ProfiledRoute, CpuProfile>;
    for (const route of routes) {
      const file = readdirSync(dirs[route]).find((name) => name.endsWith('.cpuprofile'));
      if (!file) throw new Error(`${adapter} profile: the ${route} app wrote no .cpuprofile`);
      profiles[route] = JSON.parse(readFileSync(join(dirs[route], file), 'utf8')) as CpuProfile;
    }
    return {
      adapter,
      intervalUs,
      seconds,
      requests,
      cpuUsPerRequest: {
        signed: round((span.signed.cpuTo - span.signed.cpuFrom) / requests.signed, 1),
        webhook: round((span.webhook.cpuTo - span.webhook.cpuFrom) / requests.webhook, 1),
      },
      ...attribute(profiles, span, requests),
    };
  } finally {
    for (const dir of Object.values<string>(dirs)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Self time per request by category and by module function: each route's process's samples within its span. */
function attribute(
  profiles: Record<ProfiledRoute, CpuProfile>,
  span: Record<ProfiledRoute, { from: number; to: number }>,
  requests: Record<ProfiledRoute, number>,
): Pick<ProfileResult, 'categories' | 'moduleFunctions'> {
  const categories = new Map<string, Record<ProfiledRoute, number>>();
  const functions = new Map<string, Record<ProfiledRoute, number>>();
  const add = (
    map: Map<string, Record<ProfiledRoute, number>>,
    key: string,
    route: ProfiledRoute,
    us: number,
  ) => {
    const row = map.get(key) ?? { signed: 0, webhook: 0 };
    row[route] += us;
    map.set(key, row);
  };
  for (const route of ['signed', 'webhook'] as const) {
    const profile = profiles[route];
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    let time = profile.startTime ?? 0;
    let counted = 0;
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      time += delta;
      if (time < span[route].from || time > span[route].to) return;
      const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
      const category = categoryOf(functionName, url);
      if (!category) return;
      counted++;
      add(categories, category, route, delta);
      if (packageOf(url) === 'nestjs-cashy-payout (dist)') {
        add(
          functions,
          `${functionName || '(anonymous)'} (${url.replace(/^.*\/dist\//, '')}:${lineNumber + 1})`,
          route,
          delta,
        );
      }
    });
    if (counted === 0)
      throw new Error(
        `profile ${route}: no sample fell inside the measured span (are the clocks comparable here?)`,
      );
  }
  const rows = (map: Map<string, Record<ProfiledRoute, number>>): ProfileRow[] =>
    [...map.entries()].map(([name, us]) => ({
      name,
      signed: round(us.signed / requests.signed, 2),
      webhook: round(us.webhook / requests.webhook, 2),
    }));
  return {
    categories: rows(categories)
      .filter((r) => r.signed >= 0.05 || r.webhook >= 0.05)
      .sort((a, b) => Math.abs(b.webhook - b.signed) - Math.abs(a.webhook - a.signed)),
    moduleFunctions: rows(functions)
      .filter((r) => r.webhook >= 0.05)
      .sort((a, b) => b.webhook - a.webhook),
  };
}

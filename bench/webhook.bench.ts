import { join } from 'node:path';
import { alternate } from './alternation.util';
import { runLoad, type LoadFigures } from './autocannon.load';
import {
  BARE_PATH,
  BENCH,
  MODULE_GUARD_PATH,
  SERVICE_PATH,
  SIGNED_DEDUPE_PATH,
  SIGNED_INSERT_PATH,
  SIGNED_PATH,
  WEBHOOK_PATH,
  type AdapterName,
} from './bench.config';
import { startChild, type BenchChild } from './ipc.util';
import { NotificationPool } from './notifications.fixture';
import type { BenchPostgres } from './postgres-server.util';
import type { BenchRedis } from './redis-server.util';
import { median, ratio, round } from './stats.util';
import type { HostAppStats, WebhookAppOptions } from './webhook-app.child';

/** One route's segments and their medians. Latencies in ms. */
export interface RouteFigures {
  rps: number;
  p50: number;
  p99: number;
  /** The app's CPU per request, in µs: steadier than req/s on a machine that steals time. */
  cpuUsPerRequest: number;
  /** The app's CPU over a segment, in cores (median): well below 1, the app was not what limited req/s. */
  appCores: number;
  /** Redis's own CPU per request, in µs (Redis rows only). */
  redisCpuUsPerRequest?: number;
  /** Commands the app sent to Redis per request, each one round trip (Redis rows only). */
  redisCommandsPerRequest?: number;
  /** PostgreSQL's own CPU per request (postmaster and backends), in µs (PostgreSQL rows only). */
  postgresCpuUsPerRequest?: number;
  /** Statements the app sent to PostgreSQL per request, each one round trip (PostgreSQL rows only). */
  postgresStatementsPerRequest?: number;
  segments: LoadFigures[];
}

/**
 * One route against another measured in the same rounds. `rps` and `cpuUsPerRequest` are medians
 * of the per-round ratios (what the targets compare: each round's pair was measured seconds apart,
 * and the median drops a round a neighbour spoiled); `cpuUsDelta` is the median of the per-round
 * differences in µs; p50 and p99 are ratios of the medians.
 */
export interface Comparison {
  rps: number;
  cpuUsPerRequest: number;
  cpuUsDelta: number;
  p50: number;
  p99: number;
  roundRps: number[];
  roundCpu: number[];
}

/** Proof that every measured request took the full path (no dedupe shortcut, no missed event). */
export interface WebhookChecks {
  /** Requests acknowledged on routes that must emit `payout.succeeded`, and the events the listener got meanwhile. */
  acknowledged: number;
  emitted: number;
  /** Orders in a MemoryPayoutStore at the end (absent on Redis). */
  storeSize?: number;
  /** Notifications signed during a segment because the pool ran dry (0 in a healthy run). */
  generatedInline: number;
  /** The load generator's busiest segment, in cores: near 1, autocannon itself was the limit. */
  maxGeneratorCores: number;
}

/** The webhook phase on one adapter: the module's route against the signed baseline, with the bare floor. */
export interface WebhookResult {
  adapter: AdapterName;
  /** `signed`: the baseline (hand-written guard and one event); `webhook`: the module's route on MemoryPayoutStore; `bare`: the floor. */
  routes: { signed: RouteFigures; webhook: RouteFigures; bare: RouteFigures };
  /** Each route over the signed baseline; `webhook` is what the targets compare. */
  overSigned: { webhook: Comparison; bare: Comparison };
  /** The signed baseline and the module's route over the bare floor: what a signed route, and the module, cost over parsing JSON. */
  overBare: { signed: Comparison; webhook: Comparison };
  checks: WebhookChecks;
}

/** The module's route on RedisPayoutStore against the same signed baseline (reported, no target). */
export interface RedisWebhookResult {
  adapter: AdapterName;
  redis: { version: string; settings: string; client: string };
  /** `signedDedupe`: the baseline for several replicas (the signed route plus one `SET NX PX`). */
  routes: { signed: RouteFigures; webhook: RouteFigures; signedDedupe?: RouteFigures };
  overSigned: { webhook: Comparison; signedDedupe?: Comparison };
  /** The module's route over the signed route with its `SET NX PX` dedupe: what the target compares. */
  overDedupe?: { webhook: Comparison };
  checks: WebhookChecks;
}

/** The module's route on PostgresPayoutStore against the same signed baseline (reported, no target). */
export interface PostgresWebhookResult {
  adapter: AdapterName;
  postgres: { version: string; settings: string; client: string };
  /** `signedInsert`: the baseline for several replicas (the signed route plus one `INSERT … ON CONFLICT DO NOTHING`). */
  routes: { signed: RouteFigures; webhook: RouteFigures; signedInsert: RouteFigures };
  overSigned: { webhook: Comparison; signedInsert: Comparison };
  /** The module's route over the signed route with its one-INSERT dedupe. */
  overInsert: { webhook: Comparison };
  checks: WebhookChecks;
}

/** One stage of the module's route taken apart. */
export interface StageFigures {
  name: StageSide;
  /** What the route runs. */
  route: string;
  /** What this stage adds to the one before it. */
  adds: string;
  figures: RouteFigures;
  overSigned: Comparison;
  /** Over the stage before it (absent for the first, the signed baseline). */
  overPrevious?: Comparison;
}

/** The module's route built up stage by stage from the signed baseline, in one app (MemoryPayoutStore). */
export interface StagesResult {
  adapter: AdapterName;
  stages: StageFigures[];
  checks: WebhookChecks;
}

type MainSide = 'signed' | 'webhook' | 'bare';
type RedisSide = 'signedDedupe' | 'signed' | 'webhook';
type PostgresSide = 'signedInsert' | 'signed' | 'webhook';
export type StageSide = 'signed' | 'moduleGuard' | 'serviceNoStore' | 'service' | 'webhook';

/** What a side's requests must leave behind: a `payout.succeeded` event each, or a hand-written route's event each. */
type Expectation = 'succeeded' | 'signed' | 'none';

interface AppPlan<S extends string> {
  adapter: AdapterName;
  /** Short name, for the log and the profile directory. */
  label: string;
  /** The app each side's process runs (every process mounts every route; only its side's is loaded). */
  app: (side: S) => WebhookAppOptions;
  /** The first side is the one `alternate` compares the others with (the baseline). */
  sides: readonly [S, ...S[]];
  paths: Record<S, string>;
  expect: Record<S, Expectation>;
  rounds: number;
  redis?: BenchRedis;
  postgres?: BenchPostgres;
}

/** A pause before each segment, so that work a process left behind (a GC finishing) is done before another is timed. */
const SETTLE_MS = 250;
/** After the last segment, the time every process gets to finish what its load left behind before its last cycle is closed. */
const FINAL_SETTLE_MS = 1_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Loads each side's route in a process of its own (the same app in each), with distinct signed
 * notifications, in alternating segments (see `alternate`). A route's garbage and the state it
 * keeps (the module's store) are thus collected, and paid for, in its own process: a side's CPU per
 * request is its process's CPU over its whole cycle, from the start of one of its segments to the
 * start of its next, over the requests of that segment, so that GC work a segment left behind
 * counts for the route that caused it. Throws when any request failed or an acknowledged request
 * did not leave its event.
 */
async function measureApp<S extends string>(
  plan: AppPlan<S>,
  log: (line: string) => void,
): Promise<{ segments: Record<S, LoadFigures[]>; checks: WebhookChecks }> {
  const { connections, warmupSeconds, segmentSeconds, initialPool } = BENCH.webhook;
  const { adapter, label } = plan;
  const profileDir = process.env.BENCH_CPU_PROF;
  const apps = {} as Record<S, BenchChild<{ url: string }>>;
  const pool = new NotificationPool();
  /** Each side's latest segment, whose cycle closes when its next segment starts. */
  const open = {} as Record<S, { figures: LoadFigures; cpuUs: number } | undefined>;
  let fastest = 0;
  let acknowledged = 0;
  let emitted = 0;
  let maxGeneratorCores = 0;
  let storeSize: number | undefined;

  const closeCycle = (side: S, stats: HostAppStats) => {
    const last = open[side];
    if (last)
      last.figures.appCpuUsPerRequest = round((stats.cpuUs - last.cpuUs) / last.figures.ok, 1);
    open[side] = undefined;
  };

  const segment = async (side: S, seconds: number): Promise<LoadFigures> => {
    const app = apps[side];
    await pause(SETTLE_MS);
    // Signing happens here, between segments, never while autocannon runs.
    pool.ensure(Math.max(initialPool, Math.ceil(fastest * seconds * 1.5)));
    const before = await app.ask<HostAppStats>('stats');
    closeCycle(side, before);
    const redisBefore = plan.redis?.cpuUs();
    const postgresBefore = plan.postgres?.cpuUs();
    const figures = await runLoad(app.ready.url, plan.paths[side], pool, seconds, connections);
    await pause(50); // let requests cut off at the deadline finish
    const after = await app.ask<HostAppStats>('stats');
    const redisAfter = plan.redis?.cpuUs();
    const postgresAfter = plan.postgres?.cpuUs();
    const where = `${adapter} ${label} ${side}`;
    if (figures.non2xx > 0 || figures.errors > 0) {
      throw new Error(
        `${where}: ${figures.non2xx} non-2xx answers and ${figures.errors} errors in ${figures.ok + figures.non2xx} requests`,
      );
    }
    const expectation: Expectation = plan.expect[side];
    if (expectation !== 'none') {
      const delta = after[expectation] - before[expectation];
      // Every acknowledged notification must have run the listener once: fewer means a shortcut.
      if (delta < figures.ok)
        throw new Error(`${where}: ${figures.ok} acknowledged but only ${delta} events emitted`);
      if (expectation === 'succeeded') {
        acknowledged += figures.ok;
        emitted += delta;
      }
    }
    figures.appCpuUsInSegment = round((after.cpuUs - before.cpuUs) / figures.ok, 1);
    figures.appCores = round((after.cpuUs - before.cpuUs) / (figures.seconds * 1e6), 2);
    if (redisBefore !== undefined && redisAfter !== undefined) {
      figures.redisCpuUsPerRequest = round((redisAfter - redisBefore) / figures.ok, 1);
    }
    if (after.redisCommands !== undefined) {
      figures.redisCommandsPerRequest = round(
        (after.redisCommands - before.redisCommands!) / figures.ok,
        2,
      );
    }
    if (postgresBefore !== undefined && postgresAfter !== undefined) {
      figures.postgresCpuUsPerRequest = round((postgresAfter - postgresBefore) / figures.ok, 1);
    }
    if (after.postgresStatements !== undefined) {
      figures.postgresStatementsPerRequest = round(
        (after.postgresStatements - before.postgresStatements!) / figures.ok,
        2,
      );
    }
    open[side] = { figures, cpuUs: before.cpuUs };
    fastest = Math.max(fastest, figures.perSecond);
    maxGeneratorCores = Math.max(maxGeneratorCores, figures.generatorCores);
    return figures;
  };

  try {
    for (const side of plan.sides) {
      const execArgv = profileDir
        ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, `${adapter}-${label}-${side}`)]
        : [];
      apps[side] = await startChild<{ url: string }>(
        'webhook-app.child',
        [adapter, JSON.stringify(plan.app(side))],
        execArgv,
      );
    }
    await probe(apps, pool, plan);
    const result = await alternate(
      plan.rounds,
      plan.sides,
      (side, warmup) => segment(side, warmup ? warmupSeconds : segmentSeconds),
      (n, side, f) =>
        log(
          `  ${adapter} ${label} round ${String(n).padStart(2)} ${side.padEnd(14)} ${f.perSecond.toFixed(0).padStart(6)} req/s  ` +
            `p99 ${f.p99.toFixed(2).padStart(6)} ms  app ${String(f.appCpuUsInSegment).padStart(5)} µs CPU/req in the segment on ${f.appCores} cores` +
            (f.redisCpuUsPerRequest !== undefined
              ? `, redis ${f.redisCpuUsPerRequest} µs/req`
              : '') +
            (f.redisCommandsPerRequest !== undefined
              ? ` in ${f.redisCommandsPerRequest} commands/req`
              : '') +
            (f.postgresCpuUsPerRequest !== undefined
              ? `, postgres ${f.postgresCpuUsPerRequest} µs/req`
              : '') +
            (f.postgresStatementsPerRequest !== undefined
              ? ` in ${f.postgresStatementsPerRequest} statements/req`
              : '') +
            `; generator ${f.generatorCores} cores`,
        ),
    );
    await pause(FINAL_SETTLE_MS);
    for (const side of plan.sides) {
      const stats = await apps[side].ask<HostAppStats>('stats');
      closeCycle(side, stats);
      if (plan.expect[side] === 'succeeded' && stats.storeSize !== undefined)
        storeSize = Math.max(storeSize ?? 0, stats.storeSize);
    }
    return {
      segments: result.segments,
      checks: {
        acknowledged,
        emitted,
        storeSize,
        generatedInline: pool.generatedInline,
        maxGeneratorCores,
      },
    };
  } finally {
    await Promise.all(Object.values<BenchChild<{ url: string }>>(apps).map((app) => app.stop()));
  }
}

/** The main comparison on one adapter: signed (baseline), webhook (the module, MemoryPayoutStore), bare (floor). */
export async function benchWebhook(
  adapter: AdapterName,
  log: (line: string) => void,
): Promise<WebhookResult> {
  // signed first: it is the baseline, and A B C / C B A keeps the target's pair back to back.
  const sides = ['signed', 'webhook', 'bare'] as const;
  const { segments, checks } = await measureApp<MainSide>(
    {
      adapter,
      label: 'memory',
      app: () => ({ store: 'memory' }),
      sides,
      paths: { signed: SIGNED_PATH, webhook: WEBHOOK_PATH, bare: BARE_PATH },
      expect: { signed: 'signed', webhook: 'succeeded', bare: 'none' },
      rounds: BENCH.webhook.rounds,
    },
    log,
  );
  return {
    adapter,
    routes: {
      signed: summarize(segments.signed),
      webhook: summarize(segments.webhook),
      bare: summarize(segments.bare),
    },
    overSigned: {
      webhook: compare(segments.webhook, segments.signed),
      bare: compare(segments.bare, segments.signed),
    },
    overBare: {
      signed: compare(segments.signed, segments.bare),
      webhook: compare(segments.webhook, segments.bare),
    },
    checks,
  };
}

/** The module's route on RedisPayoutStore (Redis on loopback) against the signed baseline in the same app. */
export async function benchWebhookRedis(
  adapter: AdapterName,
  redis: BenchRedis,
  log: (line: string) => void,
): Promise<RedisWebhookResult> {
  const { segments, checks } = await measureApp<RedisSide>(
    {
      adapter,
      label: 'redis',
      app: () => ({ store: 'redis', redisUrl: redis.url }),
      sides: ['signedDedupe', 'signed', 'webhook'],
      paths: { signedDedupe: SIGNED_DEDUPE_PATH, signed: SIGNED_PATH, webhook: WEBHOOK_PATH },
      expect: { signedDedupe: 'signed', signed: 'signed', webhook: 'succeeded' },
      rounds: BENCH.redis.rounds,
      redis,
    },
    log,
  );
  return {
    adapter,
    redis: {
      version: redis.version,
      settings:
        "redis-server --bind 127.0.0.1 --save '' --appendonly no, started by the bench on a free port",
      client: 'ioredis new Redis(url, { maxRetriesPerRequest: 1 }), RedisPayoutStore defaults',
    },
    routes: {
      signedDedupe: summarize(segments.signedDedupe),
      signed: summarize(segments.signed),
      webhook: summarize(segments.webhook),
    },
    overSigned: {
      webhook: compare(segments.webhook, segments.signed),
      signedDedupe: compare(segments.signedDedupe, segments.signed),
    },
    overDedupe: { webhook: compare(segments.webhook, segments.signedDedupe) },
    checks,
  };
}

/** The module's route on PostgresPayoutStore (PostgreSQL on loopback) against the signed baseline in the same app. */
export async function benchWebhookPostgres(
  adapter: AdapterName,
  postgres: BenchPostgres,
  log: (line: string) => void,
): Promise<PostgresWebhookResult> {
  const { segments, checks } = await measureApp<PostgresSide>(
    {
      adapter,
      label: 'postgres',
      app: () => ({ store: 'postgres', postgresUrl: postgres.url }),
      sides: ['signedInsert', 'signed', 'webhook'],
      paths: { signedInsert: SIGNED_INSERT_PATH, signed: SIGNED_PATH, webhook: WEBHOOK_PATH },
      expect: { signedInsert: 'signed', signed: 'signed', webhook: 'succeeded' },
      rounds: BENCH.postgres.rounds,
      postgres,
    },
    log,
  );
  return {
    adapter,
    postgres: {
      version: postgres.version,
      settings:
        'a throwaway cluster (initdb, pg_ctl) on 127.0.0.1 with fsync=on and synchronous_commit=on, data in /dev/shm, started by the bench on a free port',
      client: `pg new Pool({ connectionString, max: ${BENCH.postgres.poolMax}, statement_timeout: 5000 }), shared by the store and the INSERT route; PostgresPayoutStore({ pool }) defaults`,
    },
    routes: {
      signedInsert: summarize(segments.signedInsert),
      signed: summarize(segments.signed),
      webhook: summarize(segments.webhook),
    },
    overSigned: {
      webhook: compare(segments.webhook, segments.signed),
      signedInsert: compare(segments.signedInsert, segments.signed),
    },
    overInsert: { webhook: compare(segments.webhook, segments.signedInsert) },
    checks,
  };
}

/** The stages, in the order each adds to the one before. */
const STAGES: { name: StageSide; path: string; route: string; adds: string }[] = [
  {
    name: 'signed',
    path: SIGNED_PATH,
    route: 'hand-written guard (MD5 + timingSafeEqual) + one event',
    adds: 'the baseline',
  },
  {
    name: 'moduleGuard',
    path: MODULE_GUARD_PATH,
    route: 'PayoutSignatureGuard + one event',
    adds: "the module's signature check in place of the hand-written one (Content-Type, size, account lookup, constant-time hex compare, payoutAccount)",
  },
  {
    name: 'serviceNoStore',
    path: SERVICE_PATH,
    route: 'PayoutSignatureGuard + PayoutService.handleNotification, store work switched off',
    adds: 'validation (rules, amounts), the state machine, the claim and its renewal timer, the typed PayoutSucceededEvent and its log call, with every store read answering "nothing" and every write "done"',
  },
  {
    name: 'service',
    path: SERVICE_PATH,
    route: 'PayoutSignatureGuard + PayoutService.handleNotification on MemoryPayoutStore',
    adds: 'the store: get, getAttempt, findByMchOrderNo, compareAndSet (claim), compareAndSet (outcome), untrackOpen, and the bounded maps behind them',
  },
  {
    name: 'webhook',
    path: WEBHOOK_PATH,
    route: "the module's POST /payout/webhook on MemoryPayoutStore",
    adds: "the module's controller around the service: @Req/@Res(passthrough), the MerchantId fallback, diagnostics hook, the Content-Type header set per reply",
  },
];

/**
 * Where the module's time goes: the route built up from the signed baseline one stage at a time,
 * each stage loaded in its own process of one app, measured in alternating rounds like the rest.
 * Every process keeps a MemoryPayoutStore, but the "store work off" stage's does no order or
 * attempt work (see `WebhookAppOptions.store`).
 */
export async function benchWebhookStages(
  adapter: AdapterName,
  log: (line: string) => void,
): Promise<StagesResult> {
  const sides = STAGES.map((s) => s.name) as [StageSide, ...StageSide[]];
  const { segments, checks } = await measureApp<StageSide>(
    {
      adapter,
      label: 'stages',
      app: (side) => ({
        store: side === 'serviceNoStore' ? 'bypass' : 'memory',
        stages: true,
      }),
      sides,
      paths: Object.fromEntries(STAGES.map((s) => [s.name, s.path])) as Record<StageSide, string>,
      expect: {
        signed: 'signed',
        moduleGuard: 'signed',
        serviceNoStore: 'succeeded',
        service: 'succeeded',
        webhook: 'succeeded',
      },
      rounds: BENCH.stages.rounds,
    },
    log,
  );
  return {
    adapter,
    stages: STAGES.map((stage, i) => ({
      name: stage.name,
      route: stage.route,
      adds: stage.adds,
      figures: summarize(segments[stage.name]),
      overSigned: compare(segments[stage.name], segments.signed),
      ...(i > 0
        ? {
            overPrevious: compare(segments[stage.name], segments[STAGES[i - 1].name]),
          }
        : {}),
    })),
    checks,
  };
}

/** `route` over `baseline`, round by round (both lists hold one segment per round, in order). */
export function compare(route: LoadFigures[], baseline: LoadFigures[]): Comparison {
  const roundRps = route.map((f, i) => ratio(f.perSecond, baseline[i].perSecond));
  const roundCpu = route.map((f, i) =>
    ratio(f.appCpuUsPerRequest!, baseline[i].appCpuUsPerRequest!),
  );
  const deltas = route.map((f, i) => f.appCpuUsPerRequest! - baseline[i].appCpuUsPerRequest!);
  const pick = (list: LoadFigures[], get: (f: LoadFigures) => number) => median(list.map(get));
  return {
    rps: round(median(roundRps), 3),
    cpuUsPerRequest: round(median(roundCpu), 3),
    cpuUsDelta: round(median(deltas), 1),
    p50: ratio(
      pick(route, (f) => f.p50),
      pick(baseline, (f) => f.p50),
    ),
    p99: ratio(
      pick(route, (f) => f.p99),
      pick(baseline, (f) => f.p99),
    ),
    roundRps,
    roundCpu,
  };
}

/** Every process answers a signed notification on its route with 200 `SUCCESS` before any load is applied. */
async function probe<S extends string>(
  apps: Record<S, BenchChild<{ url: string }>>,
  pool: NotificationPool,
  plan: AppPlan<S>,
): Promise<void> {
  for (const side of plan.sides) {
    pool.ensure(1);
    const { body, headers } = pool.take();
    const response = await fetch(apps[side].ready.url + plan.paths[side], {
      method: 'POST',
      headers,
      body,
    });
    const text = await response.text();
    if (response.status !== 200 || text !== 'SUCCESS') {
      throw new Error(`probe ${plan.label} ${side}: HTTP ${response.status} ${text.slice(0, 200)}`);
    }
  }
}

function summarize(segments: LoadFigures[]): RouteFigures {
  const pick = (get: (s: LoadFigures) => number) => median(segments.map(get));
  const redis = segments.every((s) => s.redisCpuUsPerRequest !== undefined)
    ? pick((s) => s.redisCpuUsPerRequest!)
    : undefined;
  const commands = segments.every((s) => s.redisCommandsPerRequest !== undefined)
    ? pick((s) => s.redisCommandsPerRequest!)
    : undefined;
  const postgres = segments.every((s) => s.postgresCpuUsPerRequest !== undefined)
    ? pick((s) => s.postgresCpuUsPerRequest!)
    : undefined;
  const statements = segments.every((s) => s.postgresStatementsPerRequest !== undefined)
    ? pick((s) => s.postgresStatementsPerRequest!)
    : undefined;
  return {
    rps: pick((s) => s.perSecond),
    p50: pick((s) => s.p50),
    p99: pick((s) => s.p99),
    cpuUsPerRequest: pick((s) => s.appCpuUsPerRequest ?? NaN),
    appCores: pick((s) => s.appCores ?? NaN),
    ...(redis !== undefined ? { redisCpuUsPerRequest: redis } : {}),
    ...(commands !== undefined ? { redisCommandsPerRequest: commands } : {}),
    ...(postgres !== undefined ? { postgresCpuUsPerRequest: postgres } : {}),
    ...(statements !== undefined ? { postgresStatementsPerRequest: statements } : {}),
    segments,
  };
}

/**
 * Every knob of `npm run bench` in one place. Timings are only ever compared with a baseline
 * measured in the same run, so the machine's speed drops out; the knobs trade stability for time
 * (on 2 cores a full run takes about six minutes, about ten when the stage breakdown and the
 * profile run, which they do by default whenever a webhook target is missed).
 *
 * Environment:
 * - `BENCH_ONLY=webhook,client,signing,validation,memory` runs a subset (for iterating on one
 *   phase; `BENCH_ONLY=validation` is the `validate()` micro-row alone, a few seconds);
 * - `BENCH_ADAPTERS=fastify` loads one adapter only;
 * - `BENCH_REDIS=0` leaves out the RedisPayoutStore row (it is left out, and said so, when
 *   `redis-server` is not installed);
 * - `BENCH_POSTGRES=0` leaves out the PostgresPayoutStore row (likewise when PostgreSQL's
 *   `initdb`/`pg_ctl` are not installed);
 * - `BENCH_STAGES=1` always runs the stage breakdown, `BENCH_STAGES=0` never; by default it runs
 *   for each adapter whose webhook target was missed;
 * - `BENCH_CPU_PROF=<dir>` writes a `--cpu-prof` profile of each webhook app child into `<dir>/<adapter>-<app>-<route>/`;
 * - `BENCH_RESULTS=<file>` keeps the results of any run there (and its report beside it, `<file>.md`).
 */
export const BENCH = {
  webhook: {
    adapters: ['express', 'fastify'] as const,
    /** Concurrent keep-alive connections from autocannon (no pipelining, like Cashy's one-at-a-time retries). */
    connections: 16,
    /** Seconds of load on each route before measuring (JIT, pools, the store's first growth). */
    warmupSeconds: 2,
    /**
     * Seconds per measured segment; each round measures every route once, alternating the order
     * (A B C, then C B A). Many short rounds beat a few long ones on a shared machine: a
     * neighbour's burst spoils one round's ratio, and the median drops it.
     */
    segmentSeconds: 1.5,
    rounds: 12,
    /** Signed notifications generated before the first segment (more are generated between segments if needed). */
    initialPool: 50_000,
  },
  /** The module's webhook on RedisPayoutStore (a redis-server the bench starts) against the signed route. */
  redis: {
    rounds: 6,
  },
  /** The module's webhook on PostgresPayoutStore (a throwaway cluster the bench starts) against the signed route. */
  postgres: {
    rounds: 6,
    /** The app's pg pool, shared by the store and the hand-written dedupe route. */
    poolMax: 10,
  },
  /** The module's route taken apart, stage by stage, when a webhook target is missed (see `BENCH_STAGES`). */
  stages: {
    rounds: 8,
  },
  /** With the stages: a CPU profile of one app while the signed route and the module's route take turns. */
  profile: {
    rounds: 4,
    segmentSeconds: 2,
  },
  client: {
    /** Calls in flight at once (closed loop: each worker awaits its call, then sends the next). */
    concurrency: 16,
    warmupSeconds: 1.5,
    segmentSeconds: 1.5,
    rounds: 8,
  },
  signing: {
    /** Operations per timed batch, and batches per operation (interleaved, median kept). */
    batch: 20_000,
    rounds: 15,
  },
  validation: {
    /** `validate()` calls per timed batch (each on a fresh DTO), and batches per DTO and sample (interleaved, median kept). */
    batch: 1_000,
    rounds: 15,
  },
  memory: {
    maxEntries: 20_000,
    /** Notifications handled when the heap is sampled (after a full GC). */
    checkpoints: [20_000, 50_000, 100_000],
    /** Notifications in flight at once while driving the store. */
    concurrency: 100,
  },
  targets: {
    /** The module's webhook requests/s over the hand-written signed route's, per adapter (at least). */
    webhookThroughputRatio: 0.95,
    /** The module's webhook app CPU per request over the hand-written signed route's, per adapter (at most). */
    webhookCpuRatio: 1.1,
    /** createPayout calls/s over the hand-written signed POST through HttpService (the baseline). */
    clientThroughputRatio: 0.95,
    /** createPayout CPU per call over the baseline's (at most). */
    clientCpuRatio: 1.1,
    /** Heap used after 100k notifications over heap used after 50k (store full for both). */
    memoryGrowthRatio: 1.05,
    /** Passes of the whole-DTO rule check per `validate()` of a `CreatePayoutDto` (at most). */
    validationRulePasses: 1,
    /** The webhook on RedisPayoutStore over the signed route with a `SET NX PX` dedupe, req/s (at least). */
    redisWebhookThroughputRatio: 0.85,
    /** Redis round trips per new notification on RedisPayoutStore (at most). */
    redisRoundTripsPerNotification: 2,
    /** The webhook on PostgresPayoutStore over the signed route with one `INSERT … ON CONFLICT DO NOTHING`, req/s (at least). */
    postgresWebhookThroughputRatio: 0.85,
    /** PostgreSQL statements per new notification on PostgresPayoutStore (at most). */
    postgresStatementsPerNotification: 2,
  },
} as const;

/** The module's webhook route (its default path) and the routes it is compared with, in the same app. */
export const WEBHOOK_PATH = '/payout/webhook';
/** The floor: the same app's JSON body parser and an answer, nothing else. */
export const BARE_PATH = '/bare';
/** The baseline: a hand-written signed webhook route of the same app (signature guard and one event, no payout logic). */
export const SIGNED_PATH = '/signed';
/**
 * The Redis baseline: what a user would write for several replicas: the signed route, plus one
 * `SET <orderNo> 1 NX PX <48 h>` so that a duplicate emits nothing.
 */
export const SIGNED_DEDUPE_PATH = '/signed-dedupe';
/**
 * The PostgreSQL baseline, what a user would write for several replicas on PostgreSQL: the signed
 * route, plus one `INSERT … ON CONFLICT DO NOTHING` into a dedupe table on the same server.
 */
export const SIGNED_INSERT_PATH = '/signed-insert';
/** The hand-written dedupe table of the PostgreSQL baseline (created by the bench before the apps start). */
export const DEDUPE_TABLE = 'bench_dedupe';
/** The event the hand-written routes emit (to the same listener class as payout.succeeded). */
export const SIGNED_EVENT = 'bench.signed';
/** Stage breakdown: the module's own `PayoutSignatureGuard`, then the same one event as the signed route. */
export const MODULE_GUARD_PATH = '/stage/guard';
/** Stage breakdown: `PayoutSignatureGuard`, then `PayoutService.handleNotification` (validation, state, typed event) in a plain host controller. */
export const SERVICE_PATH = '/stage/service';

export type AdapterName = (typeof BENCH.webhook.adapters)[number];
/** The bench's phases, in the order they run. */
export const PHASES = ['signing', 'validation', 'webhook', 'client', 'memory'] as const;
export type PhaseName = (typeof PHASES)[number];

/** The adapters `BENCH_ADAPTERS` selects (both by default). */
export function selectedAdapters(): AdapterName[] {
  const only = process.env.BENCH_ADAPTERS?.split(',').map((s) => s.trim());
  return BENCH.webhook.adapters.filter((adapter) => !only || only.includes(adapter));
}

/** The phases `BENCH_ONLY` selects (all of them by default). */
export function selectedPhases(): Set<PhaseName> {
  const only = process.env.BENCH_ONLY?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return new Set(only && only.length > 0 ? PHASES.filter((phase) => only.includes(phase)) : PHASES);
}

/** `BENCH_STAGES`: `always`, `never`, or `auto` (for an adapter whose webhook target was missed). */
export function stagesMode(): 'always' | 'never' | 'auto' {
  const value = process.env.BENCH_STAGES?.trim();
  if (value === '1' || value === 'always') return 'always';
  if (value === '0' || value === 'never') return 'never';
  return 'auto';
}

/** Whether the RedisPayoutStore row is wanted (`BENCH_REDIS=0` leaves it out). */
export function redisWanted(): boolean {
  return process.env.BENCH_REDIS?.trim() !== '0';
}

/** Whether the PostgresPayoutStore row is wanted (`BENCH_POSTGRES=0` leaves it out). */
export function postgresWanted(): boolean {
  return process.env.BENCH_POSTGRES?.trim() !== '0';
}

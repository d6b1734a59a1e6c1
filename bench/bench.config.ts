/**
 * Every knob of `npm run bench` in one place. Timings are only ever compared with a baseline
 * measured in the same run, so the machine's speed drops out; the knobs trade stability for time
 * (the whole run is meant to stay under about three minutes on 2 cores).
 *
 * `BENCH_ONLY=webhook,client,signing,memory` runs a subset (for iterating on one phase);
 * `BENCH_ADAPTERS=fastify` loads one adapter only; `BENCH_CPU_PROF=<dir>` writes a `--cpu-prof`
 * profile of each webhook app child into `<dir>/<adapter>/`.
 */
export const BENCH = {
  webhook: {
    adapters: ['express', 'fastify'] as const,
    /** Concurrent keep-alive connections from autocannon (no pipelining, like Cashy's one-at-a-time retries). */
    connections: 16,
    /** Seconds of load on each route before measuring (JIT, pools, the store's first growth). */
    warmupSeconds: 2,
    /**
     * Seconds per measured segment; each round measures both routes (alternating which goes first).
     * Many short rounds beat a few long ones on a shared machine: a neighbour's burst spoils one
     * round's ratio, and the median drops it.
     */
    segmentSeconds: 1.5,
    rounds: 10,
    /** Signed notifications generated before the first segment (more are generated between segments if needed). */
    initialPool: 50_000,
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
  memory: {
    maxEntries: 20_000,
    /** Notifications handled when the heap is sampled (after a full GC). */
    checkpoints: [20_000, 50_000, 100_000],
    /** Notifications in flight at once while driving the store. */
    concurrency: 100,
  },
  targets: {
    /** Webhook route requests/s over the bare route's, per adapter. */
    webhookThroughputRatio: 0.85,
    /** createPayout calls/s over the hand-written signed POST through HttpService (the baseline). */
    clientThroughputRatio: 0.95,
    /** createPayout CPU per call over the baseline's (at most). */
    clientCpuRatio: 1.1,
    /** Heap used after 100k notifications over heap used after 50k (store full for both). */
    memoryGrowthRatio: 1.05,
  },
} as const;

/** The module's webhook route (its default path) and the routes it is compared with, in the same app. */
export const WEBHOOK_PATH = '/payout/webhook';
export const BARE_PATH = '/bare';
/** A hand-written signed webhook route of the same app: signature guard and one event, no payout logic. */
export const SIGNED_PATH = '/signed';
/** The event the hand-written route emits (to the same listener class as payout.succeeded). */
export const SIGNED_EVENT = 'bench.signed';

export type AdapterName = (typeof BENCH.webhook.adapters)[number];
export type PhaseName = 'webhook' | 'client' | 'signing' | 'memory';

/** The adapters `BENCH_ADAPTERS` selects (both by default). */
export function selectedAdapters(): AdapterName[] {
  const only = process.env.BENCH_ADAPTERS?.split(',').map((s) => s.trim());
  return BENCH.webhook.adapters.filter((adapter) => !only || only.includes(adapter));
}

/** The phases `BENCH_ONLY` selects (all of them by default). */
export function selectedPhases(): Set<PhaseName> {
  const all: PhaseName[] = ['signing', 'webhook', 'client', 'memory'];
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  return new Set(only && only.length > 0 ? all.filter((phase) => only.includes(phase)) : all);
}

import { join } from 'node:path';
import { alternate } from './alternation.util';
import { runLoad, type LoadFigures } from './autocannon.load';
import { BARE_PATH, BENCH, SIGNED_PATH, WEBHOOK_PATH, type AdapterName } from './bench.config';
import { startChild, type BenchChild } from './ipc.util';
import { NotificationPool } from './notifications.fixture';
import { median, ratio, round } from './stats.util';
import type { HostAppStats } from './webhook-app.child';

/** One route's segments and their medians. Latencies in ms. */
export interface RouteFigures {
  rps: number;
  p50: number;
  p99: number;
  /** The app's CPU per request, in µs: steadier than req/s on a machine that steals time. */
  cpuUsPerRequest: number;
  segments: LoadFigures[];
}

/** The routes of the bench app: the baseline first, then the module's route, so the target's pair is always measured back to back. */
const ROUTES = ['bare', 'webhook', 'signed'] as const;
type Route = (typeof ROUTES)[number];
const PATHS: Record<Route, string> = { bare: BARE_PATH, signed: SIGNED_PATH, webhook: WEBHOOK_PATH };

/** Phase 1 on one adapter. */
export interface WebhookResult {
  adapter: AdapterName;
  bare: RouteFigures;
  /** The hand-written signed route: signature guard and one event, no payout logic. */
  signed: RouteFigures;
  webhook: RouteFigures;
  /**
   * webhook / bare. `rps` is the median of the per-round ratios (what the target compares);
   * p50, p99 and cpuUsPerRequest (lower is better) are ratios of the medians.
   */
  ratios: { rps: number; p50: number; p99: number; cpuUsPerRequest: number };
  roundRatios: number[];
  /** signed / bare, the same way: what a signed webhook with a listener costs without the module. */
  signedRatios: { rps: number; p50: number; p99: number; cpuUsPerRequest: number };
  signedRoundRatios: number[];
  /** webhook / signed: what the module's validation, dedupe and state add to a hand-written signed route. */
  overSigned: { rps: number; cpuUsPerRequest: number };
  /** Proof that every measured request took the full path (no dedupe shortcut, no missed event). */
  checks: { acknowledged: number; emitted: number; storeSize: number; generatedInline: number; maxGeneratorCores: number };
}

/**
 * Loads the module's webhook route, a bare JSON route and a hand-written signed route of the same
 * app (in a child process) with distinct signed notifications, in alternating segments (see
 * `alternate`). Throws when any request failed or an acknowledged request did not emit its event.
 */
export async function benchWebhook(adapter: AdapterName, log: (line: string) => void): Promise<WebhookResult> {
  const { connections, warmupSeconds, segmentSeconds, rounds, initialPool } = BENCH.webhook;
  const profileDir = process.env.BENCH_CPU_PROF;
  const execArgv = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, adapter)] : [];
  const app = await startChild<{ url: string }>('webhook-app.child', [adapter], execArgv);
  const pool = new NotificationPool();
  let fastest = 0;
  let acknowledged = 0;
  let emitted = 0;
  let maxGeneratorCores = 0;

  const segment = async (route: Route, seconds: number): Promise<LoadFigures> => {
    // Signing happens here, between segments, never while autocannon runs.
    pool.ensure(Math.max(initialPool, Math.ceil(fastest * seconds * 1.5)));
    const before = await app.ask<HostAppStats>('stats');
    const figures = await runLoad(app.ready.url, PATHS[route], pool, seconds, connections);
    await new Promise((resolve) => setTimeout(resolve, 50)); // let requests cut off at the deadline finish
    const after = await app.ask<HostAppStats>('stats');
    if (figures.non2xx > 0 || figures.errors > 0) {
      throw new Error(`${adapter} ${route}: ${figures.non2xx} non-2xx answers and ${figures.errors} errors in ${figures.ok + figures.non2xx} requests`);
    }
    if (route === 'webhook') {
      const delta = after.succeeded - before.succeeded;
      // Every acknowledged notification must have run the listener once: fewer means a dedupe shortcut.
      if (delta < figures.ok) throw new Error(`${adapter} webhook: ${figures.ok} acknowledged but only ${delta} events emitted`);
      acknowledged += figures.ok;
      emitted += delta;
    }
    if (route === 'signed' && after.signed - before.signed < figures.ok) {
      throw new Error(`${adapter} signed: ${figures.ok} acknowledged but only ${after.signed - before.signed} events emitted`);
    }
    figures.appCpuUsPerRequest = round((after.cpuUs - before.cpuUs) / figures.ok, 1);
    figures.appCores = round((after.cpuUs - before.cpuUs) / (figures.seconds * 1e6), 2);
    fastest = Math.max(fastest, figures.perSecond);
    maxGeneratorCores = Math.max(maxGeneratorCores, figures.generatorCores);
    return figures;
  };

  try {
    await probe(app, pool);
    const result = await alternate(
      rounds,
      ROUTES,
      (route, warmup) => segment(route, warmup ? warmupSeconds : segmentSeconds),
      (n, route, f) =>
        log(
          `  ${adapter} round ${n} ${route.padEnd(7)} ${f.perSecond.toFixed(0).padStart(6)} req/s  ` +
            `p99 ${f.p99.toFixed(2).padStart(6)} ms  app ${f.appCpuUsPerRequest} µs CPU/req on ${f.appCores} cores; generator ${f.generatorCores} cores`,
        ),
    );
    const stats = await app.ask<HostAppStats>('stats');
    const bare = summarize(result.segments.bare);
    const signed = summarize(result.segments.signed);
    const webhook = summarize(result.segments.webhook);
    const overSignedRounds = result.segments.webhook.map((f, i) => ratio(f.perSecond, result.segments.signed[i].perSecond));
    return {
      adapter,
      bare,
      signed,
      webhook,
      ratios: versus(webhook, bare, result.ratios.webhook),
      roundRatios: result.roundRatios.webhook,
      signedRatios: versus(signed, bare, result.ratios.signed),
      signedRoundRatios: result.roundRatios.signed,
      overSigned: { rps: round(median(overSignedRounds), 3), cpuUsPerRequest: ratio(webhook.cpuUsPerRequest, signed.cpuUsPerRequest) },
      checks: { acknowledged, emitted, storeSize: stats.storeSize, generatedInline: pool.generatedInline, maxGeneratorCores },
    };
  } finally {
    await app.stop();
  }
}

/** `route` against `baseline`: the given req/s ratio (median of rounds), ratios of the medians for the rest. */
function versus(route: RouteFigures, baseline: RouteFigures, rps: number): WebhookResult['ratios'] {
  return { rps, p50: ratio(route.p50, baseline.p50), p99: ratio(route.p99, baseline.p99), cpuUsPerRequest: ratio(route.cpuUsPerRequest, baseline.cpuUsPerRequest) };
}

/** Every route answers a signed notification with 200 `SUCCESS` before any load is applied. */
async function probe(app: BenchChild<{ url: string }>, pool: NotificationPool): Promise<void> {
  for (const path of Object.values(PATHS)) {
    pool.ensure(1);
    const { body, headers } = pool.take();
    const response = await fetch(app.ready.url + path, { method: 'POST', headers, body });
    const text = await response.text();
    if (response.status !== 200 || text !== 'SUCCESS') throw new Error(`probe ${path}: HTTP ${response.status} ${text.slice(0, 200)}`);
  }
}

function summarize(segments: LoadFigures[]): RouteFigures {
  const pick = (get: (s: LoadFigures) => number) => median(segments.map(get));
  return {
    rps: pick((s) => s.perSecond),
    p50: pick((s) => s.p50),
    p99: pick((s) => s.p99),
    cpuUsPerRequest: pick((s) => s.appCpuUsPerRequest ?? NaN),
    segments,
  };
}

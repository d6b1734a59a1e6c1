import { renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { BENCH } from './bench.config';
import type { ClientResult } from './client.bench';
import type { MemoryResult } from './memory.bench';
import type { SigningResult } from './signing.bench';
import { mib, ratio } from './stats.util';
import type { WebhookResult } from './webhook.bench';

/** Everything one run measured; absent phases were not selected. */
export interface BenchResults {
  webhook: WebhookResult[];
  client?: ClientResult;
  signing?: SigningResult;
  memory?: MemoryResult;
}

/** One target: met or not, with the figure and the bound it was held to. */
export interface TargetCheck {
  name: string;
  value: number;
  bound: string;
  pass: boolean;
}

/** The machine a run was taken on; `loadAtStart` is the 1-minute load average before the first phase. */
export function machineInfo(loadAtStart: number) {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    node: process.version,
    os: `${type()} ${release()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString(),
    loadAverage: { start: loadAtStart, end: loadavg()[0] },
  };
}

/** The targets, checked against what was measured (only for the phases that ran). */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const t = BENCH.targets;
  const checks: TargetCheck[] = results.webhook.map((w) => ({
    name: `webhook ${w.adapter}: webhook/bare req/s`,
    value: w.ratios.rps,
    bound: `>= ${t.webhookThroughputRatio}`,
    pass: w.ratios.rps >= t.webhookThroughputRatio,
  }));
  if (results.client) {
    const { callsPerSec, cpuUsPerCall } = results.client.ratios;
    checks.push({ name: 'client: createPayout/HttpService POST calls/s', value: callsPerSec, bound: `>= ${t.clientThroughputRatio}`, pass: callsPerSec >= t.clientThroughputRatio });
    checks.push({ name: 'client: createPayout/HttpService POST CPU per call', value: cpuUsPerCall, bound: `<= ${t.clientCpuRatio}`, pass: cpuUsPerCall <= t.clientCpuRatio });
  }
  if (results.memory) {
    const m = results.memory;
    checks.push({ name: 'memory: store.size at every sample', value: m.maxStoreSize, bound: `<= ${m.maxEntries}`, pass: m.maxStoreSize <= m.maxEntries });
    const previous = m.samples[m.samples.length - 2].notifications;
    const last = m.samples[m.samples.length - 1].notifications;
    checks.push({
      name: `memory: heap after ${last / 1000}k / after ${previous / 1000}k`,
      value: m.heapGrowthRatio,
      bound: `<= ${t.memoryGrowthRatio}`,
      pass: m.heapGrowthRatio <= t.memoryGrowthRatio,
    });
  }
  return checks;
}

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((row) => row.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row: string[]) => '| ' + row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(' | ') + ' |';
  return [line(cells[0]), '|' + widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|') + '|', ...cells.slice(1).map(line)].join('\n');
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
const spread = (ratios: number[]) => `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
const thousands = (value: number) => Math.round(value).toLocaleString('en-US');
const moreOrLess = (us: number) => `${fixed(Math.abs(us), 0)} µs ${us < 0 ? 'less' : 'more'}`;

type RowFigures = [rate: number, p50: number, p99: number, cpu: number];

/** A row compared with the baseline: its figures, its ratios (rate, p99, CPU) and the per-round rate ratios. */
interface CandidateRow {
  labels: string[];
  figures: RowFigures;
  ratios: [rate: number, p99: number, cpu: number];
  roundRatios: number[];
}

/**
 * A baseline row and candidate rows of a throughput table: rate, p50, p99 and CPU per operation,
 * then each candidate's ratios (rate, its per-round spread, p99, CPU) against the baseline's 1s.
 */
function comparisonRows(baseline: { labels: string[]; figures: RowFigures }, candidates: CandidateRow[]): string[][] {
  const figures = ([rate, p50, p99, cpu]: number[]) => [thousands(rate), fixed(p50, 2), fixed(p99, 2), fixed(cpu, 0)];
  return [
    [...baseline.labels, ...figures(baseline.figures), '1', '', '1', '1'],
    ...candidates.map((c) => [...c.labels, ...figures(c.figures), fixed(c.ratios[0], 3), spread(c.roundRatios), fixed(c.ratios[1], 3), fixed(c.ratios[2], 3)]),
  ];
}

const routeFigures = (r: { rps: number; p50: number; p99: number; cpuUsPerRequest: number }): RowFigures => [r.rps, r.p50, r.p99, r.cpuUsPerRequest];

/** The human report: Markdown tables (they read fine in a terminal and paste into the README). */
export function formatReport(results: BenchResults, machine: ReturnType<typeof machineInfo>, targets: TargetCheck[]): string {
  const load = `load average ${machine.loadAverage.start.toFixed(2)} → ${machine.loadAverage.end.toFixed(2)}`;
  const out: string[] = [`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}; ${machine.date}, ${load}`, ''];
  const w = BENCH.webhook;
  if (results.webhook.length > 0) {
    out.push(
      `Webhook route vs a bare JSON route of the same app, and a hand-written signed route (a guard checking MerchantId and ` +
        `MD5(raw body + key) with timingSafeEqual, then one event to the same listener: no validation, dedupe or state) beside it ` +
        `(child process; autocannon in the parent, ${w.connections} connections, every request a distinct signed notification). ` +
        `${w.rounds} rounds of ${w.segmentSeconds} s per route, alternating, after ${w.warmupSeconds} s warm-ups; figures are medians, ` +
        'req/s ratios are medians of the per-round ratios.',
      '',
      table(
        ['adapter', 'route', 'req/s', 'p50 ms', 'p99 ms', 'app CPU µs/req', 'ratio req/s', '(rounds)', 'ratio p99', 'ratio CPU/req'],
        results.webhook.flatMap((r) =>
          comparisonRows({ labels: [r.adapter, 'bare (JSON → SUCCESS)'], figures: routeFigures(r.bare) }, [
            {
              labels: [r.adapter, 'hand-written signed + event'],
              figures: routeFigures(r.signed),
              ratios: [r.signedRatios.rps, r.signedRatios.p99, r.signedRatios.cpuUsPerRequest],
              roundRatios: r.signedRoundRatios,
            },
            {
              labels: [r.adapter, 'payout/webhook'],
              figures: routeFigures(r.webhook),
              ratios: [r.ratios.rps, r.ratios.p99, r.ratios.cpuUsPerRequest],
              roundRatios: r.roundRatios,
            },
          ]),
        ),
      ),
      '',
      ...results.webhook.map(
        (r) =>
          `- ${r.adapter}: payout/webhook over the hand-written signed route: req/s ${fixed(r.overSigned.rps, 3)}, CPU/req ${fixed(r.overSigned.cpuUsPerRequest, 3)} ` +
          `(${moreOrLess(r.webhook.cpuUsPerRequest - r.signed.cpuUsPerRequest)} per request for validation, dedupe, state and the typed event).`,
      ),
      '',
    );
  }
  const c = results.client;
  if (c) {
    const pathFigures = (p: { callsPerSec: number; p50: number; p99: number; cpuUsPerCall: number }): RowFigures => [p.callsPerSec, p.p50, p.p99, p.cpuUsPerCall];
    out.push(
      `createPayout vs the baseline, a signed POST written by hand through HttpService (${c.setup.baseline}), and the floor, the same POST on ` +
        `node:http (${c.setup.concurrency} in flight; ${c.setup.sandbox}; ${c.setup.agent}). ` +
        `${BENCH.client.rounds} rounds of ${BENCH.client.segmentSeconds} s per path, alternating; medians, calls/s ratio = median of per-round ratios.`,
      '',
      table(
        ['path', 'calls/s', 'p50 ms', 'p99 ms', 'client CPU µs/call', 'ratio calls/s', '(rounds)', 'ratio p99', 'ratio CPU/call'],
        comparisonRows({ labels: ['HttpService signed POST (baseline)'], figures: pathFigures(c.httpService) }, [
          {
            labels: ['createPayout'],
            figures: pathFigures(c.createPayout),
            ratios: [c.ratios.callsPerSec, c.ratios.p99, c.ratios.cpuUsPerCall],
            roundRatios: c.roundRatios,
          },
          {
            labels: ['node:http signed POST (floor)'],
            figures: pathFigures(c.raw),
            ratios: [ratio(c.raw.callsPerSec, c.httpService.callsPerSec), ratio(c.raw.p99, c.httpService.p99), ratio(c.raw.cpuUsPerCall, c.httpService.cpuUsPerCall)],
            roundRatios: c.floorRoundRatios.httpService.map((r) => ratio(1, r)),
          },
        ]),
      ),
      '',
      `- Over the floor: createPayout calls/s ${fixed(c.overFloor.createPayout.callsPerSec, 3)}, CPU/call ${fixed(c.overFloor.createPayout.cpuUsPerCall, 3)} ` +
        `(${moreOrLess(c.createPayout.cpuUsPerCall - c.raw.cpuUsPerCall)} per call); the HttpService baseline calls/s ${fixed(c.overFloor.httpService.callsPerSec, 3)}, ` +
        `CPU/call ${fixed(c.overFloor.httpService.cpuUsPerCall, 3)} (${moreOrLess(c.httpService.cpuUsPerCall - c.raw.cpuUsPerCall)} per call for axios and HttpService).`,
      '',
    );
  }
  const s = results.signing;
  if (s) {
    out.push(
      `Signing over a ${s.bytes}-byte notification (in-process; ${BENCH.signing.rounds} interleaved rounds of ${thousands(BENCH.signing.batch)} operations; medians, ratio = median of per-round ratios)`,
      '',
      table(
        ['operation', 'ops/s', 'ratio vs md5'],
        [
          ["createHash('md5') of body + key", thousands(s.opsPerSec.md5), '1'],
          ['sign (signCashyPayload)', thousands(s.opsPerSec.sign), fixed(s.ratios.sign, 3)],
          ['verify (PayoutSignatureGuard)', thousands(s.opsPerSec.verify), fixed(s.ratios.verify, 3)],
        ],
      ),
      '',
    );
  }
  const m = results.memory;
  if (m) {
    out.push(
      `Memory: distinct notifications through ${m.driver}; MemoryPayoutStore maxEntries ${thousands(m.maxEntries)}; sampled after a full GC ` +
        `(≈${thousands(m.bytesPerEntry)} bytes of heap per stored order; notifications/s with the store full vs filling: ${fixed(m.fullVsFillingRatio, 3)})`,
      '',
      table(
        ['notifications', 'store.size', 'heapUsed MiB', 'rss MiB', 'notifications/s since previous'],
        m.samples.map((x) => [thousands(x.notifications), thousands(x.storeSize), fixed(mib(x.heapUsed), 1), fixed(mib(x.rss), 1), x.perSecond ? thousands(x.perSecond) : '']),
      ),
      '',
    );
  }
  out.push('Targets', '', ...targets.map((t) => `${t.pass ? 'PASS' : 'FAIL'} ${t.name} = ${t.value} (target ${t.bound})`));
  return out.join('\n');
}

/** Writes `path` through a temporary file, so a reader never sees half a JSON document. */
export function writeJsonAtomically(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(value, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

// The bench's results, its targets and its report. `npm run bench` writes bench/results.json and,
// from it, bench/README.md; `npm run bench:report` (this file run on its own) regenerates
// bench/README.md from bench/results.json without measuring anything, so the page cannot drift
// from the figures it shows.
// Usage: node dist-scripts/bench/results.report.js [results.json] [README.md]
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { BENCH } from './bench.config';
import type { ClientResult } from './client.bench';
import type { MemoryResult } from './memory.bench';
import type { SigningResult } from './signing.bench';
import type { ValidationResult } from './validation.bench';
import { mib, ratio } from './stats.util';
import type {
  Comparison,
  PostgresWebhookResult,
  RedisWebhookResult,
  RouteFigures,
  StagesResult,
  WebhookResult,
} from './webhook.bench';
import type { ProfileResult } from './webhook-profile.bench';

/** The shape of bench/results.json; bumped when it changes, so an old file is refused, not misread. */
export const RESULTS_SCHEMA = 2;

/** Everything one run measured; absent phases were not selected. */
export interface BenchResults {
  webhook: WebhookResult[];
  /** The module's webhook on RedisPayoutStore, per adapter (reported, no target). */
  webhookRedis?: RedisWebhookResult[];
  /** Why there is no Redis row, when there is none. */
  webhookRedisSkipped?: string;
  /** The module's webhook on PostgresPayoutStore, per adapter (reported, no target). */
  webhookPostgres?: PostgresWebhookResult[];
  /** Why there is no PostgreSQL row, when there is none. */
  webhookPostgresSkipped?: string;
  /** Where the module's time goes, per adapter (run when a webhook target is missed, or asked for). */
  webhookStages?: StagesResult[];
  /** With the stages: a CPU profile of the signed and the module's route, per adapter. */
  webhookProfiles?: ProfileResult[];
  client?: ClientResult;
  signing?: SigningResult;
  /** `validate()` of `CreatePayoutDto` against a DTO with one `@IsString()` per field. */
  validation?: ValidationResult;
  memory?: MemoryResult;
}

/** One target: met or not, with the figure and the bound it was held to. */
export interface TargetCheck {
  name: string;
  value: number;
  bound: string;
  pass: boolean;
}

/** A figure shown beside the targets but not held to one. */
export interface ReportedFigure {
  name: string;
  value: number;
  note: string;
}

export type MachineInfo = ReturnType<typeof machineInfo>;

/** bench/results.json. */
export interface ResultsDocument extends BenchResults {
  schema: number;
  machine: MachineInfo;
  phases: string[];
  config: typeof BENCH;
  targets: TargetCheck[];
  reported: ReportedFigure[];
  passed: boolean;
  seconds: number;
}

/** The machine a run was taken on; `loadAverage` is the 1-minute load average before the first phase and after the last. */
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

const ADAPTER_NAMES: Record<string, string> = {
  express: 'Express',
  fastify: 'Fastify',
};
const adapterName = (adapter: string) => ADAPTER_NAMES[adapter] ?? adapter;

/** The targets, checked against what was measured (only for the phases that ran). */
export function checkTargets(
  results: BenchResults,
  targets: typeof BENCH.targets = BENCH.targets,
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const w of results.webhook) {
    const { rps, cpuUsPerRequest } = w.overSigned.webhook;
    const on = adapterName(w.adapter);
    checks.push({
      name: `${on}: webhook / signed route, req/s`,
      value: rps,
      bound: `>= ${targets.webhookThroughputRatio}`,
      pass: rps >= targets.webhookThroughputRatio,
    });
    checks.push({
      name: `${on}: webhook / signed route, CPU per request`,
      value: cpuUsPerRequest,
      bound: `<= ${targets.webhookCpuRatio}`,
      pass: cpuUsPerRequest <= targets.webhookCpuRatio,
    });
  }
  for (const r of results.webhookRedis ?? []) {
    const on = adapterName(r.adapter);
    if (r.overDedupe) {
      const { rps } = r.overDedupe.webhook;
      checks.push({
        name: `${on}: webhook on RedisPayoutStore / signed route with SET NX dedupe, req/s`,
        value: rps,
        bound: `>= ${targets.redisWebhookThroughputRatio}`,
        pass: rps >= targets.redisWebhookThroughputRatio,
      });
    }
    const commands = r.routes.webhook.redisCommandsPerRequest;
    if (commands !== undefined)
      checks.push({
        name: `${on}: Redis round trips per new notification`,
        value: commands,
        bound: `<= ${targets.redisRoundTripsPerNotification}`,
        pass: commands <= targets.redisRoundTripsPerNotification,
      });
  }
  for (const r of results.webhookPostgres ?? []) {
    const on = adapterName(r.adapter);
    checks.push({
      name: `${on}: webhook on PostgresPayoutStore / signed route with one INSERT … ON CONFLICT DO NOTHING, req/s`,
      value: r.overInsert.webhook.rps,
      bound: `>= ${targets.postgresWebhookThroughputRatio}`,
      pass: r.overInsert.webhook.rps >= targets.postgresWebhookThroughputRatio,
    });
    const statements = r.routes.webhook.postgresStatementsPerRequest;
    if (statements !== undefined)
      checks.push({
        name: `${on}: PostgreSQL statements per new notification`,
        value: statements,
        bound: `<= ${targets.postgresStatementsPerNotification}`,
        pass: statements <= targets.postgresStatementsPerNotification,
      });
  }
  if (results.client) {
    const { callsPerSec, cpuUsPerCall } = results.client.ratios;
    checks.push({
      name: 'client: createPayout / HttpService POST, calls/s',
      value: callsPerSec,
      bound: `>= ${targets.clientThroughputRatio}`,
      pass: callsPerSec >= targets.clientThroughputRatio,
    });
    checks.push({
      name: 'client: createPayout / HttpService POST, CPU per call',
      value: cpuUsPerCall,
      bound: `<= ${targets.clientCpuRatio}`,
      pass: cpuUsPerCall <= targets.clientCpuRatio,
    });
  }
  if (results.validation) {
    const passes = Math.max(...results.validation.rows.map((row) => row.rulePasses));
    checks.push({
      name: 'validation: rule-check passes per CreatePayoutDto validate()',
      value: passes,
      bound: `<= ${targets.validationRulePasses}`,
      pass: passes <= targets.validationRulePasses,
    });
  }
  if (results.memory) {
    const m = results.memory;
    checks.push({
      name: 'memory: store.size at every sample',
      value: m.maxStoreSize,
      bound: `<= ${m.maxEntries}`,
      pass: m.maxStoreSize <= m.maxEntries,
    });
    const previous = m.samples[m.samples.length - 2].notifications;
    const last = m.samples[m.samples.length - 1].notifications;
    checks.push({
      name: `memory: heap after ${last / 1000}k / after ${previous / 1000}k notifications`,
      value: m.heapGrowthRatio,
      bound: `<= ${targets.memoryGrowthRatio}`,
      pass: m.heapGrowthRatio <= targets.memoryGrowthRatio,
    });
  }
  return checks;
}

/** Figures reported beside the targets without one: the Redis and PostgreSQL rows and the `validate()` ratios. */
export function reportedFigures(results: BenchResults): ReportedFigure[] {
  const validation = (results.validation?.rows ?? []).map((row) => ({
    name: `validation: CreatePayoutDto / @IsString() DTO, µs per validate(), ${row.sample}`,
    value: row.ratio,
    note: 'reported, no target',
  }));
  const redis = (results.webhookRedis ?? []).flatMap((r) => [
    {
      name: `${adapterName(r.adapter)}: webhook on RedisPayoutStore / signed route, req/s`,
      value: r.overSigned.webhook.rps,
      note: 'reported, no target',
    },
    {
      name: `${adapterName(r.adapter)}: webhook on RedisPayoutStore / signed route, CPU per request`,
      value: r.overSigned.webhook.cpuUsPerRequest,
      note: 'reported, no target (the app only; Redis CPU shown apart)',
    },
  ]);
  const postgres = (results.webhookPostgres ?? []).flatMap((r) => [
    {
      name: `${adapterName(r.adapter)}: webhook on PostgresPayoutStore / signed route with one INSERT, CPU per request`,
      value: r.overInsert.webhook.cpuUsPerRequest,
      note: 'reported, no target (the app only; PostgreSQL CPU shown apart)',
    },
  ]);
  return [...redis, ...postgres, ...validation];
}

/** The adapters whose webhook targets were not all met (the ones the stage breakdown is for). */
export function adaptersMissingTargets(
  results: BenchResults,
  targets: typeof BENCH.targets = BENCH.targets,
): string[] {
  return results.webhook
    .filter(
      (w) =>
        w.overSigned.webhook.rps < targets.webhookThroughputRatio ||
        w.overSigned.webhook.cpuUsPerRequest > targets.webhookCpuRatio,
    )
    .map((w) => w.adapter);
}

// ---------------------------------------------------------------------------------------------
// Markdown

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((row) => row.map(String))];
  const widths = head.map((_, i) => Math.max(3, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) =>
    '| ' +
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join(' | ') +
    ' |';
  return [
    line(cells[0]),
    '|' +
      widths
        .map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':'))
        .join('|') +
      '|',
    ...cells.slice(1).map(line),
  ].join('\n');
}

const fixed = (value: number, digits: number) =>
  Number.isFinite(value) ? value.toFixed(digits) : '–';
const spread = (ratios: number[]) =>
  ratios.length ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}` : '';
const thousands = (value: number) => Math.round(value).toLocaleString('en-US');
const signed = (value: number, digits = 0) =>
  `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`;
const moreOrLess = (us: number) => `${fixed(Math.abs(us), 0)} µs ${us < 0 ? 'less' : 'more'}`;
const met = (pass: boolean) => (pass ? '**met**' : '**missed**');

/** Route figures, then its comparison with a baseline (or the baseline's own 1s). */
function routeCells(figures: RouteFigures, versus?: Comparison): string[] {
  return [
    thousands(figures.rps),
    fixed(figures.p50, 2),
    fixed(figures.p99, 2),
    fixed(figures.cpuUsPerRequest, 1),
    fixed(figures.appCores, 2),
    versus ? fixed(versus.rps, 3) : '1',
    versus ? spread(versus.roundRps) : '',
    versus ? fixed(versus.cpuUsPerRequest, 3) : '1',
    versus ? spread(versus.roundCpu) : '',
    versus ? signed(versus.cpuUsDelta, 1) : '0',
  ];
}

const ROUTE_HEAD = [
  'req/s',
  'p50 ms',
  'p99 ms',
  'app CPU µs/req',
  'app cores',
  'req/s ratio',
  '(rounds)',
  'CPU/req ratio',
  '(rounds)',
  'CPU µs/req vs baseline',
];

function header(doc: ResultsDocument): string[] {
  const m = doc.machine;
  const date = m.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const verdict =
    doc.targets.length === 0
      ? 'no target applied to the phases run'
      : `${doc.targets.filter((t) => t.pass).length} of ${doc.targets.length} targets met`;
  return [
    `Run of ${date} on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}. ` +
      `1-minute load average ${fixed(m.loadAverage.start, 2)} before the first phase and ${fixed(m.loadAverage.end, 2)} after the last ` +
      '(the bench itself keeps about 1.5 cores busy while it runs; more than that was other work on the machine). ' +
      `The run took ${doc.seconds} s; phases: ${doc.phases.join(', ')}. ${verdict}; \`npm run bench\` exited ${doc.passed ? 0 : 1}.`,
    '',
  ];
}

function targetsSection(doc: ResultsDocument): string[] {
  const out = ['## Targets', ''];
  if (doc.targets.length > 0) {
    out.push(
      table(
        ['target', 'measured', 'bound', 'result'],
        doc.targets.map((t) => [
          t.name,
          Number.isInteger(t.value) ? thousands(t.value) : fixed(t.value, 3),
          t.bound.replace('>=', '≥').replace('<=', '≤'),
          met(t.pass),
        ]),
      ),
      '',
    );
  }
  if (doc.reported.length > 0) {
    out.push(
      'Reported beside them, with no target:',
      '',
      table(
        ['figure', 'measured', ''],
        doc.reported.map((r) => [r.name, fixed(r.value, 3), r.note]),
      ),
      '',
    );
  }
  out.push(
    "**Baseline and floor.** On each adapter the module's webhook is held to the hand-written signed route of the same app " +
      '(a guard checking the MD5 signature with `timingSafeEqual`, then one event: what a user would write instead of the ' +
      'module); the bare JSON route is the floor, shown for scale, with no target. `createPayout` is held to a signed POST ' +
      'written by hand through HttpService. req/s, calls/s and CPU ratios are medians of per-round ratios.',
    '',
  );
  const missed = adaptersMissingTargets(doc, doc.config.targets);
  const staged = new Set<string>((doc.webhookStages ?? []).map((s) => s.adapter));
  const unexplained = missed.filter((a) => !staged.has(a));
  if (unexplained.length > 0) {
    out.push(
      `A webhook target was missed on ${unexplained.map(adapterName).join(' and ')} but the stage breakdown was not run there (BENCH_STAGES=0).`,
      '',
    );
  } else if (missed.length > 0) {
    out.push(
      "Where a webhook target was missed, [Where the module's time goes](#where-the-modules-time-goes) shows what each of its stages costs.",
      '',
    );
  }
  if (
    doc.targets.some(
      (c) =>
        !c.pass &&
        /RedisPayoutStore|PostgresPayoutStore|Redis round|PostgreSQL statements/.test(c.name),
    )
  )
    out.push(
      'On a shared store a new outcome takes a read, a claim before its listeners run and the record after every one of them succeeded, where the one-write baselines dedupe before their listener (and lose the outcome when it fails): what each step keeps, and why it is not decided inside Redis or PostgreSQL, is in [Development](../docs/development.md#performance).',
      '',
    );
  return out;
}

function methodSection(doc: ResultsDocument): string[] {
  const w = doc.config.webhook;
  const out = [
    '## What each row measures',
    '',
    'Every figure is compared with a baseline measured in the same run, never with a fixed number, because the machines ' +
      'this runs on are shared and noisy.',
    '',
    '**Webhook.** One host Nest app (`logger: false`, `rawBody: true`) with every route mounted, run as one child process ' +
      "per route, each loaded on its own route only: a route's garbage, and the state it keeps (the module's store), are " +
      'collected and paid for in its own process. autocannon runs in the parent over loopback with ' +
      `${w.connections} keep-alive connections, no pipelining, and every request is a distinct, validly signed SUCCESS notification ` +
      '(a new `orderNo` each time, so nothing takes the duplicate shortcut; notifications are signed between segments, never ' +
      `during one). Routes are measured in alternating segments: a ${w.warmupSeconds} s warm-up of each, then rounds of ` +
      `${w.segmentSeconds} s per route in the order A B C, then C B A, …, with a pause before each, so that a drift of the machine ` +
      'hits every route alike. req/s and CPU ratios are medians of the per-round ratios; the other figures are medians over ' +
      "rounds. *App CPU µs/req* is the route's process's user + system CPU (all threads) from the start of a segment to the start " +
      "of that route's next segment (or a second after the last), divided by the requests answered in the segment: GC work a " +
      'segment leaves behind counts for its route, and on a machine that steals time this is steadier than req/s. *App cores* ' +
      "is the process's CPU during the segment over its wall time: well under 1, the app was waiting on the load generator or " +
      'the machine rather than on itself. The bench fails (exit 2) if any request gets a non-2xx answer or an acknowledged ' +
      'request did not reach the listener.',
    '',
    "- **signed (the baseline)**: what a user would write instead of the module: a guard that looks up the `MerchantId`'s key, " +
      "checks `Sign` against `createHash('md5')` of the raw body + key with `timingSafeEqual`, then one `emitAsync` to the same " +
      'listener class. No validation, dedupe or state.',
    "- **bare (the floor)**: the app's JSON body parser (raw body kept) and a `SUCCESS` answer, nothing else.",
    "- **payout/webhook**: the module's `POST /payout/webhook` with every check it has: `PayoutSignatureGuard` (Content-Type, " +
      'size, account, constant-time Sign), validation, dedupe and the state machine in the default `MemoryPayoutStore`, the claim, ' +
      'one `@OnPayoutSucceeded()` listener, the outcome recorded.',
  ];
  if (doc.webhookRedis?.length) {
    const r = doc.webhookRedis[0].redis;
    out.push(
      `- **payout/webhook on RedisPayoutStore**: the same route in an app whose store is \`RedisPayoutStore\` on a redis-server ` +
        `${r.version} the bench starts itself (${r.settings}); client: ${r.client}. Measured against the signed route of that app ` +
        `(${doc.config.redis.rounds} rounds). *Redis CPU µs/req* is the redis-server process's CPU per request (from /proc, 10 ms ticks), ` +
        "not included in the app's.",
    );
  }
  if (doc.webhookPostgres?.length) {
    const p = doc.webhookPostgres[0].postgres;
    out.push(
      `- **payout/webhook on PostgresPayoutStore**: the same route in an app whose store is \`PostgresPayoutStore\` on PostgreSQL ` +
        `${p.version}, ${p.settings}; client: ${p.client}. Measured against the signed route of that app and against it plus one ` +
        '`INSERT … ON CONFLICT DO NOTHING` into a dedupe table on the same server (what a user would write for several replicas) ' +
        `(${doc.config.postgres.rounds} rounds). *PostgreSQL CPU µs/req* is the postmaster's and every backend's CPU per request ` +
        "(from /proc, 10 ms ticks), not included in the app's; *statements/req* counts every query the app's pool clients ran " +
        '(each one round trip).',
    );
  }
  out.push('');
  return out;
}

function webhookSection(doc: ResultsDocument): string[] {
  if (doc.webhook.length === 0) return [];
  const out = [
    '## Webhook',
    '',
    `${doc.config.webhook.rounds} rounds per adapter. Ratios and CPU differences are against the signed route (the baseline).`,
    '',
    table(
      ['adapter', 'route', ...ROUTE_HEAD],
      doc.webhook.flatMap((r) => [
        [adapterName(r.adapter), 'signed (baseline)', ...routeCells(r.routes.signed)],
        [
          adapterName(r.adapter),
          'payout/webhook',
          ...routeCells(r.routes.webhook, r.overSigned.webhook),
        ],
        [adapterName(r.adapter), 'bare (floor)', ...routeCells(r.routes.bare, r.overSigned.bare)],
      ]),
    ),
    '',
  ];
  for (const r of doc.webhook) {
    out.push(
      `- ${adapterName(r.adapter)}: over the bare floor, the signed route runs at ${fixed(r.overBare.signed.rps, 3)} of its req/s ` +
        `(${moreOrLess(r.overBare.signed.cpuUsDelta)} CPU per request) and the module's route at ${fixed(r.overBare.webhook.rps, 3)} ` +
        `(${moreOrLess(r.overBare.webhook.cpuUsDelta)}). Over the signed route the module adds ${moreOrLess(r.overSigned.webhook.cpuUsDelta).replace(' more', '')} per request.`,
    );
  }
  out.push('');
  return out;
}

/** One row of a store section's table: a route, its figures and its comparison with the signed route. */
type StoreRoute = [label: string, figures: RouteFigures, versus?: Comparison];

/** What the Redis and PostgreSQL sections of the report differ in. */
interface StoreSection {
  title: string;
  skipped?: string;
  intro: string;
  serverHead: [cpu: string, calls: string];
  server: (figures: RouteFigures) => [cpu?: number, calls?: number];
  adapters: { adapter: string; routes: StoreRoute[]; notes: string[] }[];
}

/** A store-backed webhook against the signed route of the same app, and the store's own cost. */
function storeSection(section: StoreSection): string[] {
  if (!section.adapters.length)
    return section.skipped
      ? [`## ${section.title}`, '', `Not measured: ${section.skipped}.`, '']
      : [];
  const cells = ([, figures, versus]: StoreRoute) => {
    const all = routeCells(figures, versus);
    const server = section
      .server(figures)
      .map((v, i) => (v !== undefined ? fixed(v, i === 0 ? 1 : 2) : '–'));
    return [...all.slice(0, 4), ...server, ...all.slice(4)];
  };
  return [
    `## ${section.title}`,
    '',
    section.intro,
    '',
    table(
      [
        'adapter',
        'route',
        ...ROUTE_HEAD.slice(0, 4),
        ...section.serverHead,
        ...ROUTE_HEAD.slice(4),
      ],
      section.adapters.flatMap(({ adapter, routes }) =>
        routes.map((route) => [adapterName(adapter), route[0], ...cells(route)]),
      ),
    ),
    '',
    ...section.adapters.flatMap(({ notes }) => notes),
    '',
  ];
}

function redisSection(doc: ResultsDocument): string[] {
  return storeSection({
    title: 'Webhook on RedisPayoutStore',
    skipped: doc.webhookRedisSkipped,
    intro:
      `${doc.config.redis.rounds} rounds per adapter, against the signed route of the same (Redis-backed) app. *Redis commands/req* counts ` +
      "the commands the app sent per request (each a round trip on loopback; a Lua script is one), *redis CPU µs/req* the server's own CPU.",
    serverHead: ['redis CPU µs/req', 'redis commands/req'],
    server: (f) => [f.redisCpuUsPerRequest, f.redisCommandsPerRequest],
    adapters: (doc.webhookRedis ?? []).map((r) => {
      const name = adapterName(r.adapter);
      const memory = doc.webhook.find((w) => w.adapter === r.adapter);
      const notes = r.overDedupe
        ? [
            `- ${name}: against the signed route with its one \`SET NX PX\` (what a user would write for several replicas), the module's route runs at ${fixed(r.overDedupe.webhook.rps, 3)} of its req/s, with ${moreOrLess(r.overDedupe.webhook.cpuUsDelta)} app CPU per request.`,
          ]
        : [];
      notes.push(
        `- ${name}: on Redis the module's route runs at ${fixed(r.overSigned.webhook.rps, 3)} of the signed route's req/s, ` +
          `with ${moreOrLess(r.overSigned.webhook.cpuUsDelta)} app CPU per request` +
          (r.routes.webhook.redisCpuUsPerRequest !== undefined
            ? ` plus ${fixed(r.routes.webhook.redisCpuUsPerRequest, 1)} µs in redis-server`
            : '') +
          (memory
            ? `; on MemoryPayoutStore (above) it ran at ${fixed(memory.overSigned.webhook.rps, 3)} with ${moreOrLess(memory.overSigned.webhook.cpuUsDelta)}`
            : '') +
          '.',
      );
      const routes: StoreRoute[] = [['signed (baseline)', r.routes.signed]];
      if (r.routes.signedDedupe)
        routes.push(['signed + SET NX PX', r.routes.signedDedupe, r.overSigned.signedDedupe]);
      routes.push(['payout/webhook on Redis', r.routes.webhook, r.overSigned.webhook]);
      return { adapter: r.adapter, routes, notes };
    }),
  });
}

function postgresSection(doc: ResultsDocument): string[] {
  return storeSection({
    title: 'Webhook on PostgresPayoutStore',
    skipped: doc.webhookPostgresSkipped,
    intro:
      `${doc.config.postgres.rounds} rounds per adapter, against the signed route of the same (PostgreSQL-backed) app. *Statements/req* ` +
      "counts the statements the app's pool clients ran per request (each a round trip on loopback), *PostgreSQL CPU µs/req* " +
      "the server's own CPU (postmaster and backends).",
    serverHead: ['PostgreSQL CPU µs/req', 'statements/req'],
    server: (f) => [f.postgresCpuUsPerRequest, f.postgresStatementsPerRequest],
    adapters: (doc.webhookPostgres ?? []).map((r) => {
      const w = r.routes.webhook;
      const insert = r.routes.signedInsert;
      return {
        adapter: r.adapter,
        routes: [
          ['signed (baseline)', r.routes.signed],
          ['signed + INSERT … ON CONFLICT DO NOTHING', insert, r.overSigned.signedInsert],
          ['payout/webhook on PostgreSQL', w, r.overSigned.webhook],
        ],
        notes: [
          `- ${adapterName(r.adapter)}: against the signed route with its one \`INSERT … ON CONFLICT DO NOTHING\` (what a user would write for several replicas on PostgreSQL), the module's route runs at ${fixed(r.overInsert.webhook.rps, 3)} of its req/s, ` +
            `with ${moreOrLess(r.overInsert.webhook.cpuUsDelta)} app CPU per request (CPU ratio ${fixed(r.overInsert.webhook.cpuUsPerRequest, 3)})` +
            (w.postgresStatementsPerRequest !== undefined
              ? `, in ${fixed(w.postgresStatementsPerRequest, 2)} statements per new notification against ${fixed(insert.postgresStatementsPerRequest ?? NaN, 2)}`
              : '') +
            (w.postgresCpuUsPerRequest !== undefined
              ? `, and ${fixed(w.postgresCpuUsPerRequest, 1)} µs of PostgreSQL CPU per request against ${fixed(insert.postgresCpuUsPerRequest ?? NaN, 1)}`
              : '') +
            '.',
        ],
      };
    }),
  });
}

function stagesSection(doc: ResultsDocument): string[] {
  if (!doc.webhookStages?.length) return [];
  const out = [
    "## Where the module's time goes",
    '',
    "The module's route built up from the signed baseline one stage at a time, each stage loaded in its own process of one app " +
      `and measured in alternating rounds like the rest (${doc.config.stages.rounds} rounds). Every process keeps a ` +
      '`MemoryPayoutStore`, except that the "store work switched off" stage\'s does no order or attempt work (reads find ' +
      'nothing, writes succeed, nothing is kept). ' +
      '*µs over previous* is the median of the per-round differences in app CPU per request between a stage and the one ' +
      'before it: what that stage costs. Medians of differences need not add up exactly to the total.',
    '',
  ];
  for (const s of doc.webhookStages) {
    out.push(
      `### ${adapterName(s.adapter)}`,
      '',
      table(
        [
          'stage',
          'req/s',
          'app CPU µs/req',
          'µs over previous',
          '(rounds)',
          'µs over signed',
          'req/s vs signed',
          'CPU/req vs signed',
        ],
        s.stages.map((stage) => {
          const rounds = stage.overPrevious
            ? stage.figures.segments.map(
                (f, i) =>
                  f.appCpuUsPerRequest! -
                  s.stages[s.stages.indexOf(stage) - 1].figures.segments[i].appCpuUsPerRequest!,
              )
            : [];
          return [
            stage.route,
            thousands(stage.figures.rps),
            fixed(stage.figures.cpuUsPerRequest, 1),
            stage.overPrevious ? signed(stage.overPrevious.cpuUsDelta, 1) : '',
            rounds.length
              ? `${signed(Math.min(...rounds), 0)} to ${signed(Math.max(...rounds), 0)}`
              : '',
            signed(stage.overSigned.cpuUsDelta, 1),
            fixed(stage.overSigned.rps, 3),
            fixed(stage.overSigned.cpuUsPerRequest, 3),
          ];
        }),
      ),
      '',
    );
    const costs = s.stages
      .filter((stage) => stage.overPrevious)
      .sort((a, b) => b.overPrevious!.cpuUsDelta - a.overPrevious!.cpuUsDelta);
    const total = s.stages[s.stages.length - 1].overSigned.cpuUsDelta;
    out.push(
      `Of the ${fixed(total, 1)} µs per request the module's route costs over the signed one here, the largest stage is ` +
        `"${costs[0].route}" (${signed(costs[0].overPrevious!.cpuUsDelta, 1)} µs), then ` +
        costs
          .slice(1)
          .map((c) => `"${c.route}" (${signed(c.overPrevious!.cpuUsDelta, 1)} µs)`)
          .join(', ') +
        '.',
      '',
    );
  }
  out.push('What each stage adds to the one before it:', '');
  for (const stage of doc.webhookStages[0].stages) out.push(`- **${stage.route}**: ${stage.adds}.`);
  out.push('', ...profileSection(doc));
  return out;
}

/** The CPU profiles taken with the stages: self time per request by kind of code, and the module's own functions. */
function profileSection(doc: ResultsDocument): string[] {
  if (!doc.webhookProfiles?.length) return [];
  const p0 = doc.webhookProfiles[0];
  const out = [
    '### By function (CPU profile)',
    '',
    `Two processes of the app (MemoryPayoutStore) under \`--cpu-prof\` (a sample every ${p0.intervalUs} µs), one loaded on the signed ` +
      `route and one on the module's, taking turns (${doc.config.profile.rounds} rounds of ${doc.config.profile.segmentSeconds} s each); ` +
      "each process's samples are counted from its first measured segment to a second after its last. Figures are the main " +
      "thread's self time per request in µs (idle left out; GC helper threads are not in them, so they add up to less than the " +
      "app's CPU per request, which the profiler also raises).",
    '',
  ];
  for (const p of doc.webhookProfiles) {
    const name = adapterName(p.adapter);
    const total = (route: 'signed' | 'webhook') =>
      p.categories.reduce((sum, r) => sum + r[route], 0);
    out.push(
      `**${name}**: app CPU per request while profiled ${fixed(p.cpuUsPerRequest.signed, 1)} µs (signed) and ${fixed(p.cpuUsPerRequest.webhook, 1)} µs ` +
        `(payout/webhook); sampled self time ${fixed(total('signed'), 1)} and ${fixed(total('webhook'), 1)} µs.`,
      '',
      table(
        ['kind of code', 'signed µs/req', 'payout/webhook µs/req', 'difference'],
        p.categories
          .slice(0, 12)
          .map((r) => [
            r.name,
            fixed(r.signed, 2),
            fixed(r.webhook, 2),
            signed(r.webhook - r.signed, 2),
          ]),
      ),
      '',
      table(
        [
          "the module's functions (compiled, dist/)",
          'payout/webhook µs/req',
          "share of the module's own time",
        ],
        p.moduleFunctions.slice(0, 12).map((r) => {
          const own = p.moduleFunctions.reduce((sum, f) => sum + f.webhook, 0);
          return [r.name, fixed(r.webhook, 2), `${fixed((100 * r.webhook) / own, 0)} %`];
        }),
      ),
      '',
    );
  }
  return out;
}

function clientSection(doc: ResultsDocument): string[] {
  const c = doc.client;
  if (!c) return [];
  const cells = (p: { callsPerSec: number; p50: number; p99: number; cpuUsPerCall: number }) => [
    thousands(p.callsPerSec),
    fixed(p.p50, 2),
    fixed(p.p99, 2),
    fixed(p.cpuUsPerCall, 0),
  ];
  const floor = [
    ratio(c.raw.callsPerSec, c.httpService.callsPerSec),
    ratio(c.raw.p99, c.httpService.p99),
    ratio(c.raw.cpuUsPerCall, c.httpService.cpuUsPerCall),
  ];
  return [
    '## Client',
    '',
    `\`createPayout\` against the baseline, a signed POST written by hand through HttpService (${c.setup.baseline}), and the floor, ` +
      `the same POST on node:http (${c.setup.concurrency} in flight; ${c.setup.sandbox}; ${c.setup.agent}). ` +
      `${doc.config.client.rounds} rounds of ${doc.config.client.segmentSeconds} s per path, alternating; medians; the calls/s ratio is the median of per-round ratios.`,
    '',
    table(
      [
        'path',
        'calls/s',
        'p50 ms',
        'p99 ms',
        'client CPU µs/call',
        'calls/s ratio',
        '(rounds)',
        'p99 ratio',
        'CPU/call ratio',
      ],
      [
        ['HttpService signed POST (baseline)', ...cells(c.httpService), '1', '', '1', '1'],
        [
          'createPayout',
          ...cells(c.createPayout),
          fixed(c.ratios.callsPerSec, 3),
          spread(c.roundRatios),
          fixed(c.ratios.p99, 3),
          fixed(c.ratios.cpuUsPerCall, 3),
        ],
        [
          'node:http signed POST (floor)',
          ...cells(c.raw),
          fixed(floor[0], 3),
          spread(c.floorRoundRatios.httpService.map((r) => ratio(1, r))),
          fixed(floor[1], 3),
          fixed(floor[2], 3),
        ],
      ],
    ),
    '',
    `Over the floor: createPayout calls/s ${fixed(c.overFloor.createPayout.callsPerSec, 3)}, CPU/call ${fixed(c.overFloor.createPayout.cpuUsPerCall, 3)} ` +
      `(${moreOrLess(c.createPayout.cpuUsPerCall - c.raw.cpuUsPerCall)} per call); the HttpService baseline calls/s ${fixed(c.overFloor.httpService.callsPerSec, 3)}, ` +
      `CPU/call ${fixed(c.overFloor.httpService.cpuUsPerCall, 3)} (${moreOrLess(c.httpService.cpuUsPerCall - c.raw.cpuUsPerCall)} per call for axios and HttpService).`,
    '',
  ];
}

function signingSection(doc: ResultsDocument): string[] {
  const s = doc.signing;
  if (!s) return [];
  return [
    '## Signing',
    '',
    `Over a ${s.bytes}-byte notification, in-process; ${doc.config.signing.rounds} interleaved rounds of ${thousands(doc.config.signing.batch)} operations; medians, the ratio is the median of per-round ratios.`,
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
  ];
}

function validationSection(doc: ResultsDocument): string[] {
  const v = doc.validation;
  if (!v) return [];
  return [
    '## Validation',
    '',
    `class-validator's \`validate()\` of a fresh \`CreatePayoutDto\` against a DTO with the same ${v.fields} fields and one plain ` +
      "`@IsString()` each (`@IsOptional()` for the optional ones), fed the same body, in-process; the module's constraint comes " +
      "from a Nest app with `PayoutModule`, so amount limits are checked. For the invalid sample the baseline's body has the fields " +
      'the DTO rejects set to a number, so both report the same properties. ' +
      `${doc.config.validation.rounds} interleaved rounds of ${thousands(doc.config.validation.batch)} validations; medians, the ratio is the median of per-round ratios. ` +
      '_Rule passes_ counts the runs of the whole-DTO rule check during one `validate()`: the result is kept per DTO ' +
      "(and recomputed when one of its fields' values changed), so the check runs once, not once per field.",
    '',
    table(
      [
        'sample',
        'broken fields',
        'rule passes',
        'CreatePayoutDto µs',
        '@IsString() DTO µs',
        'ratio',
        '(rounds)',
      ],
      v.rows.map((row) => [
        row.sample,
        row.brokenFields.length,
        row.rulePasses,
        fixed(row.usPerValidate.dto, 1),
        fixed(row.usPerValidate.baseline, 1),
        fixed(row.ratio, 2),
        spread(row.roundRatios),
      ]),
    ),
    '',
  ];
}

function memorySection(doc: ResultsDocument): string[] {
  const m = doc.memory;
  if (!m) return [];
  return [
    '## Memory',
    '',
    `Distinct Peruvian SUCCESS notifications (a Mexican success is kept for its SPEI return watch, 24 h by default, whatever maxEntries: rule 10) through ${m.driver}; \`MemoryPayoutStore\` maxEntries ${thousands(m.maxEntries)}; heap sampled after a full GC ` +
      `(≈${thousands(m.bytesPerEntry)} bytes of heap per stored order; notifications/s with the store full vs filling: ${fixed(m.fullVsFillingRatio, 3)}).`,
    '',
    table(
      ['notifications', 'store.size', 'heapUsed MiB', 'rss MiB', 'notifications/s since previous'],
      m.samples.map((x) => [
        thousands(x.notifications),
        thousands(x.storeSize),
        fixed(mib(x.heapUsed), 1),
        fixed(mib(x.rss), 1),
        x.perSecond ? thousands(x.perSecond) : '',
      ]),
    ),
    '',
  ];
}

function checksSection(doc: ResultsDocument): string[] {
  const rows = [
    ...doc.webhook.map((r) => ['webhook', r.adapter, r.checks] as const),
    ...(doc.webhookRedis ?? []).map((r) => ['webhook on Redis', r.adapter, r.checks] as const),
    ...(doc.webhookPostgres ?? []).map(
      (r) => ['webhook on PostgreSQL', r.adapter, r.checks] as const,
    ),
    ...(doc.webhookStages ?? []).map((r) => ['stages', r.adapter, r.checks] as const),
  ];
  if (rows.length === 0) return [];
  return [
    '## Checks',
    '',
    'Every request answered 200 `SUCCESS`; every notification the module acknowledged reached the listener (the extra events are ' +
      "requests still in flight when a segment's clock stopped); no notification was signed during a segment.",
    '',
    table(
      [
        'app',
        'adapter',
        'acknowledged',
        'payout.succeeded events',
        'orders in the store',
        'signed inline',
        'load generator, busiest segment (cores)',
      ],
      rows.map(([app, adapter, c]) => [
        app,
        adapterName(adapter),
        thousands(c.acknowledged),
        thousands(c.emitted),
        c.storeSize !== undefined ? thousands(c.storeSize) : '–',
        c.generatedInline,
        fixed(c.maxGeneratorCores, 2),
      ]),
    ),
    '',
  ];
}

function rerunSection(): string[] {
  return [
    '## Running it',
    '',
    '```bash',
    'npm run bench          # builds, measures (several minutes), writes bench/results.json and this page; exit 1 if a target is missed',
    'npm run bench:report   # regenerates this page from bench/results.json, measuring nothing',
    '```',
    '',
    'Knobs (environment): `BENCH_ONLY=webhook,client,signing,validation,memory` runs some phases (`BENCH_ONLY=validation`, ' +
      'the `validate()` row alone, takes seconds); `BENCH_ADAPTERS=fastify` one adapter; ' +
      "`BENCH_REDIS=0` leaves out the Redis row, `BENCH_POSTGRES=0` the PostgreSQL row; `BENCH_STAGES=1` always takes the module's route apart (`0` never; by default " +
      'only for an adapter that missed a webhook target); `BENCH_CPU_PROF=<dir>` writes a `--cpu-prof` profile of each webhook ' +
      'app, which `node dist-scripts/bench/cpu-profile.summary.js <file>` summarizes by function and package. Only a full run ' +
      "replaces bench/results.json and this page (`BENCH_RESULTS=<file>` keeps a partial run's results there, its report beside it).",
    '',
  ];
}

/** The whole report, as Markdown: bench/README.md, and what `npm run bench` prints. */
export function renderReport(doc: ResultsDocument): string {
  return [
    '# Benchmarks',
    '',
    '<!-- Generated from bench/results.json by bench/results.report.ts (npm run bench, npm run bench:report). Do not edit by hand. -->',
    '',
    ...header(doc),
    ...targetsSection(doc),
    ...methodSection(doc),
    ...webhookSection(doc),
    ...redisSection(doc),
    ...postgresSection(doc),
    ...stagesSection(doc),
    ...clientSection(doc),
    ...signingSection(doc),
    ...validationSection(doc),
    ...memorySection(doc),
    ...checksSection(doc),
    ...rerunSection(),
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}

/** Writes `path` through a temporary file, so a reader never sees half a document. */
export function writeFileAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Writes `path` as JSON through a temporary file. */
export function writeJsonAtomically(path: string, value: unknown): void {
  writeFileAtomically(path, JSON.stringify(value, null, 2) + '\n');
}

/** Reads a results document, refusing one written by an older bench (its rows meant something else). */
export function readResults(path: string): ResultsDocument {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as ResultsDocument;
  if (doc.schema !== RESULTS_SCHEMA) {
    throw new Error(
      `${path} was written by another version of the bench (schema ${doc.schema ?? 1}, expected ${RESULTS_SCHEMA}): run npm run bench`,
    );
  }
  return doc;
}

/** The source tree's bench/ directory (this file runs from dist-scripts/bench/). */
export const BENCH_SOURCE_DIR = join(__dirname, '..', '..', 'bench');

if (require.main === module) {
  const [
    resultsPath = join(BENCH_SOURCE_DIR, 'results.json'),
    readmePath = join(BENCH_SOURCE_DIR, 'README.md'),
  ] = process.argv.slice(2);
  try {
    writeFileAtomically(readmePath, renderReport(readResults(resultsPath)) + '\n');
    process.stderr.write(`wrote ${readmePath} from ${resultsPath}\n`);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}

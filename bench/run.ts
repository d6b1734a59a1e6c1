// npm run bench: every figure is a ratio against a baseline measured in the same run, because the
// machines this runs on are shared and noisy. Prints the report, writes bench/results.json and
// bench/README.md (a full run only), and exits 0 when every target is met, 1 when one is not (so
// regressions show), 2 when the run itself failed.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  BENCH,
  PHASES,
  postgresWanted,
  redisWanted,
  selectedAdapters,
  selectedPhases,
  stagesMode,
} from './bench.config';
import { benchClient } from './client.bench';
import { benchMemory } from './memory.bench';
import { postgresServerVersion, startBenchPostgres } from './postgres-server.util';
import { redisServerVersion, startBenchRedis } from './redis-server.util';
import {
  adaptersMissingTargets,
  BENCH_SOURCE_DIR,
  checkTargets,
  machineInfo,
  renderReport,
  reportedFigures,
  RESULTS_SCHEMA,
  writeFileAtomically,
  writeJsonAtomically,
  type BenchResults,
  type ResultsDocument,
} from './results.report';
import { benchSigning } from './signing.bench';
import { benchValidation } from './validation.bench';
import {
  benchWebhook,
  benchWebhookPostgres,
  benchWebhookRedis,
  benchWebhookStages,
} from './webhook.bench';
import { profileWebhook } from './webhook-profile.bench';

/**
 * Where the results go: `BENCH_RESULTS` (its report beside it, as .md), else the source tree's
 * bench/results.json and bench/README.md — but only for a full run, so a `BENCH_ONLY` run while
 * iterating never replaces the committed figures with a partial set.
 */
function outputPaths(full: boolean): { results: string; readme: string } | undefined {
  const custom = process.env.BENCH_RESULTS;
  if (custom) return { results: custom, readme: custom.replace(/\.json$/, '') + '.md' };
  return full
    ? {
        results: join(BENCH_SOURCE_DIR, 'results.json'),
        readme: join(BENCH_SOURCE_DIR, 'README.md'),
      }
    : undefined;
}

async function benchWebhookPhase(
  results: BenchResults,
  log: (line: string) => void,
): Promise<void> {
  const adapters = selectedAdapters();
  for (const adapter of adapters) {
    log(`webhook on ${adapter} …`);
    results.webhook.push(await benchWebhook(adapter, log));
  }

  // Where the time goes, for an adapter that missed a target (or always, or never: BENCH_STAGES).
  const mode = stagesMode();
  const missing = adaptersMissingTargets(results);
  const staged =
    mode === 'always'
      ? adapters
      : mode === 'never'
        ? []
        : adapters.filter((a) => missing.includes(a));
  for (const adapter of staged) {
    log(`webhook stages on ${adapter} …`);
    (results.webhookStages ??= []).push(await benchWebhookStages(adapter, log));
    log(`webhook profile on ${adapter} …`);
    (results.webhookProfiles ??= []).push(await profileWebhook(adapter, log));
  }

  await benchRedisRows(results, adapters, log);
  await benchPostgresRows(results, adapters, log);
}

/** The module's webhook on RedisPayoutStore, per adapter, on a redis-server the bench starts. */
async function benchRedisRows(
  results: BenchResults,
  adapters: ReturnType<typeof selectedAdapters>,
  log: (line: string) => void,
): Promise<void> {
  if (!redisWanted()) {
    results.webhookRedisSkipped = 'left out with BENCH_REDIS=0';
    return;
  }
  if (!redisServerVersion()) {
    results.webhookRedisSkipped = 'redis-server is not installed on this machine';
    log('redis-server is not installed: the RedisPayoutStore row is left out');
    return;
  }
  const redis = await startBenchRedis();
  log(`redis-server ${redis.version} on ${redis.url} (pid ${redis.pid})`);
  try {
    for (const adapter of adapters) {
      log(`webhook on ${adapter} with RedisPayoutStore …`);
      (results.webhookRedis ??= []).push(await benchWebhookRedis(adapter, redis, log));
    }
  } finally {
    await redis.stop();
  }
}

/** The module's webhook on PostgresPayoutStore, per adapter, on a PostgreSQL cluster the bench starts. */
async function benchPostgresRows(
  results: BenchResults,
  adapters: ReturnType<typeof selectedAdapters>,
  log: (line: string) => void,
): Promise<void> {
  if (!postgresWanted()) {
    results.webhookPostgresSkipped = 'left out with BENCH_POSTGRES=0';
    return;
  }
  if (!postgresServerVersion()) {
    results.webhookPostgresSkipped =
      "PostgreSQL's initdb and pg_ctl are not installed on this machine";
    log('PostgreSQL is not installed: the PostgresPayoutStore row is left out');
    return;
  }
  const postgres = await startBenchPostgres();
  log(`PostgreSQL ${postgres.version} on ${postgres.url} (pid ${postgres.pid})`);
  try {
    for (const adapter of adapters) {
      log(`webhook on ${adapter} with PostgresPayoutStore …`);
      (results.webhookPostgres ??= []).push(await benchWebhookPostgres(adapter, postgres, log));
    }
  } finally {
    await postgres.stop();
  }
}

async function main(): Promise<number> {
  const phases = selectedPhases();
  if (phases.size === 0)
    throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} selects no phase (${PHASES.join(', ')})`);
  const log = (line: string) => process.stderr.write(line + '\n');
  const startedAt = Date.now();
  const loadAtStart = loadavg()[0];
  if (loadAtStart > 1)
    log(
      `note: the 1-minute load average is ${loadAtStart.toFixed(2)} before the bench starts; other work will add noise`,
    );
  const results: BenchResults = { webhook: [] };

  // Quietest first: the micro-benchmarks, before any child process exists.
  if (phases.has('signing')) {
    log('signing …');
    results.signing = await benchSigning();
  }
  if (phases.has('validation')) {
    log('validation …');
    results.validation = await benchValidation();
  }
  if (phases.has('webhook')) await benchWebhookPhase(results, log);
  if (phases.has('client')) {
    log('client …');
    results.client = await benchClient(log);
  }
  if (phases.has('memory')) {
    log('memory …');
    results.memory = await benchMemory();
  }

  const targets = checkTargets(results);
  const passed = targets.every((t) => t.pass);
  const doc: ResultsDocument = {
    schema: RESULTS_SCHEMA,
    machine: machineInfo(loadAtStart),
    phases: [...phases],
    config: BENCH,
    ...results,
    targets,
    reported: reportedFigures(results),
    passed,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  };
  const report = renderReport(doc);
  process.stdout.write(report + '\n');
  log(`bench took ${doc.seconds} s`);
  const full =
    phases.size === PHASES.length &&
    selectedAdapters().length === BENCH.webhook.adapters.length &&
    redisWanted() &&
    postgresWanted();
  const paths = outputPaths(full);
  if (!paths) {
    log('partial run: results not written (set BENCH_RESULTS=<file> to keep them)');
    return passed ? 0 : 1;
  }
  writeJsonAtomically(paths.results, doc);
  writeFileAtomically(paths.readme, report + '\n');
  log(`wrote ${paths.results} and ${paths.readme}`);
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      'bench run failed:',
      error instanceof Error ? (error.stack ?? error.message) : error,
    );
    process.exit(2);
  },
);

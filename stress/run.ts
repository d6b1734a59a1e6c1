/**
 * `npm run stress`: the stress suite the project keeps (issue 16). Real Nest hosts (Express and
 * Fastify, `rawBody: true`) with `MemoryPayoutStore`, `RedisPayoutStore` and `PostgresPayoutStore`
 * (on redis-servers and throwaway PostgreSQL clusters this run starts on free loopback ports) take
 * signed notifications and hostile traffic; every case is a
 * row with its figures and a verdict. Prints a markdown table, writes `stress/results.json` and
 * `docs/stress.md`, and exits 0 when every row passed, 1 when one failed (an outcome emitted twice or
 * never included), 2 when the run itself could not be carried out or hit its hard deadline.
 *
 *   npm run stress -- [--deadline-min 6] [--only load,duplicates,…]
 *
 * Everything it opens (apps, clients, agents, servers) is closed in `finally` blocks, and the
 * deadline and signals close whatever is still open before exiting.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { buildNotification, cashyHeaders } from 'nestjs-cashy-payout/testing';
import { startSampleApp, WEBHOOK_SERVER_TIMEOUTS } from '../sample/sample-app';
import { CapturingLogger } from './capturing.logger';
import { CaseChecks, type CaseRow } from './case.result';
import { duplicateStormCase } from './duplicate-storm.case';
import {
  ADAPTERS,
  type AdapterName,
  startStressHost,
  STRESS_DELIVERY,
  type StoreName,
} from './host.app';
import { hostileCase } from './hostile.case';
import { loadCase } from './load.case';
import { signedNotifications } from './notifications.fixture';
import { redisKillCase, redisKillCaseName } from './redis-kill.case';
import { redisOomCase } from './redis-oom.case';
import { postgresPoolCase, POSTGRES_POOL_CASE } from './postgres-pool.case';
import { postgresRestartCase, POSTGRES_RESTART_CASE } from './postgres-restart.case';
import { PostgresServer } from '../test/support/postgres-server';
import { RedisServer } from '../test/support/redis-server';
import {
  failureList,
  machineInfo,
  markdownTable,
  stressDoc,
  writeResults,
  type StressResults,
} from './results.report';
import { signatureTimingCase } from './signature-timing.case';
import { slowClientsCase } from './slow-clients.case';
import { skewedReplicasCase } from './skewed-replicas.case';
import { slowListenerCase } from './slow-listener.case';
import {
  type CaseId,
  parseStressOptions,
  STRESS_USAGE,
  StressUsageError,
  type StressOptions,
} from './stress.options';
import { closeThenExit, StressResources, withTimeout } from './stress.resources';

const ROOT = resolve(__dirname, '..', '..');
const RESULTS_FILE = resolve(ROOT, 'stress', 'results.json');
const DOC_FILE = resolve(ROOT, 'docs', 'stress.md');

/** The sizes of every case: bounded traffic, the whole run well inside the deadline on 2 cores. */
const SIZES = {
  load: { notifications: 5_000, connections: 64 },
  duplicates: { notifications: 300, copies: 20, parallel: 4 },
  slowListener: { notifications: 40, copies: 10, listenerMs: 1_500 },
  timing: {
    perGroup: 3_000,
    warmup: 300,
    permutations: 2_000,
    quantile: 99.9,
    floorUs: 1,
    seed: 16,
  },
  redisKill: {
    notifications: 3_000,
    connections: 64,
    ratePerSecond: 600,
    listenerMs: 50,
    downMs: 1_000,
  },
  redisOom: {
    notifications: 3_000,
    connections: 64,
    ratePerSecond: 600,
    listenerMs: 50,
    headroomBytes: 256 * 1024,
  },
  postgresRestart: {
    notifications: 3_000,
    connections: 64,
    ratePerSecond: 600,
    listenerMs: 50,
    downMs: 1_000,
    statementTimeoutMs: 2_000,
  },
  postgresPool: {
    notifications: 3_000,
    connections: 64,
    ratePerSecond: 600,
    listenerMs: 50,
    poolMax: 2,
    holdMs: 2_000,
    statementTimeoutMs: 500,
  },
  skewedReplicas: {
    notifications: 600,
    copies: 4,
    parallel: 16,
    listenerMs: 100,
    skewMs: 120_000,
  },
  slowClients: {
    headerTricklers: 50,
    bodyTricklers: 50,
    idleKeepAlive: 10,
    slackMs: WEBHOOK_SERVER_TIMEOUTS.checkIntervalMs + 1_000,
  },
  /** One case may take this long before it is failed and the run moves on. */
  caseBudgetMs: 120_000,
};

/** What each figure means and why each threshold is what it is; printed under the table in docs/stress.md. */
const NOTES = [
  `Every host answers on 127.0.0.1 with \`delivery: ${JSON.stringify(STRESS_DELIVERY)}\`, no reconciliation, and the server settings of the README's Deployment section (the sample's \`applyServerTimeouts\` on Express; \`requestTimeout\`, \`keepAliveTimeout\`, \`connectionTimeout\`, \`bodyLimit\` and \`http: { headersTimeout, connectionsCheckingInterval }\` on the \`FastifyAdapter\`). Load generator and host share the process and the 2 cores, so req/s are lower bounds.`,
  '"events: N once, 0 double, 0 lost": for every notification of the case, the counting listener (`@OnPayoutSucceeded`/`@OnPayoutFailed`) recorded exactly one event, the expected one. A `SUCCESS` answer is also checked, the moment it arrives, to come after its event was recorded.',
  'Redis kill: the redis-server of that case runs with an append-only file and `appendfsync always` (in /dev/shm when there is one), so every write acknowledged before the SIGKILL survives it. A Redis without persistence forgets every processed notification on restart, and a re-sent one then emits again, as the README says; that is a deployment requirement, not something this case could pass.',
  'Redis OOM: `maxmemory-policy noeviction`, and a third of the way through `maxmemory` is set to the memory in use plus the headroom shown; two thirds through it is lifted (`maxmemory 0`). "OOM refusals" is Redis\'s own `errorstat_OOM` count.',
  `PostgreSQL SIGKILL + restart: \`PostgresPayoutStore\` with a pool of its own (\`connection\`, \`statementTimeoutMs\` ${SIZES.postgresRestart.statementTimeoutMs}) on a throwaway cluster (\`test/support/postgres-server.ts\`: \`fsync=on\`, synchronous commit, data in /dev/shm when there is one). The postmaster and every backend are SIGKILLed at once (a crashed machine, no shutdown checkpoint) and the cluster is started again on the same directory, recovering from its WAL; the outage shown includes that recovery. "acknowledged outcomes in the table" is read with SQL before anything is re-sent: each order answered 200 must have a row whose \`status\` and \`processed\` hold its final status.`,
  `PostgreSQL pool exhausted: the host gives the store its own \`pg.Pool\` (\`max: ${SIZES.postgresPool.poolMax}\`, \`statement_timeout\` ${SIZES.postgresPool.statementTimeoutMs} ms, the store's \`statementTimeoutMs\` the same) and, a third of the way through, takes all ${SIZES.postgresPool.poolMax} connections itself for ${SIZES.postgresPool.holdMs / 1000} s (queued behind the store's statements like any borrower). "deliveries made wholly while held" are the requests that started after both connections were taken and were answered before they were released: each must be a 503 (no statement can run), never a 200 or a 500.`,
  `The load, duplicate-storm and slow-listener rows on \`postgres\` share one throwaway cluster, one table prefix per adapter, the store with a pool of its own and default options.`,
  `Two replicas, clocks 2 min apart: each replica is its own process (\`soak/replica.child.ts\`) on one redis-server, or on one PostgreSQL database (each replica its own \`PostgresPayoutStore\` pool, both running \`migrate()\` at start), with a listener that reports each event to the run and returns only once it is recorded. Replica B's wall clock and monotonic origin run ${SIZES.skewedReplicas.skewMs / 1000} s ahead of A's, more than \`claimTtlMs\`, and both wall clocks are stepped by as much back and forth during the storm; claims are judged on the store's clock (Redis's, or the database server's), so neither replica takes the other's live claim for an expired one.`,
  'Re-sending: after the Redis and PostgreSQL outage cases every notification is sent again, and any answered 503 again every 250 ms, as Cashy retries; the events are counted after that.',
  `Signature timing: wrong Signs whose first hex digit is right vs wrong, shuffled and sent one at a time on one keep-alive connection. PASS when |Δ| of the medians is at most the threshold: the 99.9th percentile of the same difference over 2,000 random relabellings of the measured times (what noise alone produces once in 1,000), and never below ${SIZES.timing.floorUs} µs (sub-microsecond differences are below what a round trip over a network can carry). An early exit costs nanoseconds per digit, far under this noise: the check catches a verification whose time depends grossly on the Sign (extra work after a matching digit), not a nanosecond leak: a 10 µs busy-wait injected after a matching first digit fails this row on both adapters, a 3 µs one does not; that the comparison never exits early is a property of its code (a constant-time comparison of the whole digest).`,
  `Slow clients: connections that trickle their headers or their body one byte a second, and idle keep-alive connections; each must be closed by the server within its timeout (headers ${WEBHOOK_SERVER_TIMEOUTS.headersTimeoutMs / 1000} s, request ${WEBHOOK_SERVER_TIMEOUTS.requestTimeoutMs / 1000} s, keep-alive ${WEBHOOK_SERVER_TIMEOUTS.keepAliveTimeoutMs / 1000} s) plus ${SIZES.slowClients.slackMs / 1000} s of slack (Node checks the first two every ${WEBHOOK_SERVER_TIMEOUTS.checkIntervalMs / 1000} s). The Express row runs against the sample app itself (\`startSampleApp\`).`,
  'Hostile bodies: the expected answer of each kind is the one the README and test/e2e/webhook-hostile.e2e.spec.ts define; "0 ERROR lines" counts lines at ERROR through the host\'s Nest logger (a custom `LoggerService`) and anything written to stderr.',
];

/** Where the run is, for the deadline's and signals' message. */
const status = { phase: 'starting' };
const runErrors: string[] = [];
let stopping = false;

/** Runs one case within the case budget; a case that throws or overruns is a FAIL row, and the run goes on. */
async function runCase(
  rows: CaseRow[],
  name: string,
  adapter: string,
  store: string,
  body: () => Promise<CaseRow>,
): Promise<void> {
  status.phase = `${name} (${adapter}, ${store})`;
  console.error(`stress: ${status.phase} …`);
  let row: CaseRow;
  try {
    row = await withTimeout(body(), SIZES.caseBudgetMs, name);
  } catch (error) {
    const checks = new CaseChecks(name, adapter, store);
    checks.broke(error);
    row = checks.row('did not complete');
  }
  rows.push(row);
  console.error(
    `stress: ${row.verdict} ${row.case} (${row.adapter}, ${row.store}) in ${row.seconds} s: ${row.figures}${row.failures.length ? `\n  ${row.failures.join('\n  ')}` : ''}`,
  );
}

/** The servers the shared-store hosts use, started once per run. */
interface SharedServers {
  redisUrl?: string;
  postgres?: PostgresServer;
}

/** The cases on one host (an adapter with a store). */
async function hostCases(
  rows: CaseRow[],
  options: StressOptions,
  logger: CapturingLogger,
  adapter: AdapterName,
  store: StoreName,
  shared: SharedServers,
): Promise<void> {
  const wanted: CaseId[] =
    store === 'memory'
      ? ['load', 'duplicates', 'slow-listener', 'hostile', 'timing']
      : ['load', 'duplicates', 'slow-listener'];
  if (!wanted.some((id) => options.only.has(id))) return;
  const scope = new StressResources(`${adapter} + ${store}`);
  try {
    status.phase = `starting the ${adapter} host (${store})`;
    const host = await startStressHost({
      adapter,
      store,
      redisUrl: shared.redisUrl,
      logger,
      keyPrefix: `cashy-stress-${adapter}:`,
      ...(store === 'postgres'
        ? { postgres: { connection: shared.postgres!.config(), tablePrefix: `stress_${adapter}_` } }
        : {}),
    });
    scope.add(`${adapter} host (${store})`, () => host.close());
    if (options.only.has('load'))
      await runCase(rows, 'load', adapter, store, () => loadCase(host, SIZES.load));
    if (options.only.has('duplicates'))
      await runCase(rows, 'duplicate storm', adapter, store, () =>
        duplicateStormCase(host, SIZES.duplicates),
      );
    if (options.only.has('slow-listener'))
      await runCase(rows, 'slow listener', adapter, store, () =>
        slowListenerCase(host, SIZES.slowListener),
      );
    if (store === 'memory' && options.only.has('hostile'))
      await runCase(rows, 'hostile bodies', adapter, store, () => hostileCase(host, logger));
    if (store === 'memory' && options.only.has('timing'))
      await runCase(rows, 'signature timing', adapter, store, () =>
        signatureTimingCase(host, SIZES.timing),
      );
  } catch (error) {
    // The host did not start: one FAIL row says so.
    const checks = new CaseChecks('host start', adapter, store);
    checks.broke(error);
    rows.push(checks.row('did not start'));
  } finally {
    await scope.closeAll();
  }
}

/** Slow clients against the sample app itself (Express) and a Fastify host with the documented adapter options. */
async function slowClientCases(rows: CaseRow[], logger: CapturingLogger): Promise<void> {
  await runCase(rows, 'slow clients (1 byte/s)', 'express', 'memory (the sample app)', async () => {
    const scope = new StressResources('sample app');
    try {
      const sample = await startSampleApp({ env: {}, port: 0, logger });
      scope.add('sample app', () => sample.close());
      const account = sample.sandbox!.account('PEN');
      const body = buildNotification({
        orderStatus: 'SUCCESS',
        amount: '150.50',
        fee: '1.50',
        mchOrderNo: `ST-SC-${Date.now()}`,
        merchantId: account.merchantId,
        orderNo: `PAYOUTSC${Date.now()}`,
        completionTime: '2026-11-22 10:00:00',
        resultDesc: 'SUCCESS',
      });
      return await slowClientsCase(
        'express',
        'memory (the sample app)',
        new URL(`${sample.url}/payout/webhook`),
        {
          headers: cashyHeaders(body, account.merchantId, account.apiKey),
          body,
        },
        SIZES.slowClients,
      );
    } finally {
      await scope.closeAll();
    }
  });
  await runCase(rows, 'slow clients (1 byte/s)', 'fastify', 'memory', async () => {
    const scope = new StressResources('fastify host (slow clients)');
    try {
      const host = await startStressHost({
        adapter: 'fastify',
        store: 'memory',
        logger,
      });
      scope.add('fastify host', () => host.close());
      const [probe] = signedNotifications('SCF', 1);
      return await slowClientsCase('fastify', 'memory', host.webhookUrl, probe, SIZES.slowClients);
    } finally {
      await scope.closeAll();
    }
  });
}

async function run(options: StressOptions): Promise<StressResults> {
  const startedAt = new Date();
  const machine = machineInfo();
  const logger = new CapturingLogger();
  const rows: CaseRow[] = [];
  const root = new StressResources('run');
  try {
    const needsSharedServers = ['load', 'duplicates', 'slow-listener'].some((id) =>
      options.only.has(id as CaseId),
    );
    const shared: SharedServers = {};
    if (needsSharedServers) {
      status.phase = 'starting redis-server';
      const redis = await RedisServer.start();
      root.add(`redis-server :${redis.port}`, () => redis.dispose());
      shared.redisUrl = redis.url;
      status.phase = 'starting PostgreSQL';
      const postgres = await PostgresServer.start();
      root.add(`postgres :${postgres.port}`, () => postgres.dispose());
      shared.postgres = postgres;
    }
    for (const adapter of ADAPTERS) {
      for (const store of ['memory', 'redis', 'postgres'] as const)
        await hostCases(rows, options, logger, adapter, store, shared);
    }
    for (const adapter of ADAPTERS) {
      if (options.only.has('redis-kill'))
        for (const persistence of ['aof', 'none'] as const) {
          const sizes = { ...SIZES.redisKill, persistence };
          await runCase(
            rows,
            redisKillCaseName(sizes),
            adapter,
            persistence === 'aof' ? 'redis (AOF always)' : 'redis (no persistence)',
            () => redisKillCase(adapter, logger, sizes),
          );
        }
      if (options.only.has('redis-oom'))
        await runCase(rows, 'Redis OOM (noeviction) mid-load', adapter, 'redis', () =>
          redisOomCase(adapter, logger, SIZES.redisOom),
        );
      if (options.only.has('postgres-restart'))
        await runCase(rows, POSTGRES_RESTART_CASE, adapter, 'postgres', () =>
          postgresRestartCase(adapter, logger, SIZES.postgresRestart),
        );
      if (options.only.has('postgres-pool'))
        await runCase(
          rows,
          POSTGRES_POOL_CASE,
          adapter,
          `postgres (pool max ${SIZES.postgresPool.poolMax})`,
          () => postgresPoolCase(adapter, logger, SIZES.postgresPool),
        );
    }
    if (options.only.has('skewed-replicas'))
      for (const store of ['redis', 'postgres'] as const)
        await runCase(rows, 'two replicas, clocks 2 min apart', 'express + fastify', store, () =>
          skewedReplicasCase(SIZES.skewedReplicas, store),
        );
    if (options.only.has('slow-clients')) await slowClientCases(rows, logger);
  } catch (error) {
    runErrors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    status.phase = 'closing';
    await root.closeAll();
  }
  return {
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
    machine,
    passed:
      runErrors.length === 0 && rows.length > 0 && rows.every((row) => row.verdict === 'PASS'),
    runErrors,
    rows,
  };
}

/** Resolves with the exit code: 0 all passed, 1 a row failed, 2 the run could not be carried out. */
async function main(): Promise<number> {
  let options: StressOptions;
  try {
    options = parseStressOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof StressUsageError)) throw error;
    console.error(`stress: ${error.message}\n${STRESS_USAGE}`);
    return 2;
  }
  // Ends the run from outside (deadline, signal): close everything that is open, say why, exit.
  const stopAndExit = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    console.error(`stress: FAIL: ${why} during "${status.phase}"; closing everything that is open`);
    closeThenExit('stress', () => StressResources.closeAllScopes(), code);
  };
  const deadline = setTimeout(
    () => stopAndExit(`hard deadline of ${options.deadlineMinutes} min reached`, 2),
    options.deadlineMinutes * 60_000,
  );
  deadline.unref();
  const onSignal = (signal: NodeJS.Signals) => stopAndExit(`${signal} received`, 130);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const results = await run(options);
    if (stopping) return 2;
    console.log(`\n${markdownTable(results.rows)}\n`);
    const failures = failureList(results.rows);
    if (failures) console.log(`Failures:\n${failures}\n`);
    if (results.runErrors.length)
      console.log(`The run itself failed:\n${results.runErrors.join('\n')}\n`);
    writeResults(RESULTS_FILE, results);
    if (options.writeDoc) {
      mkdirSync(dirname(DOC_FILE), { recursive: true });
      writeFileSync(DOC_FILE, stressDoc(results, NOTES));
    }
    console.log(
      `${results.durationS} s; wrote ${RESULTS_FILE}${options.writeDoc ? ` and ${DOC_FILE}` : ' (a partial run leaves docs/stress.md alone)'}`,
    );
    console.log(results.passed ? 'stress: PASS' : 'stress: FAIL');
    if (results.runErrors.length > 0) return 2;
    return results.passed ? 0 : 1;
  } finally {
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.on('unhandledRejection', (reason) => {
  runErrors.push(
    `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
  );
});
// Until the run says otherwise, a process that ends is a failed run.
process.exitCode = 2;

void main()
  .catch((error: unknown) => {
    console.error(
      `stress: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return 2;
  })
  .then((code) => {
    if (stopping) return;
    process.exitCode = code;
    // Everything is closed: the process should end by itself; if a handle leaked, say which and go.
    setTimeout(() => {
      console.error(
        `stress: still running 10 s after everything was closed (open: ${process.getActiveResourcesInfo().join(', ') || 'nothing listed'}); exiting`,
      );
      process.exit(code === 0 ? 1 : code);
    }, 10_000).unref();
  });

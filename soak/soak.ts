/**
 * `npm run soak`: thousands of payouts through a faulty sandbox, with duplicate and out-of-order
 * webhooks, then reconciliation, driven the way a real host drives `PayoutService` (see
 * `soak-payer.ts`). Prints what a payments team asks of such a run and exits non-zero, naming the
 * invariant and the mchOrderNo, if any payout was created twice or not at all, any outcome stayed
 * unknown, any outcome was emitted other than exactly once (a Mexican return adds its one
 * `payout.failed`), any `payout.anomaly` was emitted, or a create was sent again too early.
 *
 * Modes (`--mode`):
 * - `default`: the sandbox dedupes mchOrderNo, as Cashy does, and injects the six gateway failures;
 * - `no-dedupe` (issue 12): the sandbox does not dedupe mchOrderNo and may commit a create
 *   `lateCommitMs` after the client gave up (`late-commit`), or notify before it answers
 *   (`notify-before-answer`), besides the six failures. Only the module's re-send window
 *   (`resendWindowMs` > `lateCommitMs` > `timeoutMs`) keeps a payout from being paid twice.
 *
 *   npm run soak -- [--mode default|no-dedupe] [--store memory|redis|postgres] [--redis redis://127.0.0.1:6379]
 *                   [--payouts N] [--fault-rate 0.2] [--seed 42] [--concurrency 25] [--deadline-min 8] …
 *
 * `--store redis` without `--redis` starts a throwaway `redis-server`, `--store postgres` a throwaway
 * PostgreSQL cluster. Everything the run opens (the Nest app, the sandbox, the Redis client, the
 * store's pool, the servers) is closed whatever happens, and a hard
 * deadline ends a run that takes too long (`--help` lists every option).
 */
import 'reflect-metadata';
import { setMaxListeners } from 'node:events';
import type { PayoutStore } from 'nestjs-cashy-payout';
import {
  buildNotification,
  CashySandbox,
  type CashySandboxOptions,
  freePort,
  mulberry32,
  postSignedNotification,
  samplePayout,
  SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
  type SandboxFaultMode,
  type SandboxPayoutInput,
  type SandboxRequestRecord,
} from 'nestjs-cashy-payout/testing';
import { startSoakHost } from './soak-host';
import { parseSoakOptions, SOAK_USAGE, SoakUsageError, type SoakOptions } from './soak-options';
import {
  HostCounters,
  mapLimit,
  type PayerContext,
  payUntilKnown,
  type PayResult,
  reconcileUntilFinal,
  type SoakFailure,
} from './soak-payer';
import { PostgresServer } from '../test/support/postgres-server';
import { RedisServer } from '../test/support/redis-server';
import { closeThenExit, SoakResources, withTimeout } from './soak-resources';
import { recordSoakRun } from './soak-report';
import { runLostWebhooks } from './soak-lost-webhooks';
import { runSkewedReplicas } from './soak-skewed-replicas';
import { ClientRequestLog } from './client-requests';

const FINAL = new Set(['SUCCESS', 'FAIL', 'CANCEL']);
const PAY_OUT = '/api/payOut';
const RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 };
/** Faults after which the gateway definitely did nothing, so the create may go again at once. */
const DEFINITE_FAULTS = new Set<string>(['system-busy']);

/** What the deadline and signal handlers say about where the run was. */
const status = { phase: 'starting', settled: 0, total: 0 };
const failures: SoakFailure[] = [];
/** The run was started (options were valid); it was stopped from outside; it finished. */
let started = false;
let stopping = false;
let finished = false;

/** Thrown at a phase boundary once the run has been stopped from outside: no report is made. */
class SoakStopped extends Error {}

function checkpoint(signal: AbortSignal): void {
  if (signal.aborted) throw new SoakStopped('stopped');
}

function fail(invariant: string, mchOrderNo: string, detail: string): void {
  failures.push({ invariant, mchOrderNo, detail });
}

function mchOrderNoOf(request: SandboxRequestRecord): string | undefined {
  const json = request.json as { mchOrderNo?: unknown } | undefined;
  return typeof json?.mchOrderNo === 'string' ? json.mchOrderNo : undefined;
}

function faultOf(request: SandboxRequestRecord): string | undefined {
  return 'fault' in request.response ? request.response.fault : undefined;
}

function histogram(values: Iterable<number>): string {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return (
    [...counts]
      .sort(([a], [b]) => a - b)
      .map(([value, count]) => `${value}:${count}`)
      .join(' ') || '-'
  );
}

function tally(values: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return (
    [...counts]
      .sort(([, a], [, b]) => b - a)
      .map(([value, count]) => `${value}:${count}`)
      .join(' ') || '-'
  );
}

/** Deletes the run's keys from a Redis the soak did not start (one it started is simply stopped). */
async function deleteKeys(client: import('ioredis').Redis, keyPrefix: string): Promise<void> {
  const stream = client.scanStream({ match: `${keyPrefix}*`, count: 500 });
  for await (const keys of stream as AsyncIterable<string[]>)
    if (keys.length > 0) await client.unlink(...keys);
}

async function openStore(
  options: SoakOptions,
  resources: SoakResources,
): Promise<{ store?: PayoutStore; label: string }> {
  if (options.store === 'memory') return { label: 'MemoryPayoutStore' };
  if (options.store === 'postgres') return openPostgresStore(resources);
  let url = options.redisUrl;
  if (!url) {
    status.phase = 'starting redis-server';
    const server = await RedisServer.start();
    resources.add(`redis-server (pid ${server.pid ?? '?'})`, () => server.dispose());
    url = server.url;
  }
  // Loaded only when asked for, as a host without Redis would.
  const { RedisPayoutStore } = await import('nestjs-cashy-payout/redis');
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    // Give up reconnecting after about 10 s: a soak has no use for a Redis that is gone.
    retryStrategy: (times) => (times > 40 ? null : Math.min(times * 50, 250)),
  });
  let closingClient = false;
  const errorsSeen = new Set<string>();
  client.on('error', (error: Error) => {
    // Store calls that fail surface as PayoutStoreError in the figures; say once what the client saw.
    if (closingClient || errorsSeen.has(error.message)) return;
    errorsSeen.add(error.message);
    console.error(`soak: Redis client: ${error.message}`);
  });
  resources.add('Redis client', async () => {
    closingClient = true;
    await withTimeout(client.quit(), 3_000, 'QUIT').catch(() => client.disconnect());
  });
  await withTimeout(client.connect(), 10_000, `connecting to ${url}`);
  const keyPrefix = `soak-${options.mode}-${options.seed}-${Date.now()}:`;
  if (options.redisUrl)
    resources.add(`keys ${keyPrefix}* on ${url}`, () => deleteKeys(client, keyPrefix));
  return {
    store: new RedisPayoutStore({ client, keyPrefix }),
    label: `RedisPayoutStore (${options.redisUrl ? url : 'own redis-server'})`,
  };
}

/** A `PostgresPayoutStore` on a throwaway cluster, with a pool of its own, migrated. */
async function openPostgresStore(
  resources: SoakResources,
): Promise<{ store: PayoutStore; label: string }> {
  status.phase = 'starting PostgreSQL';
  const server = await PostgresServer.start();
  resources.add(`PostgreSQL :${server.port} (pid ${server.pid ?? '?'})`, () => server.dispose());
  // Loaded only when asked for, as a host without PostgreSQL would.
  const { PostgresPayoutStore } = await import('nestjs-cashy-payout/postgres');
  const store = new PostgresPayoutStore({ connection: server.config() });
  resources.add('PostgresPayoutStore', () => store.close());
  await withTimeout(store.migrate(), 15_000, 'migrating the PostgreSQL store');
  return { store, label: 'PostgresPayoutStore (own PostgreSQL cluster)' };
}

function sandboxOptions(options: SoakOptions): CashySandboxOptions {
  // One retry "minute" lasts 12 ms, so Cashy's whole 17-hour schedule fits in about 12 s.
  const base: CashySandboxOptions = {
    processingMs: 5,
    payingMs: 15,
    timeScale: 0.0002,
  };
  if (options.mode === 'default')
    return { ...base, faults: { rate: options.faultRate, seed: options.seed } };
  // Modes are drawn uniformly from the list: 'late-commit', the fault this mode is about, is listed
  // three times, so it strikes about 3 in 10 faulted requests rather than 1 in 8.
  const modes: SandboxFaultMode[] = [
    ...SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
    'late-commit',
    'late-commit',
    'late-commit',
    'notify-before-answer',
  ];
  return {
    ...base,
    dedupeMchOrderNo: false,
    lateCommitMs: options.lateCommitMs,
    faults: { rate: options.faultRate, seed: options.seed, modes },
  };
}

async function run(
  options: SoakOptions,
  resources: SoakResources,
  signal: AbortSignal,
): Promise<boolean> {
  const { mode, faultRate, seed, concurrency, timeoutMs, resendWindowMs, lateCommitMs } = options;
  const total = options.payouts;
  status.total = total;
  const random = mulberry32(seed);
  const startedAt = Date.now();

  if (mode === 'no-dedupe' && !(timeoutMs < lateCommitMs && lateCommitMs < resendWindowMs)) {
    console.warn(
      `soak: warning: timeoutMs ${timeoutMs} < lateCommitMs ${lateCommitMs} < resendWindowMs ${resendWindowMs} does not hold; ` +
        'a late commit may land after a re-send, and this run is expected to find payouts held twice',
    );
  }

  let peakRss = 0;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    peakRss = Math.max(peakRss, rss);
    peakHeap = Math.max(peakHeap, heapUsed);
  }, 50);
  sampler.unref();
  resources.add('memory sampler', async () => clearInterval(sampler));

  const { store, label: storeLabel } = await openStore(options, resources);

  status.phase = 'starting the sandbox and the host';
  const clientRequests = new ClientRequestLog().start();
  resources.add('client request log', async () => clientRequests.stop());
  const sandbox = new CashySandbox(sandboxOptions(options));
  resources.add('CashySandbox', () => sandbox.stop());
  await sandbox.start();
  const port = await freePort();
  const host = await startSoakHost(
    port,
    {
      ...sandbox.moduleOptions({
        notifyUrl: `http://127.0.0.1:${port}/payout/webhook`,
      }),
      timeoutMs,
      retry: RETRY,
      resendWindowMs,
    },
    store,
  );
  resources.add('Nest app', () => host.app.close());

  const inputs = Array.from({ length: total }, (_, i) => {
    const currency = i % 2 ? 'MXN' : 'PEN';
    const roll = random();
    const remark =
      roll < 0.05
        ? 'FAIL'
        : roll < 0.07
          ? 'CANCEL'
          : roll < 0.12 && currency === 'MXN'
            ? 'REVERSE'
            : 'payout';
    return samplePayout(currency, {
      mchOrderNo: `SOAK-${mode === 'default' ? '' : 'ND-'}${seed}-${i}`,
      remark,
    });
  });

  // Past maxFailures failed payouts the environment is broken, not flaky: stop sending and report.
  const giveUp = new AbortController();
  const loops = AbortSignal.any([signal, giveUp.signal]);
  setMaxListeners(0, loops);
  let failedPayouts = 0;
  const payoutFailed = () => {
    if (++failedPayouts < options.maxFailures || giveUp.signal.aborted) return;
    console.error(
      `soak: ${failedPayouts} payouts failed; stopping early (--max-failures ${options.maxFailures}) during "${status.phase}"`,
    );
    giveUp.abort();
  };

  const counters = new HostCounters();
  const ctx: PayerContext = {
    payouts: host.payouts,
    counters,
    pauseMs: options.pauseMs,
    budgetMs: options.payoutBudgetMs,
    signal: loops,
  };
  const results: (PayResult | undefined)[] = new Array(total);
  const settle = (result: PayResult | undefined, input: SandboxPayoutInput) => {
    if (result && 'failure' in result) {
      failures.push(result.failure);
      payoutFailed();
    } else if (!result) {
      fail(
        'every payout reaches a known outcome',
        input.mchOrderNo,
        'not tried: the run stopped early',
      );
    }
    status.settled++;
    return result;
  };

  // Scripted payouts, each alone, so the faults they are given reach them: every branch of the
  // host's loop is taken at least once, whatever the random faults do.
  status.phase = 'scripted payouts';
  const scripted: {
    index: number;
    what: string;
    check: () => string | undefined;
  }[] = [];
  {
    const index = 0;
    const rejectedBefore = counters.createRejected;
    sandbox.injectFaults({
      mode: 'system-busy',
      count: RETRY.attempts,
      endpoints: ['payOut'],
    });
    results[index] = settle(await payUntilKnown(ctx, inputs[index]), inputs[index]);
    scripted.push({
      index,
      what: `System_busy on all ${RETRY.attempts} attempts: CashyApiError, sent again later`,
      check: () =>
        counters.createRejected > rejectedBefore
          ? undefined
          : 'createPayout did not reject with CashyApiError',
    });
  }
  if (mode === 'no-dedupe') {
    const index = 1;
    sandbox.injectFaults({
      mode: 'late-commit',
      count: 1,
      endpoints: ['payOut'],
    });
    results[index] = settle(await payUntilKnown(ctx, inputs[index]), inputs[index]);
    scripted.push({
      index,
      what: `late commit (${lateCommitMs} ms): unknown, reconciled, found, never sent again`,
      check: () => {
        const sent = sandbox.requests.filter(
          (r) => r.endpoint === PAY_OUT && mchOrderNoOf(r) === inputs[index].mchOrderNo,
        ).length;
        const result = results[index];
        if (!result || 'failure' in result) return 'no known outcome';
        if (!result.unknownOnce) return 'createPayout did not end in PayoutOutcomeUnknownError';
        return sent === 1 ? undefined : `${sent} payOut requests, expected 1`;
      },
    });
  }
  const firstRandom = scripted.length;

  checkpoint(signal);
  status.phase = 'creating payouts';
  const created = await mapLimit(inputs.slice(firstRandom), concurrency, loops, async (input) =>
    settle(await payUntilKnown(ctx, input), input),
  );
  created.forEach((result, i) => {
    if (result) results[firstRandom + i] = result;
    else results[firstRandom + i] = settle(undefined, inputs[firstRandom + i]);
  });

  // Chaos on the webhook side: duplicates (some concurrent) and stale in-progress statuses after the final one.
  let chaosSent = 0;
  const chaos = async () => {
    for (const order of sandbox.orders()) {
      if (loops.aborted) return;
      if (!FINAL.has(order.orderStatus)) continue;
      const roll = random();
      const account = sandbox.accounts.find((a) => a.merchantId === order.merchantId)!;
      if (roll < 0.15) {
        chaosSent += 2;
        await Promise.all([
          sandbox.notifyAgain(order.orderNo),
          sandbox.notifyAgain(order.orderNo),
        ]).catch(() => undefined);
      } else if (roll < 0.3) {
        chaosSent++;
        const stale = buildNotification({
          orderStatus: 'PAYING',
          amount: order.amount,
          mchOrderNo: order.mchOrderNo,
          merchantId: order.merchantId,
          orderNo: order.orderNo,
        });
        await postSignedNotification(order.notifyUrl, stale, account).catch(() => undefined);
      }
    }
  };
  const idle = async (what: string) => {
    status.phase = what;
    if (loops.aborted) return;
    await sandbox
      .idle(120_000)
      .catch((error: unknown) =>
        fail('the sandbox settles', '-', `${what}: ${(error as Error).message}`),
      );
  };
  // Only payouts that were created are reconciled to a final status; the others already failed the run.
  const reconcileAll = (what: string) => {
    status.phase = what;
    return mapLimit(inputs, concurrency, loops, async (input, i) => {
      const created = results[i];
      if (!created || !('order' in created)) return undefined;
      const pass = await reconcileUntilFinal(ctx, input);
      if (pass.failure) payoutFailed();
      return pass;
    });
  };

  checkpoint(signal);
  status.phase = 'webhook chaos';
  await chaos();
  const reconciled = await reconcileAll('reconciling');
  await idle('waiting for the sandbox (1)');
  checkpoint(signal);
  status.phase = 'webhook chaos (2)';
  await chaos();
  await idle('waiting for the sandbox (2)');
  checkpoint(signal);
  // Returns may have followed the first final status: one more pass, as a periodic job would do.
  const finals = await reconcileAll('reconciling again');
  checkpoint(signal);
  status.phase = 'checking';

  // Invariants, payout by payout.
  let maxOrders = 0;
  let missingOrders = 0;
  let unknownAfter = 0;
  let wrongEvents = 0;
  let reversals = 0;
  let settledPayouts = 0;
  for (const [i, input] of inputs.entries()) {
    const m = input.mchOrderNo;
    const orders = sandbox.ordersByMchOrderNo(m);
    maxOrders = Math.max(maxOrders, orders.length);
    if (orders.length > 1)
      fail(
        'at most 1 order per mchOrderNo at the gateway',
        m,
        `${orders.length} orders: ${orders.map((o) => `${o.orderNo} ${o.orderStatus}`).join(', ')}`,
      );
    if (orders.length === 0) {
      missingOrders++;
      fail('exactly 1 order per payout in the end', m, 'no order at the gateway');
    }
    const result = results[i];
    if (result && 'order' in result) settledPayouts++;
    const pass = finals[i] ?? reconciled[i];
    const final = pass?.order;
    if (!final || !FINAL.has(final.orderStatus)) {
      unknownAfter++;
      if (pass?.failure) failures.push(pass.failure);
    }
    const gateway = orders[0];
    const expected = !gateway
      ? []
      : gateway.reversed
        ? ['payout.succeeded', 'payout.failed:reversed']
        : [gateway.orderStatus === 'SUCCESS' ? 'payout.succeeded' : 'payout.failed'];
    if (gateway?.reversed) reversals++;
    const got = host.listener.events.get(m) ?? [];
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      wrongEvents++;
      fail(
        'one outcome event per final status (plus the reversal)',
        m,
        `expected ${expected.join(', ') || 'none'}, got ${got.join(', ') || 'none'}`,
      );
    }
  }
  const anomalies = host.listener.anomalies;
  for (const a of anomalies)
    fail(
      'no payout.anomaly',
      a.mchOrderNo,
      `${a.kind} on order ${a.orderNo} (${a.status}): ${a.reason}`,
    );
  for (const s of scripted) {
    const problem = s.check();
    if (problem) fail(`scripted: ${s.what}`, inputs[s.index].mchOrderNo, problem);
  }

  // What the gateway saw of the creates, and when the client had finished each one.
  const payOuts = new Map<string, SandboxRequestRecord[]>();
  for (const request of sandbox.requests) {
    const m = request.endpoint === PAY_OUT ? mchOrderNoOf(request) : undefined;
    if (m !== undefined) payOuts.set(m, [...(payOuts.get(m) ?? []), request]);
  }
  const afterFault: number[] = [];
  /** The same, only where the first fault left the outcome open (all but system-busy). */
  const afterAmbiguous: number[] = [];
  let mostSent: { m: string; sent: SandboxRequestRecord[] } | undefined;
  let minGap = Infinity;
  /** Creates the sandbox read only after the client had given up on them, and the longest such delay. */
  let readAfterGiveUp = 0;
  let longestReadDelay = 0;
  for (const [m, sent] of payOuts) {
    if (faultOf(sent[0]) !== undefined) {
      afterFault.push(sent.length);
      if (!DEFINITE_FAULTS.has(faultOf(sent[0])!)) afterAmbiguous.push(sent.length);
      if (!mostSent || sent.length > mostSent.sent.length) mostSent = { m, sent };
    }
    // Rule 3: a create goes again only after a definite "nothing done", or once the re-send window has passed.
    // Rule 3 counts from the end of the client's attempt; a sandbox busy with many payouts may read a
    // create only after the client gave up on it, so each gap runs from the earlier of the two.
    for (const request of sent) {
      const clientEnd = clientRequests.endOf(request.headers.sign);
      if (clientEnd === undefined || clientEnd >= request.at) continue;
      readAfterGiveUp++;
      longestReadDelay = Math.max(longestReadDelay, request.at - clientEnd);
    }
    for (let k = 0; k + 1 < sent.length; k++) {
      const fault = faultOf(sent[k]);
      const clientEnd = clientRequests.endOf(sent[k].headers.sign);
      if (fault !== undefined && DEFINITE_FAULTS.has(fault)) continue;
      const gap = sent[k + 1].at - Math.min(sent[k].at, clientEnd ?? Infinity);
      minGap = Math.min(minGap, gap);
      if (fault === undefined)
        fail(
          'a create answered normally is never sent again',
          m,
          `payOut #${k + 2} ${gap} ms after an answered one`,
        );
      else if (gap < resendWindowMs)
        fail(
          `no re-send within resendWindowMs (${resendWindowMs} ms) of an ambiguous create`,
          m,
          `payOut #${k + 2} ${gap} ms after one that met "${fault}"`,
        );
    }
  }
  const faulted = sandbox.requests.filter((r) => faultOf(r) !== undefined);
  const lateCommits = sandbox.requests.filter(
    (r) => r.endpoint === PAY_OUT && faultOf(r) === 'late-commit',
  );
  const lateCreated = lateCommits.filter(
    (r) =>
      'fault' in r.response && r.response.withheld && /"code":200/.test(r.response.withheld.body),
  ).length;
  const answers = new Map<string, number>();
  for (const delivery of sandbox.deliveries) {
    const key = String(delivery.httpStatus ?? delivery.error ?? 'none');
    answers.set(key, (answers.get(key) ?? 0) + 1);
  }
  const unknownDuringCreate = results.filter((r) => r && 'order' in r && r.unknownOnce).length;
  clearInterval(sampler);

  const duration = (Date.now() - startedAt) / 1000;
  const otherErrors = [...counters.otherErrors]
    .map(([name, count]) => `${name}:${count}`)
    .join(' ');
  const okOrNot = (good: boolean) => (good ? 'ok' : 'FAIL');
  const rows: [string, string | number, string][] = [
    [
      'mode',
      mode,
      mode === 'default'
        ? 'gateway dedupes mchOrderNo, 6 random fault modes'
        : 'gateway does NOT dedupe mchOrderNo; late-commit (x3), notify-before-answer + 6 modes',
    ],
    ['store', storeLabel, ''],
    [
      'module timeoutMs / resendWindowMs',
      `${timeoutMs} / ${resendWindowMs}`,
      mode === 'no-dedupe' ? `sandbox lateCommitMs ${lateCommitMs}` : '',
    ],
    ['payouts requested', total, `concurrency ${concurrency}, host pause ${options.pauseMs} ms`],
    [
      'payouts created (createPayout or reconcile gave the order)',
      settledPayouts,
      okOrNot(settledPayouts === total),
    ],
    [
      'gateway requests / faults injected',
      `${sandbox.requests.length} / ${faulted.length}`,
      `rate ${faultRate}, seed ${seed}`,
    ],
    ['faults by mode', tally(faulted.map((r) => faultOf(r)!)), ''],
    ...(mode === 'no-dedupe'
      ? [
          [
            'late-commit payOuts / orders they created late',
            `${lateCommits.length} / ${lateCreated}`,
            '',
          ] as [string, string, string],
        ]
      : []),
    [
      'webhook deliveries (incl. retries, duplicates)',
      sandbox.deliveries.length,
      `${chaosSent} extra duplicate or stale notifications`,
    ],
    [
      'webhook answers by HTTP status',
      [...answers].map(([s, count]) => `${s}:${count}`).join(' '),
      '',
    ],
    ['host: createPayout calls', counters.createCalls, ''],
    [
      'host: createPayout → PayoutOutcomeUnknownError',
      counters.createUnknown,
      `${unknownDuringCreate} payouts needed reconciliation`,
    ],
    [
      'host: createPayout → CashyApiError, sent again later',
      counters.createRejected,
      '1 scripted: System_busy on every attempt',
    ],
    ['host: reconcile calls', counters.reconcileCalls, ''],
    [
      'host: reconcile → PayoutOutcomeUnknownError (window)',
      counters.reconcileUnknown,
      'paused, reconciled again',
    ],
    [
      'host: reconcile → lookups failed',
      counters.reconcileLookupFailed,
      'paused, reconciled again',
    ],
    ['host: reconcile → null, sent again (same mchOrderNo)', counters.reconcileNull, ''],
    ...(otherErrors
      ? [['host: other PayoutErrors (reconciled)', otherErrors, ''] as [string, string, string]]
      : []),
    [
      'payOut requests per mchOrderNo after an ambiguous attempt (max)',
      afterFault.length ? Math.max(...afterFault) : 0,
      `${afterFault.length} mchOrderNos whose first payOut met a fault`,
    ],
    ['  distribution (requests:mchOrderNos)', histogram(afterFault), ''],
    [
      '  the most sent',
      mostSent?.m ?? '-',
      mostSent ? mostSent.sent.map((r) => faultOf(r) ?? 'answered').join(', ') : '',
    ],
    [
      '  where the first fault was not system-busy (max)',
      afterAmbiguous.length ? Math.max(...afterAmbiguous) : 0,
      `${afterAmbiguous.length} mchOrderNos; ${histogram(afterAmbiguous)}`,
    ],
    [
      'shortest gap before a create was sent again (ms)',
      Number.isFinite(minGap) ? minGap : '-',
      `after an ambiguous attempt, from the end of the client's attempt or the gateway's read, whichever came first; must be >= ${resendWindowMs}`,
    ],
    [
      'creates the gateway read after the client had given up',
      readAfterGiveUp,
      `longest delay ${longestReadDelay} ms`,
    ],
    ['orders held per mchOrderNo (max)', maxOrders, okOrNot(maxOrders === 1)],
    ['payouts with no order at the gateway', missingOrders, okOrNot(missingOrders === 0)],
    ['outcomes unknown after reconciliation', unknownAfter, okOrNot(unknownAfter === 0)],
    [
      'payouts whose events are not exactly one per outcome',
      wrongEvents,
      okOrNot(wrongEvents === 0),
    ],
    ['anomalies emitted (payout.anomaly)', anomalies.length, okOrNot(anomalies.length === 0)],
    ['Mexican reversals (2 events each)', reversals, ''],
    [
      'peak RSS / heap (MiB)',
      `${(peakRss / 2 ** 20).toFixed(0)} / ${(peakHeap / 2 ** 20).toFixed(0)}`,
      '',
    ],
    ['duration (s)', duration.toFixed(1), ''],
  ];
  for (const [label, value, note] of rows)
    console.log(`${label.padEnd(66)} ${String(value).padStart(18)}  ${note}`);
  const summary = {
    mode,
    store: options.store,
    payouts: total,
    requests: sandbox.requests.length,
    faults: faulted.length,
    lateCommits: lateCommits.length,
    lateCreated,
    maxOrdersPerMchOrderNo: maxOrders,
    missingOrders,
    payOutRequestsAfterFault: {
      max: afterFault.length ? Math.max(...afterFault) : 0,
      payouts: afterFault.length,
      distribution: histogram(afterFault),
    },
    payOutRequestsAfterAmbiguousFault: {
      max: afterAmbiguous.length ? Math.max(...afterAmbiguous) : 0,
      payouts: afterAmbiguous.length,
      distribution: histogram(afterAmbiguous),
    },
    minResendGapMs: Number.isFinite(minGap) ? minGap : null,
    unknownAfter,
    wrongEvents,
    anomalies: anomalies.length,
    host: {
      ...counters,
      otherErrors: Object.fromEntries(counters.otherErrors),
    },
    reversals,
    durationS: Number(duration.toFixed(1)),
  };
  console.log(`soak-summary ${JSON.stringify(summary)}`);
  recordSoakRun(`${mode}-${options.store}`, {
    passed: failures.length === 0,
    rows,
    summary,
  });
  return failures.length === 0;
}

function printFailures(): void {
  const byInvariant = new Map<string, SoakFailure[]>();
  for (const failure of failures)
    byInvariant.set(failure.invariant, [...(byInvariant.get(failure.invariant) ?? []), failure]);
  for (const [invariant, list] of byInvariant) {
    const payouts = new Set(list.map((f) => f.mchOrderNo).filter((m) => m !== '-')).size;
    console.error(
      `FAIL: ${invariant}: ${payouts > 0 ? `${payouts} payout(s)` : `${list.length} time(s)`}`,
    );
    for (const f of list.slice(0, 5))
      console.error(`  ${f.mchOrderNo === '-' ? '' : `${f.mchOrderNo}: `}${f.detail}`);
    if (list.length > 5) console.error(`  … and ${list.length - 5} more`);
  }
}

/** Resolves with the exit code: 0 pass, 1 an invariant failed, 2 the run could not be carried out. */
async function main(): Promise<number> {
  let options: SoakOptions | 'help';
  try {
    options = parseSoakOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof SoakUsageError)) throw error;
    console.error(`soak: ${error.message}\n\n${SOAK_USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(SOAK_USAGE);
    return 0;
  }

  started = true;
  const resources = new SoakResources();
  const abort = new AbortController();
  // Every paused payout listens to it: as many listeners as payouts in flight.
  setMaxListeners(0, abort.signal);
  // Ends the run from outside (deadline, signal): stop the loops, close what is open, exit.
  const stopAndExit = (why: string, code: number) => {
    if (abort.signal.aborted) return;
    stopping = true;
    abort.abort();
    console.error(
      `soak: ${why} during "${status.phase}" (${status.settled}/${status.total} payouts settled); closing what is open`,
    );
    printFailures();
    closeThenExit('soak', () => resources.closeAll(), code);
  };
  const deadline = setTimeout(
    () => stopAndExit(`FAIL: hard deadline of ${options.deadlineMinutes} min reached`, 2),
    options.deadlineMinutes * 60_000,
  );
  // The deadline never keeps the process alive by itself; a leaked handle would, and then it fires.
  deadline.unref();
  const onSignal = (signal: NodeJS.Signals) => stopAndExit(`${signal} received`, 130);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const passed =
      options.mode === 'lost-webhooks'
        ? await runLostWebhooks(options, resources, abort.signal, openStore)
        : options.mode === 'skewed-replicas'
          ? await runSkewedReplicas(options, resources, abort.signal)
          : await run(options, resources, abort.signal);
    return passed ? 0 : 1;
  } catch (error) {
    // Stopped from outside: stopAndExit has said why, and exits once everything is closed.
    if (error instanceof SoakStopped) return 2;
    fail(
      'the run completes',
      '-',
      error instanceof Error ? (error.stack ?? error.message) : String(error),
    );
    return 2;
  } finally {
    clearTimeout(deadline);
    status.phase = 'closing';
    await resources.closeAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.on('unhandledRejection', (reason) => {
  fail(
    'no unhandled rejection',
    '-',
    reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
  );
});
process.on('exit', () => {
  if (!finished && !stopping)
    console.error(`soak: the process is exiting during "${status.phase}" before the run finished`);
});
// Until the run says otherwise, a process that ends is a failed run.
process.exitCode = 2;

void main()
  .catch((error: unknown) => {
    fail(
      'the run completes',
      '-',
      error instanceof Error ? (error.stack ?? error.message) : String(error),
    );
    return 2;
  })
  .then((code) => {
    if (stopping) return; // stopAndExit has the last word
    // Failures found after the report (an unhandled rejection while closing) still count.
    const exitCode = code === 0 && failures.length > 0 ? 1 : code;
    if (failures.length > 0) printFailures();
    if (started) console.log(exitCode === 0 ? 'soak: PASS' : 'soak: FAIL');
    finished = true;
    process.exitCode = exitCode;
    // Everything is closed: the process should now exit by itself. If a handle leaked, say so and go.
    setTimeout(() => {
      console.error(
        `soak: still running 10 s after everything was closed (open: ${process.getActiveResourcesInfo().join(', ') || 'nothing listed'}); exiting`,
      );
      process.exit(exitCode === 0 ? 1 : exitCode);
    }, 10_000).unref();
  });

/**
 * `npm run soak -- --mode=skewed-replicas`: two replicas of a host, each in its own process, on one
 * Redis (or, with `--store postgres`, one PostgreSQL database), both sweeping. Replica B's wall
 * clock runs 3 minutes ahead of A's, and both clocks are stepped by 5 minutes back and forth during
 * the run (an NTP correction, a VM resumed). The gateway
 * does not dedupe `mchOrderNo` and often commits a create after the client gave up; 30% of orders'
 * webhooks are lost, so the sweeps find their outcomes. The host creates each payout on one replica,
 * sends it again after a definite rejection, and sends it again from its `payout.not_created`
 * listener, as the README allows. The run must end with one order per `mchOrderNo`, every outcome
 * emitted once, and `payout.not_created` at most once per create.
 */
import {
  CashySandbox,
  freePort,
  samplePayout,
  SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
} from 'nestjs-cashy-payout/testing';
import { ReplicaProcess, type ReplicaEvent, type ReplicaWallClock } from './replica.process';
import { startReplicaStore } from './replica.store';
import {
  droppingProxy,
  expectedOutcome,
  lost,
  SOAK_SWEEP,
  SOAK_SWEPT_SANDBOX,
} from './soak-lost-webhooks';
import type { SoakOptions } from './soak-options';
import { mapLimit, pause } from './soak-payer';
import { recordSoakRun } from './soak-report';
import type { SoakResources } from './soak-resources';

/** The two replicas' wall clocks: B 3 minutes ahead; each stepped by 5 minutes, on its own beat. */
const CLOCKS: Record<'A' | 'B', ReplicaWallClock> = {
  A: { skewMs: 0, stepMs: 300_000, stepEveryMs: 1_700 },
  B: { skewMs: 180_000, stepMs: 300_000, stepEveryMs: 2_300 },
};
/** A host gives up sending one payout after this many creates. */
const MAX_CREATES = 20;

function describeClock(clock: ReplicaWallClock): string {
  return `${clock.skewMs / 1000} s ahead, ±${clock.stepMs! / 1000} s every ${clock.stepEveryMs! / 1000} s`;
}

/** Runs the mode; resolves `true` when every invariant held. */
export async function runSkewedReplicas(
  options: SoakOptions,
  resources: SoakResources,
  signal: AbortSignal,
): Promise<boolean> {
  const startedAt = Date.now();
  const failures: string[] = [];

  if (options.store === 'memory')
    throw new Error('skewed-replicas needs a store the replicas share (redis or postgres)');
  const store = await startReplicaStore(
    options.store,
    `soak_skewed_${options.seed}_${startedAt}`,
    resources,
    options.redisUrl,
  );
  const storeName = options.store === 'postgres' ? 'one PostgreSQL database' : 'one Redis';
  const sandbox = new CashySandbox({
    ...SOAK_SWEPT_SANDBOX,
    dedupeMchOrderNo: false,
    lateCommitMs: options.lateCommitMs,
    faults: {
      rate: options.faultRate,
      seed: options.seed,
      endpoints: ['payOut'],
      // 'late-commit', the fault a skewed clock would turn into a second payment, 3 in 9 faults.
      modes: [...SANDBOX_DEFAULT_RANDOM_FAULT_MODES, 'late-commit', 'late-commit', 'late-commit'],
    },
  });
  resources.add('CashySandbox', () => sandbox.stop());
  await sandbox.start();

  /** Per mchOrderNo, what the host did and heard, in order: `create`, then events by name. */
  const history = new Map<string, string[]>();
  const note = (m: string, what: string) => history.set(m, [...(history.get(m) ?? []), what]);
  const eventsByReplica = { A: 0, B: 0 };
  const inFlight = new Set<Promise<void>>();
  const counts = { creates: 0, unknown: 0, rejected: 0, resentAfterNotCreated: 0 };
  const replicas: Partial<Record<'A' | 'B', ReplicaProcess>> = {};
  const inputs = Array.from({ length: options.payouts }, (_, i) =>
    samplePayout(i % 2 ? 'MXN' : 'PEN', {
      mchOrderNo: `SOAK-SK-${options.seed}-${i}`,
      remark: i % 10 === 3 ? 'FAIL' : i % 20 === 1 ? 'REVERSE' : 'payout',
    }),
  );
  const byMchOrderNo = new Map(inputs.map((input) => [input.mchOrderNo, input]));
  const replicaOf = (m: string): 'A' | 'B' =>
    inputs.indexOf(byMchOrderNo.get(m)!) % 2 ? 'B' : 'A';

  /** The host's payout code: create, and again only after a definite rejection. */
  const send = async (m: string, replica: ReplicaProcess): Promise<void> => {
    for (let tries = 0; tries < MAX_CREATES && !signal.aborted; tries++) {
      if (history.get(m)?.filter((h) => h === 'create').length === MAX_CREATES) break;
      note(m, 'create');
      counts.creates++;
      const result = await replica.create(byMchOrderNo.get(m)!);
      if (result.outcome === 'order') return;
      if (result.outcome === 'unknown') {
        counts.unknown++;
        return; // the sweeps settle it
      }
      if (result.outcome === 'error') {
        failures.push(`${m}: createPayout on ${replica.name} threw ${result.message}`);
        return;
      }
      counts.rejected++;
      await pause(options.pauseMs, signal);
    }
  };
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const onEvent = (event: ReplicaEvent) => {
    eventsByReplica[event.replica as 'A' | 'B']++;
    note(event.mchOrderNo, event.name);
    // The listener sends it again with the same mchOrderNo, from the replica that told it.
    if (event.name === 'payout.not_created') {
      counts.resentAfterNotCreated++;
      track(send(event.mchOrderNo, replicas[event.replica as 'A' | 'B']!));
    }
  };

  for (const name of ['A', 'B'] as const) {
    const port = await freePort();
    const proxy = await droppingProxy(port);
    resources.add(
      `dropping proxy ${name}`,
      () => new Promise<void>((resolve) => proxy.server.close(() => resolve())),
    );
    const replica = await ReplicaProcess.start(
      name,
      {
        port,
        store,
        module: {
          ...sandbox.moduleOptions({ notifyUrl: `http://127.0.0.1:${proxy.port}/payout/webhook` }),
          timeoutMs: options.timeoutMs,
          retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
          resendWindowMs: options.resendWindowMs,
          reconciliation: SOAK_SWEEP,
        },
      },
      CLOCKS[name],
      onEvent,
    );
    resources.add(`replica ${name}`, () => replica.stop());
    replicas[name] = replica;
  }

  await mapLimit(inputs, options.concurrency, signal, (input) =>
    send(input.mchOrderNo, replicas[replicaOf(input.mchOrderNo)]!),
  );

  const outcomeEvents = (m: string) =>
    (history.get(m) ?? []).filter((h) => h.startsWith('payout.') && h !== 'payout.not_created');
  const ended = (m: string) => {
    const order = sandbox.ordersByMchOrderNo(m)[0];
    if (!order) return false;
    const got = outcomeEvents(m);
    return JSON.stringify(got) === JSON.stringify(expectedOutcome(order, got).expected);
  };
  const settleBy = Date.now() + Math.max(90_000, options.resendWindowMs * 20);
  while (
    !signal.aborted &&
    Date.now() < settleBy &&
    (inFlight.size > 0 || !inputs.every((input) => ended(input.mchOrderNo)))
  )
    await pause(200, signal);
  await pause(2_000, signal); // more sweeps on both replicas: nothing may come twice
  await Promise.all(inFlight);

  let maxOrders = 0;
  let notCreated = 0;
  let outcomes = 0;
  let anomalies = 0;
  for (const input of inputs) {
    const m = input.mchOrderNo;
    const orders = sandbox.ordersByMchOrderNo(m);
    const seen = history.get(m) ?? [];
    maxOrders = Math.max(maxOrders, orders.length);
    if (orders.length > 1)
      failures.push(`${m}: ${orders.length} orders at the gateway (${seen.join(', ')})`);
    if (orders.length === 0) failures.push(`${m}: no order at the gateway (${seen.join(', ')})`);
    const got = outcomeEvents(m);
    anomalies += got.filter((e) => e.startsWith('payout.anomaly')).length;
    const { expected } = expectedOutcome(orders[0], got);
    if (orders.length > 0 && JSON.stringify(got) !== JSON.stringify(expected))
      failures.push(
        `${m}: outcome events ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`,
      );
    outcomes += got.length;
    // Each payout.not_created speaks of the latest create: two with no create between are one too many.
    let createsSinceNotice = 0;
    for (const what of seen) {
      if (what === 'create') createsSinceNotice++;
      if (what !== 'payout.not_created') continue;
      notCreated++;
      if (createsSinceNotice === 0)
        failures.push(`${m}: payout.not_created twice for one create (${seen.join(', ')})`);
      createsSinceNotice = 0;
    }
  }

  const payOuts = sandbox.requests.filter((r) => r.endpoint === '/api/payOut');
  const faultsOf = (mode: string) =>
    payOuts.filter((r) => 'fault' in r.response && r.response.fault === mode).length;
  const rows: [string, string | number, string][] = [
    [
      'mode',
      'skewed-replicas',
      `two replica processes on ${storeName}, both sweeping; gateway does NOT dedupe mchOrderNo; 30% of orders' webhooks lost`,
    ],
    ['replica A wall clock', describeClock(CLOCKS.A), ''],
    ['replica B wall clock', describeClock(CLOCKS.B), ''],
    [
      'module timeoutMs / resendWindowMs',
      `${options.timeoutMs} / ${options.resendWindowMs}`,
      `sandbox lateCommitMs ${options.lateCommitMs}`,
    ],
    [
      'payouts requested',
      inputs.length,
      `concurrency ${options.concurrency}, half on each replica`,
    ],
    [
      'payOut requests / faults / late commits',
      `${payOuts.length} / ${payOuts.filter((r) => 'fault' in r.response).length} / ${faultsOf('late-commit')}`,
      `rate ${options.faultRate} on payOut, seed ${options.seed}`,
    ],
    [
      'orders at the gateway / whose webhooks were all lost',
      `${sandbox.orders().length} / ${sandbox.orders().filter((o) => lost(o.orderNo)).length}`,
      'the sweeps found those outcomes',
    ],
    ['host: createPayout calls', counts.creates, ''],
    ['host: createPayout → PayoutOutcomeUnknownError (left to the sweeps)', counts.unknown, ''],
    ['host: createPayout → CashyApiError, sent again', counts.rejected, ''],
    [
      'payout.not_created, each sent again by its listener',
      notCreated,
      'at most one per create: checked',
    ],
    ['events received by replica A / B', `${eventsByReplica.A} / ${eventsByReplica.B}`, ''],
    ['orders held per mchOrderNo (max)', maxOrders, maxOrders === 1 ? 'ok' : 'FAIL'],
    ['outcome events (each exactly once)', outcomes, 'a return counts two'],
    ['anomalies emitted', anomalies, anomalies === 0 ? 'ok' : 'FAIL'],
    ['failures', failures.length, failures.length === 0 ? 'ok' : 'FAIL'],
    ['duration (s)', ((Date.now() - startedAt) / 1000).toFixed(1), ''],
  ];
  if (anomalies > 0) failures.push(`${anomalies} anomalies emitted`);
  for (const [label, value, note] of rows)
    console.log(`${label.padEnd(66)} ${String(value).padStart(18)}  ${note}`);
  for (const failure of failures.slice(0, 10)) console.error(`FAIL: ${failure}`);
  recordSoakRun(`skewed-replicas-${options.store}`, {
    passed: failures.length === 0,
    rows,
    summary: { ...counts, notCreated, outcomes, maxOrders, anomalies, failures: failures.length },
  });
  return failures.length === 0;
}

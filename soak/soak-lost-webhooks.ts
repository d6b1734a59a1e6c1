/**
 * `npm run soak -- --mode=lost-webhooks`: 30% of the orders' webhooks are lost for good (a proxy in
 * front of the host answers `SUCCESS` to Cashy and forwards nothing), creates meet faults, 10% of
 * Mexican payouts are returned by SPEI after their `SUCCESS` (a second callback, lost like the rest
 * for those orders), and the host has no reconciliation code at all: it creates each payout once
 * (again only after a definite rejection) and listens. The module's built-in sweep must end every
 * payout with its outcome emitted exactly once (a return: one `payout.succeeded`, then one reversed
 * `payout.failed`), or with `payout.not_created` once; the report shows how many came from it.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CashyApiError,
  PAYOUT_DIAGNOSTICS_CHANNELS,
  PAYOUT_STORE,
  PayoutOutcomeUnknownError,
  type PayoutStore,
  type PayoutWebhookMessage,
} from 'nestjs-cashy-payout';
import { CashySandbox, freePort, samplePayout } from 'nestjs-cashy-payout/testing';
import type { SoakOptions } from './soak-options';
import { mapLimit, pause } from './soak-payer';
import { recordSoakRun } from './soak-report';
import type { SoakResources } from './soak-resources';
import { startSoakHost } from './soak-host';

/** The built-in sweep of the modes that leave payouts to it: quick, so that a run is short. */
export const SOAK_SWEEP = {
  intervalMs: 100,
  firstCheckMs: 300,
  maxIntervalMs: 1_000,
  leaseMs: 5_000,
  batchSize: 100,
  concurrency: 8,
  // Long enough for the sandbox's SPEI returns, short enough for a run.
  returnWatchMs: 5_000,
};

/** The sandbox's pace in those modes. */
export const SOAK_SWEPT_SANDBOX = {
  processingMs: 20,
  // A SPEI return comes payingMs after its SUCCESS: later than the sweep's first look at a success.
  payingMs: 400,
  timeScale: 0.0005,
};

/** Share of orders whose every webhook is lost. */
const LOST_SHARE = 0.3;

/** Whether `orderNo`'s webhooks are lost: a fixed 30% of orders, the same on every delivery. */
export function lost(orderNo: string): boolean {
  return createHash('md5').update(orderNo).digest()[0] < 256 * LOST_SHARE;
}

/** A proxy that swallows the lost orders' deliveries (answering `SUCCESS`, so Cashy stops) and forwards the rest. */
export async function droppingProxy(
  target: number,
): Promise<{ server: Server; port: number; dropped: () => number }> {
  let dropped = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let orderNo = '';
      try {
        orderNo = String(
          (JSON.parse(body.toString('utf8')) as { orderNo?: unknown }).orderNo ?? '',
        );
      } catch {
        // forwarded as is
      }
      if (orderNo && lost(orderNo)) {
        dropped++;
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('SUCCESS');
        return;
      }
      const upstream = request(
        {
          host: '127.0.0.1',
          port: target,
          path: req.url,
          method: 'POST',
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    dropped: () => dropped,
  };
}

/**
 * The events a payout must have received, given its order at the gateway (none: not created) and
 * the outcome events it did receive. A return is a success then a reversal; one that came before
 * the module ever saw its success (both callbacks lost, the return faster than the first look) is a
 * plain failure: the host was never told of a success to reverse.
 */
export function expectedOutcome(
  order: { orderStatus: string; reversed?: boolean } | undefined,
  events: readonly string[],
): { expected: string[]; returnedUnseen: boolean } {
  const returnedUnseen =
    !!order?.reversed && JSON.stringify(events) === JSON.stringify(['payout.failed']);
  const expected = !order
    ? ['payout.not_created']
    : returnedUnseen
      ? ['payout.failed']
      : order.reversed
        ? ['payout.succeeded', 'payout.failed:reversed']
        : order.orderStatus === 'SUCCESS'
          ? ['payout.succeeded']
          : ['payout.failed'];
  return { expected, returnedUnseen };
}

/** Runs the mode; resolves `true` when every invariant held. */
export async function runLostWebhooks(
  options: SoakOptions,
  resources: SoakResources,
  signal: AbortSignal,
  openStore: (
    options: SoakOptions,
    resources: SoakResources,
  ) => Promise<{ store?: PayoutStore; label: string }>,
): Promise<boolean> {
  const startedAt = Date.now();
  const failures: string[] = [];
  const { store, label: storeLabel } = await openStore(options, resources);

  const sandbox = new CashySandbox({
    ...SOAK_SWEPT_SANDBOX,
    faults: {
      rate: options.faultRate,
      seed: options.seed,
      endpoints: ['payOut'],
    },
  });
  resources.add('CashySandbox', () => sandbox.stop());
  await sandbox.start();
  const hostPort = await freePort();
  const proxy = await droppingProxy(hostPort);
  resources.add(
    'dropping proxy',
    () => new Promise<void>((resolve) => proxy.server.close(() => resolve())),
  );

  let fromWebhook = 0;
  const webhookResults = new Map<string, number>();
  const onWebhook = (message: unknown) => {
    const result =
      (message as PayoutWebhookMessage).result ??
      `http ${(message as PayoutWebhookMessage).status}`;
    webhookResults.set(result, (webhookResults.get(result) ?? 0) + 1);
    if (result === 'emitted') fromWebhook++;
  };
  let returnsBySweep = 0;
  const onSweep = (message: unknown) => {
    returnsBySweep += (message as { returned?: number }).returned ?? 0;
  };
  subscribe(PAYOUT_DIAGNOSTICS_CHANNELS.sweep, onSweep);
  resources.add(
    'sweep diagnostics subscription',
    async () => void unsubscribe(PAYOUT_DIAGNOSTICS_CHANNELS.sweep, onSweep),
  );
  subscribe(PAYOUT_DIAGNOSTICS_CHANNELS.webhook, onWebhook);
  resources.add(
    'diagnostics subscription',
    async () => void unsubscribe(PAYOUT_DIAGNOSTICS_CHANNELS.webhook, onWebhook),
  );

  const host = await startSoakHost(
    hostPort,
    {
      ...sandbox.moduleOptions({
        notifyUrl: `http://127.0.0.1:${proxy.port}/payout/webhook`,
      }),
      timeoutMs: options.timeoutMs,
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
      resendWindowMs: options.resendWindowMs,
      reconciliation: SOAK_SWEEP,
    },
    store,
  );
  resources.add('Nest app', () => host.app.close());

  const inputs = Array.from({ length: options.payouts }, (_, i) =>
    samplePayout(i % 2 ? 'MXN' : 'PEN', {
      mchOrderNo: `SOAK-LW-${options.seed}-${i}`,
      // 1 in 20 payouts, 1 in 10 Mexican ones, are returned after their SUCCESS.
      remark: i % 10 === 3 ? 'FAIL' : i % 20 === 1 ? 'REVERSE' : 'payout',
    }),
  );
  const returned = (input: (typeof inputs)[number]) =>
    input.currency === 'MXN' && input.remark === 'REVERSE';
  let unknownAtCreate = 0;
  let rejectedThenResent = 0;
  await mapLimit(inputs, options.concurrency, signal, async (input) => {
    // The host's whole payout code: create, and again later only after a definite rejection.
    for (let tries = 0; tries < 20 && !signal.aborted; tries++) {
      try {
        await host.payouts.createPayout(input);
        return;
      } catch (error) {
        if (error instanceof PayoutOutcomeUnknownError) {
          unknownAtCreate++;
          return; // the built-in reconciliation settles it
        }
        if (!(error instanceof CashyApiError)) throw error;
        rejectedThenResent++;
        await pause(options.pauseMs, signal);
      }
    }
  });

  // Every payout must end: its final status emitted (a return after its success, or its one
  // payout.failed when the return came before any success was seen), or payout.not_created.
  const ended = (input: (typeof inputs)[number]) => {
    const events = host.listener.events.get(input.mchOrderNo) ?? [];
    if (events.includes('payout.not_created')) return true;
    if (returned(input))
      return (
        events.includes('payout.failed:reversed') ||
        expectedOutcome(sandbox.ordersByMchOrderNo(input.mchOrderNo)[0], events).returnedUnseen
      );
    return events.some((e) => e === 'payout.succeeded' || e.startsWith('payout.failed'));
  };
  const settleBy = Date.now() + Math.max(60_000, options.resendWindowMs * 10);
  while (!signal.aborted && Date.now() < settleBy && !inputs.every((input) => ended(input)))
    await pause(200, signal);
  await pause(1_500, signal); // more sweeps: nothing may come twice

  let outcomes = 0;
  let notCreated = 0;
  let returns = 0;
  let returnsUnseen = 0;
  for (const input of inputs) {
    const events = host.listener.events.get(input.mchOrderNo) ?? [];
    const orders = sandbox.ordersByMchOrderNo(input.mchOrderNo);
    const { expected, returnedUnseen } = expectedOutcome(orders[0], events);
    if (returnedUnseen) returnsUnseen++;
    if (
      returned(input) &&
      orders.length > 0 &&
      orders[0].orderStatus === 'SUCCESS' &&
      !orders[0].reversed
    )
      failures.push(`${input.mchOrderNo}: the sandbox never returned it`);
    if (orders.length > 1)
      failures.push(`${input.mchOrderNo}: ${orders.length} orders at the gateway`);
    if (JSON.stringify(events) !== JSON.stringify(expected)) {
      const payoutStore = host.app.get<PayoutStore>(PAYOUT_STORE);
      const attempt = await payoutStore.getAttempt(input.mchOrderNo);
      const open = (await payoutStore.listOpen(10_000)).find(
        (e) => e.mchOrderNo === input.mchOrderNo,
      );
      const record = await payoutStore.findByMchOrderNo(input.mchOrderNo);
      const requests = sandbox.requests
        .filter(
          (r) => (r.json as { mchOrderNo?: string } | undefined)?.mchOrderNo === input.mchOrderNo,
        )
        .map(
          (r) =>
            `${r.endpoint.replace('/api/', '')}:${'fault' in r.response ? r.response.fault : 'ok'}`,
        )
        .join(',');
      failures.push(
        `${input.mchOrderNo}: events ${JSON.stringify(events)}, expected ${JSON.stringify(expected)}; ` +
          `attempt ${attempt?.state ?? '-'} (${attempt?.orderNo ?? '-'}), record ${record?.status ?? '-'}/${JSON.stringify(record?.processed ?? [])}/claim ${record?.claim ? 'yes' : 'no'}, ` +
          `open ${open ? `due in ${open.dueAt - Date.now()} ms` : 'no'}, gateway ${orders[0]?.orderStatus ?? '-'} ${orders[0]?.orderNo ?? ''}, requests ${requests}`,
      );
    }
    if (expected[0] === 'payout.not_created') notCreated++;
    else outcomes += expected.length;
    if (orders[0]?.reversed && !returnedUnseen) returns++;
  }
  if (host.listener.anomalies.length > 0)
    failures.push(`${host.listener.anomalies.length} anomalies emitted`);

  const lostOrders = sandbox.orders().filter((order) => lost(order.orderNo)).length;
  const rows: [string, string | number, string][] = [
    [
      'mode',
      'lost-webhooks',
      `${LOST_SHARE * 100}% of orders' webhooks lost for good; no host reconciliation code`,
    ],
    ['store', storeLabel, ''],
    ['payouts requested', inputs.length, `concurrency ${options.concurrency}`],
    [
      'create faults injected',
      sandbox.requests.filter((r) => 'fault' in r.response).length,
      `rate ${options.faultRate} on payOut, seed ${options.seed}`,
    ],
    ['createPayout → PayoutOutcomeUnknownError (left to the sweep)', unknownAtCreate, ''],
    ['createPayout → CashyApiError, sent again', rejectedThenResent, ''],
    [
      'orders at the gateway / whose webhooks were all lost',
      `${sandbox.orders().length} / ${lostOrders}`,
      `${proxy.dropped()} deliveries swallowed`,
    ],
    [
      'webhooks reaching the host, by what they did',
      [...webhookResults].map(([k, v]) => `${k}:${v}`).join(' '),
      'duplicate: the sweep or an earlier copy came first',
    ],
    [
      'outcomes emitted exactly once',
      outcomes,
      'a return counts two: its success and its reversal',
    ],
    ['  of which by a webhook', fromWebhook, ''],
    ['  of which by the built-in sweep', outcomes - fromWebhook, ''],
    [
      'SPEI returns (payout.failed reversed, once each)',
      returns,
      `${returnsBySweep} found by the sweep's return watch, ${returns - returnsBySweep} by a webhook`,
    ],
    [
      'SPEI returns before any success was seen (one payout.failed)',
      returnsUnseen,
      'both callbacks lost and the return faster than the first look',
    ],
    ['payout.not_created (all by the sweep)', notCreated, 'no order at the gateway'],
    [
      'payouts whose events are not exactly one end',
      failures.filter((f) => f.includes('events')).length,
      failures.length === 0 ? 'ok' : 'FAIL',
    ],
    ['anomalies emitted', host.listener.anomalies.length, ''],
    ['duration (s)', ((Date.now() - startedAt) / 1000).toFixed(1), ''],
  ];
  for (const [label, value, note] of rows)
    console.log(`${label.padEnd(66)} ${String(value).padStart(18)}  ${note}`);
  for (const failure of failures.slice(0, 10)) console.error(`FAIL: ${failure}`);
  recordSoakRun(`lost-webhooks-${options.store}`, {
    passed: failures.length === 0,
    rows,
    summary: {
      outcomes,
      fromWebhook,
      notCreated,
      returns,
      returnsBySweep,
      failures: failures.length,
    },
  });
  return failures.length === 0;
}

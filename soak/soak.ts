/**
 * `npm run soak`: thousands of payouts through a faulty sandbox, with duplicate and out-of-order
 * webhooks, then reconciliation. Prints what a payments team asks of such a run and exits non-zero
 * if any payout was created twice, any outcome stayed unknown, or any outcome was emitted other than
 * exactly once (a Mexican return adds its one `payout.failed`).
 *
 *   npm run soak -- [--payouts 2000] [--fault-rate 0.2] [--seed 42] [--concurrency 25] [--redis redis://127.0.0.1:6379]
 */
import 'reflect-metadata';
import { type PayoutOrder, PayoutOutcomeUnknownError, type PayoutService, type PayoutStore } from 'nestjs-cashy-payout';
import { buildNotification, CashySandbox, freePort, mulberry32, postSignedNotification, samplePayout, type SandboxPayoutInput } from 'nestjs-cashy-payout/testing';
import { startSoakHost } from './soak-host';

const FINAL = new Set(['SUCCESS', 'FAIL', 'CANCEL']);

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] ? process.argv[index + 1] : (process.env[`SOAK_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback);
}

/** The host's loop for one payout: create; while unknown, reconcile; re-create only when the gateway has no such order. */
async function payUntilKnown(payouts: PayoutService, input: SandboxPayoutInput): Promise<{ order: PayoutOrder; unknownOnce: boolean }> {
  let unknownOnce = false;
  let order: PayoutOrder | null = null;
  for (let round = 0; !order; round++) {
    if (round > 100) throw new Error(`${input.mchOrderNo}: still unknown after 100 rounds`);
    if (round === 0) {
      order = await payouts.createPayout(input).catch((error: unknown) => {
        if (error instanceof PayoutOutcomeUnknownError) return null;
        throw error;
      });
    } else {
      const found = await payouts.reconcile({ mchOrderNo: input.mchOrderNo, currency: input.currency }).catch(() => undefined);
      order = found === null ? await payouts.createPayout(input).catch(() => null) : (found ?? null);
    }
    if (!order) unknownOnce = true;
  }
  return { order, unknownOnce };
}

async function reconcileUntilFinal(payouts: PayoutService, input: SandboxPayoutInput): Promise<PayoutOrder | undefined> {
  for (let round = 0; round < 100; round++) {
    const order = await payouts.reconcile({ mchOrderNo: input.mchOrderNo, currency: input.currency }).catch(() => undefined);
    if (order && FINAL.has(order.orderStatus)) return order;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]);
      }
    }),
  );
  return results;
}

async function main(): Promise<void> {
  const total = Number(option('payouts', '2000'));
  const faultRate = Number(option('fault-rate', '0.2'));
  const seed = Number(option('seed', '42'));
  const concurrency = Number(option('concurrency', '25'));
  const redisUrl = option('redis', '');
  const random = mulberry32(seed);
  const started = Date.now();

  let peakRss = 0;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    peakRss = Math.max(peakRss, rss);
    peakHeap = Math.max(peakHeap, heapUsed);
  }, 50);

  let store: PayoutStore | undefined;
  let closeStore = async () => undefined as void;
  if (redisUrl) {
    // Loaded only when asked for, as a host without Redis would.
    const { RedisPayoutStore } = await import('nestjs-cashy-payout/redis');
    const { Redis } = await import('ioredis');
    const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    store = new RedisPayoutStore({ client, keyPrefix: `soak-${seed}-${Date.now()}:` });
    closeStore = async () => void (await client.quit());
  }

  // One retry "minute" lasts 12 ms, so Cashy's whole 17-hour schedule fits in about 12 s.
  const sandbox = new CashySandbox({ processingMs: 5, payingMs: 15, timeScale: 0.0002, faults: { rate: faultRate, seed } });
  await sandbox.start();
  const port = await freePort();
  const host = await startSoakHost(
    port,
    { ...sandbox.moduleOptions({ notifyUrl: `http://127.0.0.1:${port}/payout/webhook` }), timeoutMs: 200, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 } },
    store,
  );

  const inputs = Array.from({ length: total }, (_, i) => {
    const currency = i % 2 ? 'MXN' : 'PEN';
    const roll = random();
    const remark = roll < 0.05 ? 'FAIL' : roll < 0.07 ? 'CANCEL' : roll < 0.12 && currency === 'MXN' ? 'REVERSE' : 'payout';
    return samplePayout(currency, { mchOrderNo: `SOAK-${seed}-${i}`, remark });
  });

  // Chaos on the webhook side: duplicates (some concurrent) and stale in-progress statuses after the final one.
  let chaosSent = 0;
  const chaos = async () => {
    for (const order of sandbox.orders()) {
      if (!FINAL.has(order.orderStatus)) continue;
      const roll = random();
      const account = sandbox.accounts.find((a) => a.merchantId === order.merchantId)!;
      if (roll < 0.15) {
        chaosSent += 2;
        await Promise.all([sandbox.notifyAgain(order.orderNo), sandbox.notifyAgain(order.orderNo)]).catch(() => undefined);
      } else if (roll < 0.3) {
        chaosSent++;
        const stale = buildNotification({ orderStatus: 'PAYING', amount: order.amount, mchOrderNo: order.mchOrderNo, merchantId: order.merchantId, orderNo: order.orderNo });
        await postSignedNotification(order.notifyUrl, stale, account).catch(() => undefined);
      }
    }
  };

  const created = await mapLimit(inputs, concurrency, (input) => payUntilKnown(host.payouts, input));
  await chaos();
  const reconciled = await mapLimit(inputs, concurrency, (input) => reconcileUntilFinal(host.payouts, input));
  await sandbox.idle(120_000);
  await chaos();
  await sandbox.idle(120_000);
  // Returns may have followed the first final status: one more pass, as a periodic job would do.
  const finals = await mapLimit(inputs, concurrency, (input) => reconcileUntilFinal(host.payouts, input));
  clearInterval(sampler);

  let maxOrders = 0;
  let missingOrders = 0;
  let unknownAfter = 0;
  let wrongEvents = 0;
  let reversals = 0;
  const examples: string[] = [];
  for (const [i, input] of inputs.entries()) {
    const orders = sandbox.ordersByMchOrderNo(input.mchOrderNo);
    maxOrders = Math.max(maxOrders, orders.length);
    if (orders.length === 0) missingOrders++;
    const final = finals[i] ?? reconciled[i];
    if (!final || !FINAL.has(final.orderStatus)) unknownAfter++;
    const gateway = orders[0];
    const expected = !gateway
      ? []
      : gateway.reversed
        ? ['payout.succeeded', 'payout.failed:reversed']
        : [gateway.orderStatus === 'SUCCESS' ? 'payout.succeeded' : 'payout.failed'];
    if (gateway?.reversed) reversals++;
    const got = host.listener.events.get(input.mchOrderNo) ?? [];
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      wrongEvents++;
      if (examples.length < 5) examples.push(`${input.mchOrderNo}: expected ${expected.join(', ')}, got ${got.join(', ') || 'none'}`);
    }
  }

  const faults = sandbox.requests.filter((r) => 'fault' in r.response).length;
  const deliveries = sandbox.deliveries.length;
  const answers = new Map<string, number>();
  for (const delivery of sandbox.deliveries) {
    const key = String(delivery.httpStatus ?? delivery.error ?? 'none');
    answers.set(key, (answers.get(key) ?? 0) + 1);
  }
  const unknownDuringCreate = created.filter((c) => c.unknownOnce).length;
  await host.app.close();
  await sandbox.stop();
  await closeStore();

  const rows: [string, string | number, string][] = [
    ['payouts requested', total, ''],
    ['store', redisUrl ? 'RedisPayoutStore' : 'MemoryPayoutStore', ''],
    ['gateway requests / faults injected', `${sandbox.requests.length} / ${faults}`, `rate ${faultRate}, seed ${seed}`],
    ['webhook deliveries (incl. retries, duplicates)', deliveries, `${chaosSent} extra duplicate or stale notifications`],
    ['webhook answers by HTTP status', [...answers].map(([status, count]) => `${status}:${count}`).join(' '), ''],
    ['creates that needed reconciliation', unknownDuringCreate, ''],
    ['orders held per mchOrderNo (max)', maxOrders, maxOrders === 1 ? 'ok' : 'FAIL: must be 1'],
    ['payouts with no order at the gateway', missingOrders, missingOrders === 0 ? 'ok' : 'FAIL'],
    ['outcomes unknown after reconciliation', unknownAfter, unknownAfter === 0 ? 'ok' : 'FAIL'],
    ['payouts whose events are not exactly one per outcome', wrongEvents, wrongEvents === 0 ? 'ok' : 'FAIL'],
    ['Mexican reversals (2 events each)', reversals, ''],
    ['peak RSS / heap (MiB)', `${(peakRss / 2 ** 20).toFixed(0)} / ${(peakHeap / 2 ** 20).toFixed(0)}`, ''],
    ['duration (s)', ((Date.now() - started) / 1000).toFixed(1), ''],
  ];
  for (const [label, value, note] of rows) console.log(`${label.padEnd(52)} ${String(value).padStart(18)}  ${note}`);
  for (const example of examples) console.log(`  ${example}`);
  const ok = maxOrders === 1 && missingOrders === 0 && unknownAfter === 0 && wrongEvents === 0;
  console.log(ok ? 'soak: PASS' : 'soak: FAIL');
  process.exitCode = ok ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

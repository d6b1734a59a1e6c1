import { PayoutOutcomeUnknownError, type PayoutOrder } from '../../lib';
import {
  SANDBOX_FAULT_MODES,
  samplePayout,
  type SandboxFaultMode,
  type SandboxPayoutInput,
} from '../../lib/testing';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type SandboxHost, startSandboxHost } from '../support/sandbox-host';

/** Forwards each webhook byte for byte to `target` after `delayMs`, so a query can overtake it. */
async function delayingProxy(
  target: string,
  delayMs: number,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      setTimeout(() => {
        const upstream = request(target, { method: 'POST', headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', () => res.writeHead(502).end());
        upstream.end(Buffer.concat(chunks));
      }, delayMs),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/payout/webhook`,
    server,
  };
}

const FINAL = ['SUCCESS', 'FAIL', 'CANCEL'];

/**
 * What a host does with a payout: create it, and while its outcome is unknown, reconcile; when the
 * gateway definitely does not have it, create it again with the same mchOrderNo.
 */
async function payUntilKnown(host: SandboxHost, input: SandboxPayoutInput): Promise<PayoutOrder> {
  let created: PayoutOrder | null = await host.payouts
    .createPayout(input)
    .catch((error: unknown) => {
      if (error instanceof PayoutOutcomeUnknownError) return null;
      throw error;
    });
  const deadline = Date.now() + 15_000;
  while (!created) {
    if (Date.now() > deadline) throw new Error(`${input.mchOrderNo} still unknown after 15 s`);
    await new Promise((r) => setTimeout(r, 25));
    // Inside the re-send window reconcile says "unknown" (it throws); after it, null means "send again".
    const found = await host.payouts
      .reconcile({ mchOrderNo: input.mchOrderNo, currency: input.currency })
      .catch(() => undefined);
    if (found === null) created = await host.payouts.createPayout(input).catch(() => null);
    else if (found) created = found;
  }
  return created;
}

/** Reconciles until the gateway reports a final status (webhooks may be lost). */
async function reconcileUntilFinal(
  host: SandboxHost,
  input: SandboxPayoutInput,
): Promise<PayoutOrder> {
  for (let round = 0; round < 200; round++) {
    const order = await host.payouts
      .reconcile({ mchOrderNo: input.mchOrderNo, currency: input.currency })
      .catch(() => undefined);
    if (order && FINAL.includes(order.orderStatus)) return order;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${input.mchOrderNo} never reached a final status`);
}

/** Modes that need no scripted data; `reply` and `mismatch` have tests of their own. */
const PLAIN_MODES = SANDBOX_FAULT_MODES.filter((mode) => mode !== 'reply' && mode !== 'mismatch');

describe('createPayout under each fault mode alone', () => {
  let host: SandboxHost;
  beforeAll(async () => {
    host = await startSandboxHost({});
  });
  afterAll(() => host.close());

  it.each(PLAIN_MODES)(
    '%s on the create: one order at the gateway and exactly one event',
    async (mode: SandboxFaultMode) => {
      const input = samplePayout('PEN', { mchOrderNo: `F-${mode}` });
      host.sandbox.injectFaults({ mode, count: 1, endpoints: ['/api/payOut'] });
      const order = await payUntilKnown(host, input);
      expect(order.mchOrderNo).toBe(input.mchOrderNo);
      expect(host.sandbox.ordersByMchOrderNo(input.mchOrderNo)).toHaveLength(1);
      await host.sandbox.waitFor(() => host.eventsFor(input.mchOrderNo).length === 1);
      await reconcileUntilFinal(host, input);
      expect(host.eventsFor(input.mchOrderNo).map((e) => e.name)).toEqual(['payout.succeeded']);
    },
  );

  it.each(PLAIN_MODES)(
    '%s on the lookup after a dropped create: still one order, one event',
    async (mode: SandboxFaultMode) => {
      const input = samplePayout('MXN', { mchOrderNo: `L-${mode}` });
      host.sandbox.injectFaults({
        mode: 'drop-after-create',
        count: 1,
        endpoints: ['/api/payOut'],
      });
      host.sandbox.injectFaults({
        mode,
        count: 2,
        endpoints: ['/api/payOutQuery'],
      });
      await payUntilKnown(host, input);
      expect(host.sandbox.ordersByMchOrderNo(input.mchOrderNo)).toHaveLength(1);
      await reconcileUntilFinal(host, input);
      await host.sandbox.waitFor(() => host.eventsFor(input.mchOrderNo).length === 1);
      expect(host.eventsFor(input.mchOrderNo).map((e) => e.name)).toEqual(['payout.succeeded']);
    },
  );

  it('never creates a second order when every create attempt times out after creating', async () => {
    const input = samplePayout('PEN', { mchOrderNo: 'F-all-timeouts' });
    host.sandbox.injectFaults({
      mode: 'timeout-after-create',
      count: 10,
      endpoints: ['/api/payOut'],
    });
    host.sandbox.injectFaults({
      mode: 'timeout',
      count: 10,
      endpoints: ['/api/payOutQuery'],
    });
    const error = await host.payouts.createPayout(input).catch((e) => e);
    expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
    expect(error.mchOrderNo).toBe(input.mchOrderNo);
    expect(host.sandbox.ordersByMchOrderNo(input.mchOrderNo)).toHaveLength(1);
    // Drain the remaining injected faults, then reconcile: the order is found, not re-created.
    const order = await payUntilKnown(host, input);
    expect(order.orderNo).toBe(host.sandbox.ordersByMchOrderNo(input.mchOrderNo)[0].orderNo);
    expect(host.sandbox.ordersByMchOrderNo(input.mchOrderNo)).toHaveLength(1);
  });
});

describe('mixed faults at a seeded rate', () => {
  it('40 payouts with 30% faults on every endpoint: one order each, every outcome known, one event per outcome', async () => {
    const host = await startSandboxHost({
      faults: { rate: 0.3, seed: 20261122 },
    });
    try {
      const inputs = Array.from({ length: 40 }, (_, i) =>
        samplePayout(i % 2 ? 'MXN' : 'PEN', {
          mchOrderNo: `MIX-${i}`,
          remark: i % 8 === 1 ? 'REVERSE' : i % 5 === 0 ? 'FAIL' : 'payout',
        }),
      );
      await Promise.all(inputs.map((input) => payUntilKnown(host, input)));
      const finals = await Promise.all(inputs.map((input) => reconcileUntilFinal(host, input)));
      await host.sandbox.idle(20_000);
      // A reversal may still be on its way after the first final status: reconcile once more.
      await Promise.all(inputs.map((input) => reconcileUntilFinal(host, input)));

      for (const [i, input] of inputs.entries()) {
        expect(host.sandbox.ordersByMchOrderNo(input.mchOrderNo)).toHaveLength(1);
        const names = host
          .eventsFor(input.mchOrderNo)
          .map(
            (e) => `${e.name}${'reversed' in e.payload && e.payload.reversed ? ':reversed' : ''}`,
          );
        const expected =
          input.remark === 'REVERSE'
            ? ['payout.succeeded', 'payout.failed:reversed']
            : [finals[i].orderStatus === 'SUCCESS' ? 'payout.succeeded' : 'payout.failed'];
        expect([input.mchOrderNo, names]).toEqual([input.mchOrderNo, expected]);
      }
      expect(host.sandbox.requests.some((r) => 'fault' in r.response)).toBe(true);
    } finally {
      await host.close();
    }
  });
});

describe('webhooks racing reconciliation', () => {
  let host: SandboxHost;
  beforeAll(async () => {
    host = await startSandboxHost({});
  });
  afterAll(() => host.close());

  it.each([
    ['the webhook first', 'webhook'],
    ['the query first', 'query'],
    ['both at once', 'race'],
  ])('emits once with %s', async (_label, order) => {
    const webhook = `${await host.app.getUrl()}/payout/webhook`.replace('[::1]', '127.0.0.1');
    const proxy = await delayingProxy(webhook, 80);
    try {
      for (let i = 0; i < 10; i++) {
        const input = samplePayout(i % 2 ? 'MXN' : 'PEN', {
          mchOrderNo: `RACE-${order}-${i}`,
          remark: 'HOLD',
          notifyUrl: proxy.url,
        });
        const created = await host.payouts.createPayout(input);
        const settle = () => host.sandbox.settle(created.orderNo, i % 3 ? 'SUCCESS' : 'FAIL');
        const query = () => host.payouts.reconcile({ orderNo: created.orderNo });
        if (order === 'webhook') {
          await settle();
          await query();
        } else if (order === 'query') {
          // The webhook is held 80 ms by the proxy: the query reports the outcome first.
          const delivering = settle();
          await query();
          expect(host.eventsFor(input.mchOrderNo)).toHaveLength(1);
          await delivering;
        } else {
          await Promise.all([
            settle(),
            query(),
            query(),
            host.sandbox.notifyAgain(created.orderNo).catch(() => undefined),
          ]);
        }
        await host.sandbox.waitFor(() => host.eventsFor(input.mchOrderNo).length >= 1);
        await host.sandbox.waitFor(() =>
          host.sandbox.deliveries.some(
            (d) => d.orderNo === created.orderNo && FINAL.includes(d.orderStatus) && d.acknowledged,
          ),
        );
        await host.payouts.reconcile({ orderNo: created.orderNo });
        expect(host.eventsFor(input.mchOrderNo).map((e) => e.name)).toEqual([
          i % 3 ? 'payout.succeeded' : 'payout.failed',
        ]);
      }
    } finally {
      proxy.server.close();
    }
  });

  it('emits a Mexican reversal once whether the query or the second callback reports it', async () => {
    const input = samplePayout('MXN', {
      mchOrderNo: 'RACE-REV',
      remark: 'HOLD',
    });
    const created = await host.payouts.createPayout(input);
    await host.sandbox.settle(created.orderNo, 'SUCCESS');
    await host.sandbox.waitFor(() => host.eventsFor(input.mchOrderNo).length === 1);
    await Promise.all([
      host.sandbox.reverse(created.orderNo, 'ACCOUNT_CANCEL'),
      host.payouts.reconcile({ orderNo: created.orderNo }),
    ]);
    await host.payouts.reconcile({ orderNo: created.orderNo });
    await host.sandbox.waitFor(() => host.eventsFor(input.mchOrderNo).length === 2);
    await host.sandbox.idle(5000);
    expect(
      host
        .eventsFor(input.mchOrderNo)
        .map((e) => [e.name, (e.payload as { reversed?: boolean }).reversed ?? null]),
    ).toEqual([
      ['payout.succeeded', null],
      ['payout.failed', true],
    ]);
  });
});

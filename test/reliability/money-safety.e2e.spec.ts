import { MemoryPayoutStore, PayoutModule, PayoutOutcomeUnknownError } from '../../lib';
import { postSignedNotification, samplePayout, waitFor } from '../../lib/testing';
import { startHostApp } from '../support/host-app';
import { deliver, notification } from '../support/notifications';
import { type SandboxHost, startSandboxHost } from '../support/sandbox-host';

const ONE_ACCOUNT = {
  merchantId: '1003001',
  apiKey: 'one-account-key-8c1d',
  currencies: ['PEN' as const, 'MXN' as const],
};

describe('a gateway that commits late and does not dedupe mchOrderNo (rule 3)', () => {
  let host: SandboxHost | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  it('sends one payOut for one createPayout, ends unknown, and the late order is found by reconcile: one order, one event', async () => {
    host = await startSandboxHost(
      { dedupeMchOrderNo: false, lateCommitMs: 800 },
      { timeoutMs: 300, resendWindowMs: 60_000 },
    );
    const input = samplePayout('PEN', { mchOrderNo: 'LATE-1' });
    host.sandbox.injectFaults({
      mode: 'late-commit',
      count: 1,
      endpoints: ['payOut'],
    });
    const error = await host.payouts.createPayout(input).catch((e) => e);
    expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
    const payOuts = () =>
      host!.sandbox.requests.filter(
        (r) =>
          r.endpoint === '/api/payOut' &&
          (r.json as { mchOrderNo?: string }).mchOrderNo === 'LATE-1',
      );
    expect(payOuts()).toHaveLength(1);

    // Calling again inside the window sends nothing either.
    await expect(host.payouts.createPayout(input)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    expect(payOuts()).toHaveLength(1);

    await host.sandbox.waitFor(
      () => host!.sandbox.ordersByMchOrderNo('LATE-1').length === 1,
      3_000,
    );
    const order = await host.payouts.reconcile({ mchOrderNo: 'LATE-1' });
    expect(order).toMatchObject({ mchOrderNo: 'LATE-1', amount: '150.50' });
    await host.sandbox.waitFor(() => host!.eventsFor('LATE-1').length === 1, 5_000);
    await host.sandbox.idle(10_000);
    expect(host.sandbox.ordersByMchOrderNo('LATE-1')).toHaveLength(1);
    expect(host.eventsFor('LATE-1').map((e) => e.name)).toEqual(['payout.succeeded']);
  });

  it('shows why the window exists: set below the commit delay, the same gateway ends with two orders', async () => {
    host = await startSandboxHost(
      { dedupeMchOrderNo: false, lateCommitMs: 800 },
      { timeoutMs: 300, resendWindowMs: 0 },
    );
    const input = samplePayout('PEN', { mchOrderNo: 'LATE-2' });
    host.sandbox.injectFaults({
      mode: 'late-commit',
      count: 1,
      endpoints: ['payOut'],
    });
    await host.payouts.createPayout(input);
    await host.sandbox.waitFor(
      () => host!.sandbox.ordersByMchOrderNo('LATE-2').length === 2,
      3_000,
    );
  });
});

describe('one account serving both markets, webhook before the create answer (rule 6)', () => {
  let host: SandboxHost;
  beforeAll(async () => {
    host = await startSandboxHost({ accounts: [ONE_ACCOUNT] }, {});
    // The account serves both currencies: the market of an order comes only from its create.
    host.listener.anomalies.length = 0;
  });
  afterAll(() => host.close());

  it('keeps the PEN scale and refuses a Mexican-style reversal for a PEN order', async () => {
    const input = samplePayout('PEN', { mchOrderNo: 'ONE-PEN' });
    host.sandbox.injectFaults({
      mode: 'notify-before-answer',
      count: 1,
      endpoints: ['payOut'],
    });
    const created = await host.payouts.createPayout(input);
    await host.sandbox.waitFor(() => host.eventsFor('ONE-PEN').length === 1);
    expect(host.eventsFor('ONE-PEN')[0]).toMatchObject({
      name: 'payout.succeeded',
      payload: { amount: '150.50', fee: '1.50' },
    });

    const sandboxOrder = host.sandbox.order(created.orderNo)!;
    const url = `${await host.app.getUrl()}/payout/webhook`.replace('[::1]', '127.0.0.1');
    const fail = {
      ...JSON.parse(host.sandbox.deliveries.find((d) => d.orderNo === created.orderNo)!.body),
      orderStatus: 'FAIL',
      resultDesc: 'ACCOUNT_NOT_EXIST',
    };
    expect(sandboxOrder.currency).toBe('PEN');
    const response = await postSignedNotification(url, fail, ONE_ACCOUNT);
    expect(response).toMatchObject({ status: 200, body: 'SUCCESS' });
    expect(host.eventsFor('ONE-PEN').map((e) => e.name)).toEqual(['payout.succeeded']);
    expect(host.listener.anomalies.map((a) => [a.kind, a.previousStatus, a.status])).toEqual([
      ['transition', 'SUCCESS', 'FAIL'],
    ]);
  });

  it('still emits the SPEI return of an MXN order created through the module', async () => {
    const input = samplePayout('MXN', { mchOrderNo: 'ONE-MXN' });
    host.sandbox.injectFaults({
      mode: 'notify-before-answer',
      count: 1,
      endpoints: ['payOut'],
    });
    const created = await host.payouts.createPayout(input);
    await host.sandbox.waitFor(() => host.eventsFor('ONE-MXN').length === 1);
    await host.sandbox.reverse(created.orderNo);
    await host.sandbox.waitFor(() => host.eventsFor('ONE-MXN').length === 2);
    expect(
      host
        .eventsFor('ONE-MXN')
        .map((e) => [
          e.name,
          e.payload.amount,
          'reversed' in e.payload ? e.payload.reversed : undefined,
        ]),
    ).toEqual([
      ['payout.succeeded', '1500', undefined],
      ['payout.failed', '1500', true],
    ]);
  });
});

describe('a full MemoryPayoutStore never drops a live claim (rule 10)', () => {
  it('emits once when a copy of a notification arrives while its listener runs and the store overflows', async () => {
    const { app, url, listener } = await startHostApp(
      'express',
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        merchantId: '1002001',
        apiKey: 'pen-test-key-7f3a9c',
        store: new MemoryPayoutStore({ maxEntries: 2 }),
      }),
    );
    try {
      const webhook = `${url}/payout/webhook`;
      listener.delayMs = 1500;
      const slow = notification();
      const first = deliver(webhook, slow);
      // The first listener call is running (its claim is live) before the store overflows.
      await waitFor(() => listener.inFlight === 1);
      // Six other orders overflow the store (2 entries) while the first listener still runs.
      listener.delayMs = 0;
      const others = await Promise.all(
        Array.from({ length: 6 }, () => deliver(webhook, notification())),
      );
      const copy = deliver(webhook, slow);
      const answers = await Promise.all([first, copy]);
      expect([...answers, ...others].map((a) => a.status)).toEqual(Array(8).fill(200));
      expect(listener.events.filter((e) => e.payload.orderNo === slow.orderNo)).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});

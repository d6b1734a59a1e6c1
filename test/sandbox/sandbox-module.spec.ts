import type { INestApplication } from '@nestjs/common';
import { CashyApiError, PayoutModule, PayoutService } from '../../lib';
import { CashySandbox, samplePayout } from '../../lib/testing';
import { startHostApp, type RecordingListener } from '../support/host-app';

// The sandbox behind the real module: client, signing, lookups after faults, webhook and events.
describe('CashySandbox behind PayoutModule', () => {
  let sandbox: CashySandbox;
  let app: INestApplication;
  let listener: RecordingListener;
  let payouts: PayoutService;
  let notifyUrl: string;

  beforeAll(async () => {
    sandbox = new CashySandbox({
      processingMs: 5,
      payingMs: 10,
      timeScale: 0.001,
    });
    await sandbox.start();
    const host = await startHostApp(
      'express',
      PayoutModule.forRoot({
        ...sandbox.moduleOptions(),
        timeoutMs: 300,
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      }),
    );
    app = host.app;
    listener = host.listener;
    payouts = app.get(PayoutService);
    notifyUrl = `${host.url}/payout/webhook`;
  });
  afterAll(async () => {
    await sandbox.stop();
    await app.close();
  });

  const eventsOf = (mchOrderNo: string) =>
    listener.events.filter((e) => e.payload.mchOrderNo === mchOrderNo);

  it('pays out and delivers one payout.succeeded through the verified webhook', async () => {
    const input = samplePayout('PEN', { notifyUrl });
    const order = await payouts.createPayout(input);
    expect(order).toMatchObject({
      merchantId: '1002001',
      mchOrderNo: input.mchOrderNo,
      amount: '150.50',
      fee: '1.50',
      orderStatus: 'PROCESSING',
    });
    await sandbox.waitFor(() => eventsOf(input.mchOrderNo).length === 1);
    expect(eventsOf(input.mchOrderNo)[0]).toMatchObject({
      name: 'payout.succeeded',
      payload: { orderNo: order.orderNo, amount: '150.50', fee: '1.50' },
    });
    const deliveries = await sandbox.waitFor(() => {
      const mine = sandbox.deliveries.filter((d) => d.orderNo === order.orderNo);
      return mine.length === 2 && mine;
    });
    expect(deliveries.every((d) => d.acknowledged)).toBe(true);
  });

  it('reports a Mexican SPEI return as payout.failed with reversed: true', async () => {
    const input = samplePayout('MXN', { notifyUrl, remark: 'REVERSE' });
    await payouts.createPayout(input);
    await sandbox.waitFor(() => eventsOf(input.mchOrderNo).length === 2);
    expect(eventsOf(input.mchOrderNo).map((e) => e.name)).toEqual([
      'payout.succeeded',
      'payout.failed',
    ]);
    expect(eventsOf(input.mchOrderNo)[1].payload).toMatchObject({
      status: 'FAIL',
      reason: 'ACCOUNT_NOT_EXIST',
      reversed: true,
    });
  });

  it('finds the order by mchOrderNo after the create was dropped, and never creates a second one', async () => {
    sandbox.injectFaults({
      mode: 'drop-after-create',
      count: 1,
      endpoints: ['payOut'],
    });
    const input = samplePayout('PEN', { notifyUrl, remark: 'HOLD' });
    const order = await payouts.createPayout(input);
    expect(sandbox.ordersByMchOrderNo(input.mchOrderNo)).toHaveLength(1);
    expect(order.orderNo).toBe(sandbox.ordersByMchOrderNo(input.mchOrderNo)[0].orderNo);
  });

  it('passes queries, bank lists and balances through', async () => {
    await expect(
      payouts.queryPayout({ mchOrderNo: 'never-sent', currency: 'PEN' }),
    ).rejects.toMatchObject({ code: 400, msg: 'Order_not_exist' });
    await expect(
      payouts.queryPayout({ mchOrderNo: 'never-sent', currency: 'PEN' }),
    ).rejects.toBeInstanceOf(CashyApiError);
    expect(await payouts.listBanks({ currency: 'MXN' })).toContainEqual({
      bankId: 24,
      bankCode: '90646',
      bankName: 'STP',
    });
    expect(await payouts.getBalance({ currency: 'PEN' })).toMatchObject({
      merchantId: '1002001',
      unBalance: '0.00',
    });
  });
});

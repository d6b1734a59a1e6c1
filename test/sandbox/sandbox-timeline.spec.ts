import { verifyCashySignature } from '../../lib/client/cashy-signature';
import {
  buildNotification,
  CashySandbox,
  samplePayout,
  type SandboxDeliveryRecord,
} from '../../lib/testing';
import { call, startReceiver, startSandbox, type Receiver } from './sandbox-test.helpers';

describe('CashySandbox outcomes and notifications', () => {
  let sandbox: CashySandbox;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = await startSandbox({ processingMs: 10, payingMs: 20 });
  });
  afterAll(async () => {
    await sandbox.stop();
    await receiver.close();
  });

  async function create(currency: 'PEN' | 'MXN', remark: string): Promise<string> {
    const result = await call(
      sandbox,
      '/api/payOut',
      samplePayout(currency, { remark, notifyUrl: receiver.url }),
      { currency },
    );
    expect(result.json.code).toBe(200);
    return result.json.data.orderNo;
  }
  const deliveriesOf = (orderNo: string) => sandbox.deliveries.filter((d) => d.orderNo === orderNo);
  const statuses = (orderNo: string) => deliveriesOf(orderNo).map((d) => d.orderStatus);
  const untilStatuses = (orderNo: string, count: number) =>
    sandbox.waitFor(() => deliveriesOf(orderNo).length >= count && deliveriesOf(orderNo));

  it('pays a plain remark: PROCESSING, then PAYING, then SUCCESS, each notified and signed', async () => {
    const orderNo = await create('PEN', 'payout');
    await untilStatuses(orderNo, 2);
    const order = sandbox.order(orderNo)!;
    expect(order.history.map((h) => h.orderStatus)).toEqual(['PROCESSING', 'PAYING', 'SUCCESS']);
    expect(order.history[1].at - order.history[0].at).toBeGreaterThanOrEqual(9);
    expect(statuses(orderNo)).toEqual(['PAYING', 'SUCCESS']);

    const [paying, success] = deliveriesOf(orderNo);
    expect(paying.acknowledged && success.acknowledged).toBe(true);
    expect(JSON.parse(paying.body)).toEqual({
      orderStatus: 'PAYING',
      amount: '150.50',
      fee: null,
      mchOrderNo: order.mchOrderNo,
      merchantId: '1002001',
      orderNo,
      completionTime: null,
      resultDesc: null,
    });
    expect(success.body).toBe(
      buildNotification({
        orderStatus: 'SUCCESS',
        amount: '150.50',
        fee: '1.50',
        mchOrderNo: order.mchOrderNo,
        merchantId: '1002001',
        orderNo,
        completionTime: order.completionTime,
        resultDesc: 'SUCCESS',
      }),
    );
    expect(Object.keys(JSON.parse(success.body))).toEqual([
      'orderStatus',
      'amount',
      'fee',
      'mchOrderNo',
      'merchantId',
      'orderNo',
      'completionTime',
      'resultDesc',
    ]);

    // What the receiver saw: the same bytes, Cashy's headers, an upper-case MD5 over the exact body.
    const seen = receiver.received.find((r) => r.body === success.body)!;
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers.merchantid).toBe('1002001');
    expect(seen.headers.sign).toMatch(/^[0-9A-F]{32}$/);
    expect(verifyCashySignature(Buffer.from(seen.body), 'sandbox-pen-key', seen.headers.sign)).toBe(
      true,
    );
    expect(success).toMatchObject({
      attempt: 1,
      chain: expect.any(Number),
      url: receiver.url,
      httpStatus: 200,
      responseBody: 'SUCCESS',
      mchOrderNo: order.mchOrderNo,
    });
  });

  it('FAIL with the default code and with a code in the remark', async () => {
    const plain = await create('PEN', 'fail');
    const coded = await create('MXN', 'FAIL account_blocked');
    await untilStatuses(plain, 2);
    await untilStatuses(coded, 2);
    expect(statuses(plain)).toEqual(['PAYING', 'FAIL']);
    expect(JSON.parse(deliveriesOf(plain)[1].body)).toMatchObject({
      orderStatus: 'FAIL',
      resultDesc: 'ACCOUNT_NOT_EXIST',
      fee: null,
      completionTime: null,
    });
    expect(JSON.parse(deliveriesOf(coded)[1].body)).toMatchObject({
      orderStatus: 'FAIL',
      resultDesc: 'ACCOUNT_BLOCKED',
      amount: '1500',
    });
  });

  it('CANCEL with COMPLIANCE_REJECT, or the code given', async () => {
    const orderNo = await create('PEN', 'Cancel');
    const coded = await create('PEN', 'CANCEL REJECT_BY_PLD');
    await untilStatuses(orderNo, 2);
    await untilStatuses(coded, 2);
    expect(statuses(orderNo)).toEqual(['PAYING', 'CANCEL']);
    expect(sandbox.order(orderNo)).toMatchObject({
      orderStatus: 'CANCEL',
      resultDesc: 'COMPLIANCE_REJECT',
    });
    expect(sandbox.order(coded)).toMatchObject({
      orderStatus: 'CANCEL',
      resultDesc: 'REJECT_BY_PLD',
    });
  });

  it('REVERSE in Mexico: SUCCESS, then after the ack a second callback FAIL, and the money comes back', async () => {
    const before = sandbox.account('MXN').balance;
    const orderNo = await create('MXN', 'reverse');
    await untilStatuses(orderNo, 3);
    expect(statuses(orderNo)).toEqual(['PAYING', 'SUCCESS', 'FAIL']);
    const [, success, reversal] = deliveriesOf(orderNo);
    expect(JSON.parse(reversal.body)).toMatchObject({
      orderStatus: 'FAIL',
      resultDesc: 'ACCOUNT_NOT_EXIST',
      fee: null,
      completionTime: null,
    });
    expect(reversal.at - (success.at + success.durationMs)).toBeGreaterThanOrEqual(15);
    expect(sandbox.order(orderNo)).toMatchObject({
      orderStatus: 'FAIL',
      reversed: true,
    });
    expect(sandbox.account('MXN').balance).toBe(before);
  });

  it('REVERSE in Peru is a plain SUCCESS (no SPEI return)', async () => {
    const orderNo = await create('PEN', 'REVERSE');
    await untilStatuses(orderNo, 2);
    await sandbox.idle();
    expect(statuses(orderNo)).toEqual(['PAYING', 'SUCCESS']);
  });

  it('HOLD stays PROCESSING until settle(), which notifies the final status', async () => {
    const orderNo = await create('MXN', 'hold');
    await new Promise((r) => setTimeout(r, 60));
    await sandbox.idle();
    expect(sandbox.order(orderNo)!.orderStatus).toBe('PROCESSING');
    expect(deliveriesOf(orderNo)).toHaveLength(0);
    await sandbox.settle(orderNo, 'FAIL', 'CLABE_INSTITUTION_NOT_MATCH');
    expect(statuses(orderNo)).toEqual(['FAIL']); // settle resolves after the first attempt is recorded
    expect(JSON.parse(deliveriesOf(orderNo)[0].body).resultDesc).toBe(
      'CLABE_INSTITUTION_NOT_MATCH',
    );
    await expect(sandbox.settle(orderNo, 'SUCCESS')).rejects.toThrow(/already FAIL/);
    await expect(sandbox.settle('PAYOUT404', 'SUCCESS')).rejects.toThrow(/no order/);
  });

  it('reverse() returns a SUCCESS MXN order and refuses anything else', async () => {
    const orderNo = await create('MXN', 'HOLD');
    await expect(sandbox.reverse(orderNo)).rejects.toThrow(/only a SUCCESS/);
    await sandbox.settle(orderNo, 'SUCCESS');
    await sandbox.reverse(orderNo, 'ACCOUNT_CANCEL');
    expect(statuses(orderNo)).toEqual(['SUCCESS', 'FAIL']);
    expect(sandbox.order(orderNo)!.history.map((h) => h.resultDesc)).toEqual([
      null,
      'SUCCESS',
      'ACCOUNT_CANCEL',
    ]);
    await expect(sandbox.reverse(orderNo)).rejects.toThrow(/only a SUCCESS/);
    const peru = await create('PEN', 'HOLD');
    await sandbox.settle(peru, 'SUCCESS');
    await expect(sandbox.reverse(peru)).rejects.toThrow(/only MXN/);
  });

  it('notifyAgain() sends the same bytes again as a new chain', async () => {
    const orderNo = await create('PEN', 'HOLD');
    await sandbox.settle(orderNo, 'SUCCESS');
    await sandbox.notifyAgain(orderNo);
    const [first, again] = deliveriesOf(orderNo);
    expect(again.body).toBe(first.body);
    expect(again.sign).toBe(first.sign);
    expect(again.chain).not.toBe(first.chain);
    expect(again.attempt).toBe(1);
  });

  it('with autoSettle false, every order waits for settle()', async () => {
    const manual = await startSandbox({
      autoSettle: false,
      processingMs: 1,
      payingMs: 1,
    });
    try {
      const result = await call(
        manual,
        '/api/payOut',
        samplePayout('PEN', { notifyUrl: receiver.url, remark: 'payout' }),
      );
      await new Promise((r) => setTimeout(r, 30));
      await manual.idle();
      expect(manual.order(result.json.data.orderNo)!.orderStatus).toBe('PROCESSING');
      expect(manual.deliveries).toHaveLength(0);
    } finally {
      await manual.stop();
    }
  });

  it('keeps delivery chains independent: a slow PAYING does not hold back the final status', async () => {
    const slow = await startReceiver((_n, body) =>
      JSON.parse(body).orderStatus === 'PAYING' ? 'hang' : { body: 'SUCCESS' },
    );
    const independent = await startSandbox({ notifyTimeoutMs: 300 });
    try {
      const result = await call(
        independent,
        '/api/payOut',
        samplePayout('PEN', { notifyUrl: slow.url }),
      );
      const orderNo = result.json.data.orderNo;
      const success = await independent.waitFor(() =>
        independent.deliveries.find((d) => d.orderNo === orderNo && d.orderStatus === 'SUCCESS'),
      );
      expect(success.acknowledged).toBe(true);
      const paying = await independent.waitFor(() =>
        independent.deliveries.find((d: SandboxDeliveryRecord) => d.orderStatus === 'PAYING'),
      );
      expect(paying).toMatchObject({
        acknowledged: false,
        httpStatus: undefined,
        error: expect.stringMatching(/timeout/),
      });
      expect(paying.at).toBeLessThan(success.at);
    } finally {
      await independent.stop();
      await slow.close();
    }
  });

  it('waitFor rejects with a clear message on timeout', async () => {
    await expect(sandbox.waitFor(() => false, 30)).rejects.toThrow(
      /waitFor: condition not met within 30 ms: \(\) => false/,
    );
  });
});

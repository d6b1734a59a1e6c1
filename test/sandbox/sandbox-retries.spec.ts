import { samplePayout, type CashySandbox } from '../../lib/testing';
import { SANDBOX_RETRY_MINUTES } from '../../lib/testing/sandbox-notifier';
import { call, startReceiver, startSandbox } from './sandbox-test.helpers';

/** Creates a HOLD order and settles it, so exactly one delivery chain runs. */
async function settledOrder(sandbox: CashySandbox, notifyUrl: string): Promise<string> {
  const result = await call(
    sandbox,
    '/api/payOut',
    samplePayout('PEN', { notifyUrl, remark: 'HOLD' }),
  );
  const orderNo: string = result.json.data.orderNo;
  await sandbox.settle(orderNo, 'SUCCESS');
  return orderNo;
}

describe('CashySandbox webhook retries', () => {
  it('retries after 1, 2, 4 scaled minutes until the answer is exactly SUCCESS', async () => {
    const receiver = await startReceiver((n) => ({
      body: n <= 3 ? 'FAIL' : 'SUCCESS',
    }));
    const sandbox = await startSandbox({ timeScale: 0.001 }); // one minute = 60 ms
    try {
      const orderNo = await settledOrder(sandbox, receiver.url);
      await sandbox.waitFor(() => sandbox.deliveries.some((d) => d.acknowledged));
      await sandbox.idle();
      const attempts = sandbox.deliveries.filter((d) => d.orderNo === orderNo);
      expect(attempts.map((d) => d.attempt)).toEqual([1, 2, 3, 4]);
      expect(attempts.map((d) => d.acknowledged)).toEqual([false, false, false, true]);
      expect(attempts.map((d) => d.responseBody)).toEqual(['FAIL', 'FAIL', 'FAIL', 'SUCCESS']);
      expect(new Set(attempts.map((d) => d.body)).size).toBe(1); // the same bytes every time
      const gaps = attempts.slice(1).map((d, i) => d.at - attempts[i].at);
      [60, 120, 240].forEach((expected, i) => {
        expect(gaps[i]).toBeGreaterThanOrEqual(expected - 2);
        expect(gaps[i]).toBeLessThan(expected + 150);
      });
      expect(gaps[0]).toBeLessThan(gaps[1]);
      expect(gaps[1]).toBeLessThan(gaps[2]);
      expect(receiver.received).toHaveLength(4);
    } finally {
      await sandbox.stop();
      await receiver.close();
    }
  });

  it('gives up after 11 attempts (the first and 10 retries) when nobody acknowledges', async () => {
    const receiver = await startReceiver(() => ({ status: 200, body: 'OK' }));
    const sandbox = await startSandbox({ timeScale: 0.00002 }); // the whole 1023-minute schedule in ~1.2 s
    try {
      const orderNo = await settledOrder(sandbox, receiver.url);
      await sandbox.idle(10_000);
      const attempts = sandbox.deliveries.filter((d) => d.orderNo === orderNo);
      expect(attempts).toHaveLength(SANDBOX_RETRY_MINUTES.length + 1);
      expect(attempts).toHaveLength(11);
      expect(attempts.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(
        attempts.every((d) => !d.acknowledged && d.httpStatus === 200 && d.responseBody === 'OK'),
      ).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(receiver.received).toHaveLength(11);
    } finally {
      await sandbox.stop();
      await receiver.close();
    }
  });

  it('counts only the exact body SUCCESS as an acknowledgement', async () => {
    const answers = ['SUCCESS\n', ' SUCCESS', '"SUCCESS"', 'success', '{"code":200}', 'SUCCESS'];
    const receiver = await startReceiver((n) => ({
      body: answers[n - 1] ?? 'SUCCESS',
    }));
    const sandbox = await startSandbox({ timeScale: 0.00005 });
    try {
      const orderNo = await settledOrder(sandbox, receiver.url);
      await sandbox.idle(10_000);
      const attempts = sandbox.deliveries.filter((d) => d.orderNo === orderNo);
      expect(attempts.map((d) => d.responseBody)).toEqual(answers);
      expect(attempts.map((d) => d.acknowledged)).toEqual([
        false,
        false,
        false,
        false,
        false,
        true,
      ]);
    } finally {
      await sandbox.stop();
      await receiver.close();
    }
  });

  it('records network errors: no status, the error text, then retries', async () => {
    // Port 1 (tcpmux) has no listener on these machines. A just-closed receiver's port would not do:
    // the OS may hand it to the sandbox itself, which would then answer its own notifications.
    const deadUrl = 'http://127.0.0.1:1/payout/webhook';
    const sandbox = await startSandbox({ timeScale: 0.00002 });
    try {
      const orderNo = await settledOrder(sandbox, deadUrl);
      await sandbox.waitFor(
        () => sandbox.deliveries.filter((d) => d.orderNo === orderNo).length >= 2,
      );
      const [first] = sandbox.deliveries;
      expect(first).toMatchObject({
        attempt: 1,
        httpStatus: undefined,
        responseBody: '',
        acknowledged: false,
        error: expect.stringMatching(/ECONNREFUSED/),
      });
    } finally {
      await sandbox.stop();
    }
  });
});

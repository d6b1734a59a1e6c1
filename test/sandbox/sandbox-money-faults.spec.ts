import {
  CashySandbox,
  SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
  SANDBOX_FAULT_MODES,
  samplePayout,
  type SandboxFaultMode,
  type SandboxFaultReply,
  type SandboxFaultSpec,
} from '../../lib/testing';
import { SANDBOX_DEFAULTS } from '../../lib/testing/sandbox-options.resolver';
import { call, startReceiver, startSandbox, type Receiver } from './sandbox-test.helpers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a request that is expected never to be answered; the promise is kept from failing the test. */
function hanging(promise: Promise<unknown>): Promise<unknown> {
  promise.catch(() => undefined);
  return promise;
}

describe('CashySandbox money-safety faults', () => {
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  const input = (overrides: Parameters<typeof samplePayout>[1] = {}) =>
    samplePayout('PEN', { notifyUrl: receiver.url, ...overrides });
  const faultOf = (sandbox: CashySandbox, index = -1) =>
    sandbox.requests.at(index)!.response as SandboxFaultReply;

  describe('the mode list and option checks', () => {
    it('lists every mode; random faults default to the six failure modes', () => {
      expect(SANDBOX_FAULT_MODES).toEqual([
        'timeout',
        'timeout-after-create',
        'drop-after-create',
        'http-500',
        'system-busy',
        'system-error',
        'late-commit',
        'reply',
        'notify-before-answer',
        'mismatch',
      ]);
      expect(SANDBOX_DEFAULT_RANDOM_FAULT_MODES).toEqual(SANDBOX_FAULT_MODES.slice(0, 6));
      expect(SANDBOX_DEFAULTS.lateCommitMs).toBe(800);
    });

    it('names a bad option', () => {
      expect(() => new CashySandbox({ dedupeMchOrderNo: 'no' as unknown as boolean })).toThrow(
        'CashySandbox: dedupeMchOrderNo must be a boolean',
      );
      expect(() => new CashySandbox({ lateCommitMs: -1 })).toThrow(
        'CashySandbox: lateCommitMs must be a non-negative number',
      );
      expect(() => new CashySandbox({ lateCommitMs: Number.NaN })).toThrow(/lateCommitMs/);
    });

    it('refuses reply and mismatch as random faults, accepts late-commit and notify-before-answer', () => {
      for (const mode of ['reply', 'mismatch'] as const) {
        expect(
          () =>
            new CashySandbox({
              faults: { rate: 0.5, modes: ['timeout', mode] },
            }),
        ).toThrow(
          new RegExp(`faults\\.modes entry "${mode}" cannot be drawn at random .*injectFaults`),
        );
      }
      expect(
        () =>
          new CashySandbox({
            faults: {
              rate: 0.5,
              modes: ['late-commit', 'notify-before-answer'],
            },
          }),
      ).not.toThrow();
    });

    it('checks the spec fields of injectFaults when injecting', () => {
      const sandbox = new CashySandbox();
      const inject = (spec: Partial<SandboxFaultSpec>) => () =>
        sandbox.injectFaults({ count: 1, ...spec } as SandboxFaultSpec);
      expect(inject({ mode: 'reply' })).toThrow(/injectFaults reply is required for mode "reply"/);
      expect(inject({ mode: 'reply', reply: { body: 'x', httpStatus: 42 } })).toThrow(
        /reply\.httpStatus must be a whole number from 100 to 599/,
      );
      expect(inject({ mode: 'reply', reply: { body: 12 as unknown as string } })).toThrow(
        /reply\.body must be a string or a JSON-serializable object/,
      );
      expect(inject({ mode: 'reply', reply: { body: { n: 1n } } })).toThrow(
        /reply\.body must be a string or a JSON-serializable object/,
      );
      expect(
        inject({
          mode: 'reply',
          reply: { body: '', contentType: 'text/plain\r\nX-Evil: 1' },
        }),
      ).toThrow(/reply\.contentType/);
      expect(
        inject({
          mode: 'reply',
          reply: { body: '' },
          process: 'yes' as unknown as boolean,
        }),
      ).toThrow(/process must be a boolean/);
      expect(inject({ mode: 'timeout', reply: { body: '' } })).toThrow(
        /reply is only for mode "reply", not "timeout"/,
      );
      expect(inject({ mode: 'system-error', process: true })).toThrow(
        /process is only for mode "reply"/,
      );
      expect(inject({ mode: 'mismatch' })).toThrow(/mismatch is required for mode "mismatch"/);
      expect(inject({ mode: 'mismatch', mismatch: {} })).toThrow(
        /mismatch must set at least one of amount, mchOrderNo, orderStatus, orderNo/,
      );
      expect(inject({ mode: 'mismatch', mismatch: { status: 'SUCCESS' } as object })).toThrow(
        /mismatch\.status is not a field it can change/,
      );
      expect(
        inject({
          mode: 'mismatch',
          mismatch: { amount: 10 as unknown as string },
        }),
      ).toThrow(/mismatch\.amount must be a string/);
      expect(inject({ mode: 'reply', mismatch: { amount: '1' } })).toThrow(
        /mismatch is only for mode "mismatch"/,
      );
      expect(
        inject({
          mode: 'reply',
          reply: { body: { code: 500 } },
          process: true,
        }),
      ).not.toThrow();
    });
  });

  describe('dedupeMchOrderNo: false', () => {
    let sandbox: CashySandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({
        autoSettle: false,
        dedupeMchOrderNo: false,
      });
    });
    afterAll(() => sandbox.stop());

    it('creates another order for a repeated mchOrderNo; queries by mchOrderNo answer the oldest', async () => {
      const payout = input();
      const first = await call(sandbox, '/api/payOut', payout);
      const second = await call(sandbox, '/api/payOut', {
        ...payout,
        amount: '20.00',
      });
      expect([first.json.code, second.json.code]).toEqual([200, 200]);
      expect(second.json.data.orderNo).not.toBe(first.json.data.orderNo);

      const orders = sandbox.ordersByMchOrderNo(payout.mchOrderNo);
      expect(orders.map((o) => [o.orderNo, o.amount])).toEqual([
        [first.json.data.orderNo, '150.50'],
        [second.json.data.orderNo, '20.00'],
      ]);
      const byMch = await call(sandbox, '/api/payOutQuery', {
        mchOrderNo: payout.mchOrderNo,
      });
      expect(byMch.json.data).toMatchObject({
        orderNo: first.json.data.orderNo,
        amount: '150.50',
      });
      const byOrderNo = await call(sandbox, '/api/payOutQuery', {
        orderNo: second.json.data.orderNo,
        mchOrderNo: payout.mchOrderNo,
      });
      expect(byOrderNo.json.data).toMatchObject({
        orderNo: second.json.data.orderNo,
        amount: '20.00',
      });

      // Both are real orders: each settles and debits the balance on its own.
      const before = sandbox.account('PEN').balance;
      await sandbox.settle(first.json.data.orderNo, 'SUCCESS');
      await sandbox.settle(second.json.data.orderNo, 'SUCCESS');
      expect(Number(before) - Number(sandbox.account('PEN').balance)).toBeCloseTo(
        150.5 + 1.5 + 20 + 1.5,
        2,
      );
    });

    it('is on by default', async () => {
      const strict = await startSandbox({ autoSettle: false });
      try {
        const payout = input();
        await call(strict, '/api/payOut', payout);
        expect((await call(strict, '/api/payOut', payout)).json.msg).toBe(
          'Params_mchOrderNo_repeat',
        );
        expect(strict.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(1);
      } finally {
        await strict.stop();
      }
    });
  });

  describe('late-commit', () => {
    const lateCommitMs = 250;
    let sandbox: CashySandbox;
    beforeEach(async () => {
      sandbox = await startSandbox({ lateCommitMs });
    });
    afterEach(() => sandbox.stop());

    it('answers nothing; the order appears lateCommitMs after the request arrived, with its timeline', async () => {
      sandbox.injectFaults({
        mode: 'late-commit',
        count: 1,
        endpoints: ['payOut'],
      });
      const payout = input();
      const create = hanging(
        call(sandbox, '/api/payOut', payout, {
          signal: AbortSignal.timeout(lateCommitMs + 300),
        }),
      );
      await sandbox.waitFor(() => sandbox.requests.length === 1);
      const arrived = sandbox.requests[0].at;

      const early = await call(sandbox, '/api/payOutQuery', {
        mchOrderNo: payout.mchOrderNo,
      });
      expect(early.json).toEqual({ code: 400, msg: 'Order_not_exist' });
      expect(Date.now() - arrived).toBeLessThan(lateCommitMs);
      expect(sandbox.requests[0].response).toEqual({ fault: 'late-commit' });

      const [order] = await sandbox.waitFor(
        () =>
          sandbox.ordersByMchOrderNo(payout.mchOrderNo).length === 1 &&
          sandbox.ordersByMchOrderNo(payout.mchOrderNo),
      );
      expect(order.createdAt - arrived).toBeGreaterThanOrEqual(lateCommitMs - 2);
      const late = await call(sandbox, '/api/payOutQuery', {
        mchOrderNo: payout.mchOrderNo,
      });
      expect(late.json.data).toMatchObject({
        orderNo: order.orderNo,
        amount: '150.50',
      });
      // What the commit would have answered is recorded once it happened.
      const withheld = (sandbox.requests[0].response as SandboxFaultReply).withheld!;
      expect(JSON.parse(withheld.body).data).toMatchObject({
        orderNo: order.orderNo,
        orderStatus: 'PROCESSING',
      });

      // The caller never hears back.
      await expect(create).rejects.toMatchObject({ name: 'TimeoutError' });
      // The timeline runs as for any create.
      await sandbox.waitFor(() =>
        sandbox.deliveries.find(
          (d) => d.orderNo === order.orderNo && d.orderStatus === 'SUCCESS' && d.acknowledged,
        ),
      );
      expect(sandbox.order(order.orderNo)!.history.map((e) => e.orderStatus)).toEqual([
        'PROCESSING',
        'PAYING',
        'SUCCESS',
      ]);
    });

    it('creates nothing when the check fails (a repeat), and nothing when the mchOrderNo is taken before the commit', async () => {
      const payout = input();
      const created = await call(sandbox, '/api/payOut', payout);
      sandbox.injectFaults({
        mode: 'late-commit',
        count: 2,
        endpoints: ['payOut'],
      });
      hanging(call(sandbox, '/api/payOut', payout));
      await sandbox.waitFor(() => sandbox.requests.length === 2);
      // A failed check is known at once.
      expect(faultOf(sandbox)).toEqual({
        fault: 'late-commit',
        withheld: {
          httpStatus: 200,
          body: '{"code":400,"msg":"Params_mchOrderNo_repeat"}',
        },
      });

      // Passed its check, but a retry books the mchOrderNo first: the commit finds it taken.
      const other = input();
      hanging(call(sandbox, '/api/payOut', other));
      await sandbox.waitFor(() => sandbox.requests.length === 3);
      const retry = await call(sandbox, '/api/payOut', other);
      expect(retry.json.code).toBe(200);
      await sandbox.idle(5_000);
      expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo).map((o) => o.orderNo)).toEqual([
        created.json.data.orderNo,
      ]);
      expect(sandbox.ordersByMchOrderNo(other.mchOrderNo).map((o) => o.orderNo)).toEqual([
        retry.json.data.orderNo,
      ]);
      expect(faultOf(sandbox, 2).withheld).toEqual({
        httpStatus: 200,
        body: '{"code":400,"msg":"Params_mchOrderNo_repeat"}',
      });
    });

    it('with dedupe off, a retry during the window means two orders', async () => {
      const loose = await startSandbox({
        lateCommitMs,
        dedupeMchOrderNo: false,
        autoSettle: false,
      });
      try {
        loose.injectFaults({
          mode: 'late-commit',
          count: 1,
          endpoints: ['payOut'],
        });
        const payout = input();
        hanging(call(loose, '/api/payOut', payout));
        await loose.waitFor(() => loose.requests.length === 1);
        const retry = await call(loose, '/api/payOut', payout);
        await loose.idle(5_000);
        const orders = loose.ordersByMchOrderNo(payout.mchOrderNo);
        expect(orders).toHaveLength(2);
        expect(orders[0].orderNo).toBe(retry.json.data.orderNo);
        expect(JSON.parse(faultOf(loose, 0).withheld!.body).data.orderNo).toBe(orders[1].orderNo);
      } finally {
        await loose.stop();
      }
    });

    it('counts as pending for idle(), and stop() cancels it', async () => {
      sandbox.injectFaults({
        mode: 'late-commit',
        count: 1,
        endpoints: ['payOut'],
      });
      const payout = input({ remark: 'HOLD' });
      hanging(call(sandbox, '/api/payOut', payout));
      await sandbox.waitFor(() => sandbox.requests.length === 1);
      await expect(sandbox.idle(50)).rejects.toThrow(/still busy after 50 ms \(1 timers/);
      await sandbox.idle(5_000);
      expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(1);

      const stopping = await startSandbox({ lateCommitMs: 100 });
      stopping.injectFaults({ mode: 'late-commit', count: 1 });
      const cancelled = input();
      const pending = hanging(call(stopping, '/api/payOut', cancelled));
      await stopping.waitFor(() => stopping.requests.length === 1);
      await stopping.stop();
      await expect(pending).rejects.toThrow(/fetch failed/);
      await sleep(150);
      expect(stopping.ordersByMchOrderNo(cancelled.mchOrderNo)).toHaveLength(0);
      expect(stopping.requests[0].response).toEqual({ fault: 'late-commit' });
    });

    it('behaves like timeout on other endpoints', async () => {
      sandbox.injectFaults({
        mode: 'late-commit',
        count: 1,
        endpoints: ['getBalance'],
      });
      await expect(
        call(sandbox, '/api/getBalance', {}, { signal: AbortSignal.timeout(100) }),
      ).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(sandbox.requests.at(-1)!.response).toEqual({
        fault: 'late-commit',
      });
      await sleep(lateCommitMs);
      expect(sandbox.requests.at(-1)!.response).toEqual({
        fault: 'late-commit',
      });
    });
  });

  describe('reply', () => {
    let sandbox: CashySandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({ autoSettle: false });
    });
    afterAll(() => sandbox.stop());

    it('sends the exact status, body and content type, and does nothing', async () => {
      sandbox.injectFaults({
        mode: 'reply',
        count: 1,
        endpoints: ['payOut'],
        reply: {
          httpStatus: 502,
          body: '<html>Bad Gateway</html>',
          contentType: 'text/html',
        },
      });
      const payout = input();
      const result = await call(sandbox, '/api/payOut', payout);
      expect(result).toMatchObject({
        httpStatus: 502,
        contentType: 'text/html',
        text: '<html>Bad Gateway</html>',
      });
      expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(0);
      expect(faultOf(sandbox)).toEqual({
        fault: 'reply',
        httpStatus: 502,
        body: '<html>Bad Gateway</html>',
        contentType: 'text/html',
      });
    });

    it('serializes an object body as JSON with HTTP 200 by default', async () => {
      const body = { code: 500, msg: 'Internal_error' };
      sandbox.injectFaults({ mode: 'reply', count: 1, reply: { body } });
      body.msg = 'changed after injecting';
      const result = await call(sandbox, '/api/getBalance', {});
      expect(result).toMatchObject({
        httpStatus: 200,
        contentType: 'application/json;charset=UTF-8',
        text: '{"code":500,"msg":"Internal_error"}',
      });
    });

    it('with process: true the payOut creates its order and the scripted reply replaces the answer', async () => {
      sandbox.injectFaults({
        mode: 'reply',
        count: 1,
        endpoints: ['payOut'],
        process: true,
        reply: { body: { code: 200, msg: 'SUCCESS' } },
      });
      const payout = input();
      const result = await call(sandbox, '/api/payOut', payout);
      expect(result.json).toEqual({ code: 200, msg: 'SUCCESS' });
      const [order] = sandbox.ordersByMchOrderNo(payout.mchOrderNo);
      expect(order).toMatchObject({
        orderStatus: 'PROCESSING',
        amount: '150.50',
      });
      const fault = faultOf(sandbox);
      expect(fault).toMatchObject({
        fault: 'reply',
        httpStatus: 200,
        body: '{"code":200,"msg":"SUCCESS"}',
      });
      expect(JSON.parse(fault.withheld!.body).data.orderNo).toBe(order.orderNo);
    });
  });

  describe('notify-before-answer', () => {
    const slowMs = 120;
    let sandbox: CashySandbox;
    let slow: Receiver;
    beforeAll(async () => {
      slow = await startReceiver(async () => {
        await sleep(slowMs);
        return { body: 'SUCCESS' };
      });
      sandbox = await startSandbox({ processingMs: 5_000 });
    });
    afterAll(async () => {
      await sandbox.stop();
      await slow.close();
    });

    it('notifies the final status, then answers the create with PROCESSING', async () => {
      sandbox.injectFaults({
        mode: 'notify-before-answer',
        count: 1,
        endpoints: ['payOut'],
      });
      const payout = input({ notifyUrl: slow.url });
      const sent = Date.now();
      const result = await call(sandbox, '/api/payOut', payout);
      const answered = Date.now();

      expect(result.json).toMatchObject({
        code: 200,
        data: {
          mchOrderNo: payout.mchOrderNo,
          orderStatus: 'PROCESSING',
          amount: '150.50',
        },
      });
      expect(answered - sent).toBeGreaterThanOrEqual(slowMs - 5);
      const [order] = sandbox.ordersByMchOrderNo(payout.mchOrderNo);
      expect(order.orderNo).toBe(result.json.data.orderNo);
      // Straight to the final status: no PAYING, and the timeline (processingMs 5 s) no longer runs.
      expect(order.history.map((e) => e.orderStatus)).toEqual(['PROCESSING', 'SUCCESS']);

      const delivery = sandbox.deliveries.find((d) => d.orderNo === order.orderNo)!;
      expect(delivery).toMatchObject({
        orderStatus: 'SUCCESS',
        attempt: 1,
        acknowledged: true,
      });
      const fault = faultOf(sandbox);
      expect(fault).toMatchObject({
        fault: 'notify-before-answer',
        httpStatus: 200,
        body: result.text,
      });
      expect(delivery.at + delivery.durationMs).toBeLessThanOrEqual(fault.answeredAt!);
      expect(fault.answeredAt!).toBeLessThanOrEqual(answered);
      expect(slow.received.map((n) => JSON.parse(n.body).orderStatus)).toEqual(['SUCCESS']);
      await sandbox.idle(5_000);
      expect(sandbox.deliveries.filter((d) => d.orderNo === order.orderNo)).toHaveLength(1);
    });

    it('follows the remark and answers after the first attempt even when it is not acknowledged', async () => {
      const refusing = await startReceiver(async () => {
        await sleep(50);
        return { status: 500, body: 'nope' };
      });
      try {
        sandbox.injectFaults({
          mode: 'notify-before-answer',
          count: 1,
          endpoints: ['payOut'],
        });
        const payout = input({
          notifyUrl: refusing.url,
          remark: 'FAIL BANK_REJECT',
        });
        const result = await call(sandbox, '/api/payOut', payout);
        expect(result.json.data.orderStatus).toBe('PROCESSING');
        const [order] = sandbox.ordersByMchOrderNo(payout.mchOrderNo);
        expect(order).toMatchObject({
          orderStatus: 'FAIL',
          resultDesc: 'BANK_REJECT',
        });
        const [first] = sandbox.deliveries.filter((d) => d.orderNo === order.orderNo);
        expect(first).toMatchObject({
          orderStatus: 'FAIL',
          attempt: 1,
          acknowledged: false,
          httpStatus: 500,
        });
        expect(first.at + first.durationMs).toBeLessThanOrEqual(faultOf(sandbox).answeredAt!);
      } finally {
        await refusing.close();
      }
    });

    it('answers other endpoints, and payOuts that create nothing, at once', async () => {
      sandbox.injectFaults({ mode: 'notify-before-answer', count: 2 });
      const balance = await call(sandbox, '/api/getBalance', {});
      expect(balance.json.code).toBe(200);
      expect(faultOf(sandbox)).toEqual({
        fault: 'notify-before-answer',
        httpStatus: 200,
        body: balance.text,
      });
      const refused = await call(sandbox, '/api/payOut', {
        ...input(),
        amount: 'abc',
      });
      expect(refused.json.msg).toMatch(/^Params_amount_/);
      expect(faultOf(sandbox)).toEqual({
        fault: 'notify-before-answer',
        httpStatus: 200,
        body: refused.text,
      });
    });
  });

  describe('mismatch', () => {
    let sandbox: CashySandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({ autoSettle: false });
    });
    afterAll(() => sandbox.stop());

    it('a payOut answer carries the given amount while the order keeps the requested one', async () => {
      sandbox.injectFaults({
        mode: 'mismatch',
        count: 1,
        endpoints: ['payOut'],
        mismatch: { amount: '1505.00' },
      });
      const payout = input();
      const result = await call(sandbox, '/api/payOut', payout);
      const [order] = sandbox.ordersByMchOrderNo(payout.mchOrderNo);
      expect(result.json).toEqual({
        code: 200,
        msg: 'SUCCESS',
        data: {
          merchantId: order.merchantId,
          mchOrderNo: payout.mchOrderNo,
          orderNo: order.orderNo,
          amount: '1505.00',
          fee: '1.50',
          orderStatus: 'PROCESSING',
        },
      });
      expect(order.amount).toBe('150.50');
      const fault = faultOf(sandbox);
      expect(fault).toMatchObject({
        fault: 'mismatch',
        httpStatus: 200,
        body: result.text,
      });
      expect(JSON.parse(fault.withheld!.body).data.amount).toBe('150.50');
    });

    it('a payOutQuery answer can name another order, mchOrderNo and status', async () => {
      const payout = input();
      const created = await call(sandbox, '/api/payOut', payout);
      sandbox.injectFaults({
        mode: 'mismatch',
        count: 2,
        endpoints: ['payOutQuery'],
        mismatch: {
          orderStatus: 'SUCCESS',
          mchOrderNo: 'SOMEONE-ELSE',
          orderNo: 'PAYOUT0000000000000000001',
        },
      });
      const result = await call(sandbox, '/api/payOutQuery', {
        orderNo: created.json.data.orderNo,
      });
      expect(result.json.data).toMatchObject({
        orderStatus: 'SUCCESS',
        mchOrderNo: 'SOMEONE-ELSE',
        orderNo: 'PAYOUT0000000000000000001',
        amount: '150.50',
      });
      expect(sandbox.order(created.json.data.orderNo)!.orderStatus).toBe('PROCESSING');
      // An answer without data is sent as it is.
      const missing = await call(sandbox, '/api/payOutQuery', {
        mchOrderNo: 'nothing-here',
      });
      expect(missing.json).toEqual({ code: 400, msg: 'Order_not_exist' });
      expect(faultOf(sandbox)).toMatchObject({
        fault: 'mismatch',
        body: missing.text,
      });
    });
  });

  it('late-commit and notify-before-answer can be drawn at random, reproducibly', async () => {
    const run = async () => {
      const faulty = await startSandbox({
        lateCommitMs: 30,
        faults: {
          rate: 1,
          seed: 3,
          modes: ['late-commit', 'notify-before-answer'],
          endpoints: ['payOut'],
        },
      });
      try {
        const payouts = Array.from({ length: 8 }, () => input());
        await Promise.all(
          payouts.map((p) =>
            call(faulty, '/api/payOut', p, {
              signal: AbortSignal.timeout(300),
            }).catch(() => undefined),
          ),
        );
        await faulty.idle(5_000);
        // Either way every payOut ends up as exactly one order.
        for (const p of payouts) expect(faulty.ordersByMchOrderNo(p.mchOrderNo)).toHaveLength(1);
        return faulty.requests.map((r) => (r.response as SandboxFaultReply).fault);
      } finally {
        await faulty.stop();
      }
    };
    const first = await run();
    expect(new Set(first)).toEqual(
      new Set<SandboxFaultMode>(['late-commit', 'notify-before-answer']),
    );
    expect(await run()).toEqual(first);
  });
});

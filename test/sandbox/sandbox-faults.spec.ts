import { CashySandbox, samplePayout, type SandboxFaultMode } from '../../lib/testing';
import { call, startReceiver, startSandbox, type Receiver } from './sandbox-test.helpers';

describe('CashySandbox faults', () => {
  let sandbox: CashySandbox;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = await startSandbox({ autoSettle: false });
  });
  afterAll(async () => {
    await sandbox.stop();
    await receiver.close();
  });

  const input = () => samplePayout('PEN', { notifyUrl: receiver.url });
  const lastRequest = () => sandbox.requests.at(-1)!;

  it('timeout: no answer and no order; the socket stays open until the client gives up', async () => {
    sandbox.injectFaults({ mode: 'timeout', count: 1, endpoints: ['payOut'] });
    const payout = input();
    const started = Date.now();
    await expect(
      call(sandbox, '/api/payOut', payout, {
        signal: AbortSignal.timeout(150),
      }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(0);
    expect(lastRequest().response).toEqual({ fault: 'timeout' });
    // The fault was used up: the same mchOrderNo can now be created.
    expect((await call(sandbox, '/api/payOut', payout)).json.code).toBe(200);
    expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(1);
  });

  it('timeout-after-create: the order exists although the client never heard back', async () => {
    sandbox.injectFaults({ mode: 'timeout-after-create', count: 1 });
    const payout = input();
    await expect(
      call(sandbox, '/api/payOut', payout, {
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(1);
    expect(lastRequest().response).toMatchObject({
      fault: 'timeout-after-create',
      withheld: { httpStatus: 200 },
    });
    const repeat = await call(sandbox, '/api/payOut', payout);
    expect(repeat.json.msg).toBe('Params_mchOrderNo_repeat');
  });

  it('drop-after-create: the connection dies without an answer, but the order was created', async () => {
    sandbox.injectFaults({
      mode: 'drop-after-create',
      count: 1,
      endpoints: ['/api/payOut'],
    });
    const payout = input();
    await expect(call(sandbox, '/api/payOut', payout)).rejects.toThrow(/fetch failed/);
    const [order] = sandbox.ordersByMchOrderNo(payout.mchOrderNo);
    expect(order.orderStatus).toBe('PROCESSING');
    const withheld = (lastRequest().response as { withheld: { body: string } }).withheld;
    expect(JSON.parse(withheld.body).data.orderNo).toBe(order.orderNo);
    const found = await call(sandbox, '/api/payOutQuery', {
      mchOrderNo: payout.mchOrderNo,
    });
    expect(found.json.data.orderNo).toBe(order.orderNo);
  });

  it('drop-after-create on a query processes the read, then drops it', async () => {
    sandbox.injectFaults({
      mode: 'drop-after-create',
      count: 1,
      endpoints: ['payOutQuery'],
    });
    await expect(call(sandbox, '/api/payOutQuery', { mchOrderNo: 'nothing' })).rejects.toThrow(
      /fetch failed/,
    );
    expect(lastRequest().response).toEqual({
      fault: 'drop-after-create',
      withheld: {
        httpStatus: 200,
        body: '{"code":400,"msg":"Order_not_exist"}',
      },
    });
  });

  it('http-500: an HTTP 500 text answer, nothing done', async () => {
    sandbox.injectFaults({ mode: 'http-500', count: 1 });
    const payout = input();
    const result = await call(sandbox, '/api/payOut', payout);
    expect(result.httpStatus).toBe(500);
    expect(result.json).toBeUndefined();
    expect(result.text).toBe('Internal Server Error');
    expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(0);
    expect(lastRequest().response).toEqual({
      fault: 'http-500',
      httpStatus: 500,
      body: 'Internal Server Error',
    });
  });

  it('system-busy: envelope 500 System_busy, nothing done', async () => {
    sandbox.injectFaults({ mode: 'system-busy', count: 1 });
    const payout = input();
    const result = await call(sandbox, '/api/payOut', payout);
    expect(result.httpStatus).toBe(200);
    expect(result.json).toEqual({ code: 500, msg: 'System_busy' });
    expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(0);
  });

  it('system-error: envelope 500 System_error, but the order was created', async () => {
    sandbox.injectFaults({ mode: 'system-error', count: 1 });
    const payout = input();
    const result = await call(sandbox, '/api/payOut', payout);
    expect(result.json).toEqual({ code: 500, msg: 'System_error' });
    expect(sandbox.ordersByMchOrderNo(payout.mchOrderNo)).toHaveLength(1);
    expect(lastRequest().response).toMatchObject({
      fault: 'system-error',
      httpStatus: 200,
      body: result.text,
      withheld: { httpStatus: 200 },
    });
  });

  it('injectFaults hits exactly the next `count` matching calls and leaves other endpoints alone', async () => {
    sandbox.injectFaults({
      mode: 'system-busy',
      count: 2,
      endpoints: ['getBalance'],
    });
    expect((await call(sandbox, '/api/bankListQuery', {})).json.code).toBe(200);
    expect((await call(sandbox, '/api/getBalance', {})).json.msg).toBe('System_busy');
    expect((await call(sandbox, '/api/getBalance', {})).json.msg).toBe('System_busy');
    expect((await call(sandbox, '/api/getBalance', {})).json.code).toBe(200);
    expect(() => sandbox.injectFaults({ mode: 'explode' as SandboxFaultMode, count: 1 })).toThrow(
      /not a fault mode/,
    );
    expect(() => sandbox.injectFaults({ mode: 'timeout', count: 0 })).toThrow(/count/);
  });

  it('random faults with a seed are reproducible', async () => {
    const run = async (seed: number) => {
      const faulty = await startSandbox({
        autoSettle: false,
        faults: {
          rate: 0.5,
          seed,
          modes: ['system-busy', 'http-500', 'system-error'],
          endpoints: ['getBalance'],
        },
      });
      try {
        for (let i = 0; i < 30; i++) await call(faulty, '/api/getBalance', {});
        await call(faulty, '/api/bankListQuery', {}); // not a faulty endpoint: draws nothing
        expect(faulty.requests.at(-1)!.response).toMatchObject({
          httpStatus: 200,
        });
        return faulty.requests
          .slice(0, 30)
          .map((r) => ('fault' in r.response ? r.response.fault : 'ok'));
      } finally {
        await faulty.stop();
      }
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['ok', 'system-busy', 'http-500', 'system-error']));
    expect(await run(7)).not.toEqual(first);
  });

  it('stop() completes while a request hangs, and closes its socket', async () => {
    const hanging = await startSandbox();
    hanging.injectFaults({ mode: 'timeout', count: 1 });
    const pending = call(hanging, '/api/getBalance', {});
    pending.catch(() => undefined);
    await hanging.waitFor(() => hanging.requests.length === 1);
    const started = Date.now();
    await hanging.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(pending).rejects.toThrow(/fetch failed/);
    await hanging.stop(); // idempotent
    await expect(hanging.start()).rejects.toThrow(/cannot start again/);
  });

  it('stop() also ends pending retries and deliveries in flight', async () => {
    const silent = await startReceiver(() => 'hang');
    const busy = await startSandbox({ timeScale: 1 });
    try {
      await call(busy, '/api/payOut', samplePayout('PEN', { notifyUrl: silent.url }));
      await busy.waitFor(() => silent.received.length >= 1);
      const started = Date.now();
      await busy.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
      await busy.idle(100);
      expect(busy.deliveries[0]).toMatchObject({
        orderStatus: 'PAYING',
        acknowledged: false,
        error: 'sandbox stopped',
      });
    } finally {
      await silent.close();
    }
  });
});

import { PERU_MARKET } from '../../lib/markets/peru.market';
import { MEXICO_MARKET } from '../../lib/markets/mexico.market';
import { CashySandbox, samplePayout } from '../../lib/testing';
import { call, startReceiver, startSandbox, type Receiver } from './sandbox-test.helpers';

describe('CashySandbox payOut, payOutQuery, bankListQuery, getBalance', () => {
  let sandbox: CashySandbox;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.stop();
    await receiver.close();
  });

  it('creates a PROCESSING order and answers with Cashy create data', async () => {
    const input = samplePayout('PEN', {
      amount: '150.5',
      notifyUrl: receiver.url,
      remark: 'HOLD',
    });
    const result = await call(sandbox, '/api/payOut', input);
    expect(result.json.code).toBe(200);
    expect(result.json.data).toEqual({
      merchantId: '1002001',
      mchOrderNo: input.mchOrderNo,
      orderNo: expect.stringMatching(/^PAYOUT\d{19}$/),
      amount: '150.50',
      fee: '1.50',
      orderStatus: 'PROCESSING',
    });
    const order = sandbox.order(result.json.data.orderNo)!;
    expect(order).toMatchObject({
      currency: 'PEN',
      amount: '150.50',
      orderStatus: 'PROCESSING',
      notifyUrl: receiver.url,
      outcome: { trigger: 'HOLD' },
    });
    expect(order.request).not.toHaveProperty('nonceStr');
  });

  it('numbers orders uniquely and increasingly', async () => {
    const numbers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await call(
        sandbox,
        '/api/payOut',
        samplePayout('MXN', { notifyUrl: receiver.url, remark: 'HOLD' }),
        { currency: 'MXN' },
      );
      numbers.push(result.json.data.orderNo);
    }
    expect(new Set(numbers).size).toBe(3);
    expect([...numbers].sort()).toEqual(numbers);
    expect(numbers[0]).toHaveLength(25);
  });

  it('refuses a reused mchOrderNo and keeps a single order, even under concurrency', async () => {
    const input = samplePayout('PEN', {
      notifyUrl: receiver.url,
      remark: 'HOLD',
    });
    const results = await Promise.all([1, 2, 3, 4].map(() => call(sandbox, '/api/payOut', input)));
    expect(results.filter((r) => r.json.code === 200)).toHaveLength(1);
    for (const rejected of results.filter((r) => r.json.code !== 200)) {
      expect(rejected.json).toEqual({
        code: 400,
        msg: 'Params_mchOrderNo_repeat',
      });
    }
    // A different amount under the same mchOrderNo is refused as well.
    expect((await call(sandbox, '/api/payOut', { ...input, amount: '99.00' })).json.msg).toBe(
      'Params_mchOrderNo_repeat',
    );
    expect(sandbox.ordersByMchOrderNo(input.mchOrderNo)).toHaveLength(1);
  });

  it('maps the first broken rule to Params_<field>_Required or Params_<field>_error', async () => {
    const expectMsg = async (input: object, msg: string, currency: 'PEN' | 'MXN' = 'PEN') =>
      expect((await call(sandbox, '/api/payOut', input, { currency })).json).toEqual({
        code: 400,
        msg,
      });
    const pen = samplePayout('PEN', { notifyUrl: receiver.url });
    await expectMsg({ ...pen, remark: undefined }, 'Params_remark_Required');
    await expectMsg({ ...pen, notifyUrl: undefined }, 'Params_notifyUrl_Required');
    await expectMsg({ ...pen, amount: '5.00' }, 'Params_amount_error');
    await expectMsg({ ...pen, amount: '10.001' }, 'Params_amount_error');
    await expectMsg({ ...pen, bankId: 999 }, 'Params_bankId_error');
    await expectMsg({ ...pen, idCard: '123' }, 'Params_idCard_error');
    await expectMsg({ ...pen, accountType: 40 }, 'Params_accountType_error');
    await expectMsg({ ...pen, currency: 'USD' }, 'Params_currency_error');
    await expectMsg({ ...pen, currency: 'MXN' }, 'Params_currency_error'); // the PEN account does not serve MXN
    await expectMsg({ ...pen, surprise: 1 }, 'Params_surprise_error');
    const mxn = samplePayout('MXN', { notifyUrl: receiver.url });
    await expectMsg({ ...mxn, amount: '1500.50' }, 'Params_amount_error', 'MXN');
    await expectMsg({ ...mxn, accountNo: '002010077777777779' }, 'Params_accountNo_error', 'MXN');
    expect(sandbox.ordersByMchOrderNo(pen.mchOrderNo)).toHaveLength(0);
    expect(sandbox.ordersByMchOrderNo(mxn.mchOrderNo)).toHaveLength(0);
  });

  it('applies custom limits', async () => {
    const strict = await startSandbox({ limits: { PEN: { max: '100.00' } } });
    try {
      const over = await call(
        strict,
        '/api/payOut',
        samplePayout('PEN', { notifyUrl: receiver.url, amount: '100.01' }),
      );
      expect(over.json.msg).toBe('Params_amount_error');
    } finally {
      await strict.stop();
    }
    expect(() => new CashySandbox({ limits: { PEN: { min: 'abc' } } })).toThrow(/limits\.PEN\.min/);
  });

  it('queries by orderNo or mchOrderNo; fee and completionTime only once SUCCESS', async () => {
    const input = samplePayout('PEN', {
      notifyUrl: receiver.url,
      remark: 'HOLD',
    });
    const { orderNo } = (await call(sandbox, '/api/payOut', input)).json.data;
    const pending = await call(sandbox, '/api/payOutQuery', { orderNo });
    expect(pending.json).toEqual({
      code: 200,
      msg: 'SUCCESS',
      data: {
        merchantId: '1002001',
        mchOrderNo: input.mchOrderNo,
        orderNo,
        amount: '150.50',
        fee: null,
        orderStatus: 'PROCESSING',
        completionTime: null,
        resultDesc: null,
      },
    });
    await sandbox.settle(orderNo, 'SUCCESS');
    const paid = await call(sandbox, '/api/payOutQuery', {
      mchOrderNo: input.mchOrderNo,
    });
    expect(paid.json.data).toMatchObject({
      orderNo,
      orderStatus: 'SUCCESS',
      fee: '1.50',
      resultDesc: 'SUCCESS',
    });
    expect(paid.json.data.completionTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    // Both given: they must name the same order.
    expect(
      (
        await call(sandbox, '/api/payOutQuery', {
          orderNo,
          mchOrderNo: input.mchOrderNo,
        })
      ).json.code,
    ).toBe(200);
    expect(
      (
        await call(sandbox, '/api/payOutQuery', {
          orderNo,
          mchOrderNo: 'OTHER',
        })
      ).json.msg,
    ).toBe('Order_not_exist');
  });

  it('answers Order_not_exist for an unknown order or another merchant’s, and Params_orderNo_Required for neither', async () => {
    expect(
      (
        await call(sandbox, '/api/payOutQuery', {
          orderNo: 'PAYOUT0000000000000000001',
        })
      ).json,
    ).toEqual({ code: 400, msg: 'Order_not_exist' });
    expect((await call(sandbox, '/api/payOutQuery', { mchOrderNo: 'never-sent' })).json).toEqual({
      code: 400,
      msg: 'Order_not_exist',
    });
    const mine = (
      await call(
        sandbox,
        '/api/payOut',
        samplePayout('PEN', { notifyUrl: receiver.url, remark: 'HOLD' }),
      )
    ).json.data;
    const asMexico = await call(
      sandbox,
      '/api/payOutQuery',
      { orderNo: mine.orderNo },
      { currency: 'MXN' },
    );
    expect(asMexico.json).toEqual({ code: 400, msg: 'Order_not_exist' });
    expect((await call(sandbox, '/api/payOutQuery', {})).json).toEqual({
      code: 400,
      msg: 'Params_orderNo_Required',
    });
    expect((await call(sandbox, '/api/payOutQuery', { orderNo: 12 })).json).toEqual({
      code: 400,
      msg: 'Params_orderNo_error',
    });
  });

  it('lists each account’s market banks', async () => {
    const pen = await call(sandbox, '/api/bankListQuery', {});
    expect(pen.json.data).toHaveLength(PERU_MARKET.banks.length);
    expect(pen.json.data[2]).toEqual({
      bankId: 3,
      bankCode: PERU_MARKET.banks[2].bankCode,
      bankName: PERU_MARKET.banks[2].bankName,
    });
    const mxn = await call(sandbox, '/api/bankListQuery', {}, { currency: 'MXN' });
    expect(mxn.json.data).toHaveLength(MEXICO_MARKET.banks.length);
    expect(mxn.json.data).toContainEqual({
      bankId: 24,
      bankCode: '90646',
      bankName: 'STP',
    });
  });

  it('debits amount + fee when an order turns SUCCESS, in exact decimals', async () => {
    const fresh = await startSandbox({
      autoSettle: false,
      accounts: [
        {
          merchantId: '77',
          apiKey: 'k',
          currencies: ['PEN'],
          balance: '1000.10',
        },
      ],
    });
    try {
      const balance = async () => (await call(fresh, '/api/getBalance', {})).json.data.balance;
      const first = (
        await call(
          fresh,
          '/api/payOut',
          samplePayout('PEN', { notifyUrl: receiver.url, amount: '150.35' }),
        )
      ).json.data;
      expect(await balance()).toBe('1000.10'); // nothing moves before SUCCESS
      await fresh.settle(first.orderNo, 'SUCCESS');
      expect(await balance()).toBe('848.25');
      const failed = (
        await call(
          fresh,
          '/api/payOut',
          samplePayout('PEN', { notifyUrl: receiver.url, amount: '10.10' }),
        )
      ).json.data;
      await fresh.settle(failed.orderNo, 'FAIL');
      expect(await balance()).toBe('848.25');
      // More than the balance: the SUCCESS cannot happen.
      const big = (
        await call(
          fresh,
          '/api/payOut',
          samplePayout('PEN', { notifyUrl: receiver.url, amount: '847.00' }),
        )
      ).json.data;
      await fresh.settle(big.orderNo, 'SUCCESS');
      expect(fresh.order(big.orderNo)).toMatchObject({
        orderStatus: 'FAIL',
        resultDesc: 'MERCHANT_BALANCE_NOT_ENOUGH',
      });
      expect(fresh.accounts[0].balance).toBe('848.25');
    } finally {
      await fresh.stop();
    }
  });

  it('gives module options naming single-currency accounts after their currency', () => {
    expect(sandbox.moduleOptions({ notifyUrl: receiver.url })).toEqual({
      baseUrl: sandbox.baseUrl,
      accounts: [
        {
          name: 'pen',
          merchantId: '1002001',
          apiKey: 'sandbox-pen-key',
          currencies: ['PEN'],
        },
        {
          name: 'mxn',
          merchantId: '1002002',
          apiKey: 'sandbox-mxn-key',
          currencies: ['MXN'],
        },
      ],
      notifyUrl: receiver.url,
    });
    expect(sandbox.moduleOptions()).not.toHaveProperty('notifyUrl');
    expect(sandbox.account('MXN').merchantId).toBe('1002002');
  });

  it('validates its own options', () => {
    expect(() => new CashySandbox({ accounts: [] })).toThrow(/accounts/);
    expect(
      () =>
        new CashySandbox({
          accounts: [{ merchantId: 'abc', apiKey: 'k', currencies: ['PEN'] }],
        }),
    ).toThrow(/merchantId/);
    expect(
      () =>
        new CashySandbox({
          accounts: [{ merchantId: '1', apiKey: 'secret-key', currencies: [] }],
        }),
    ).toThrow(/currencies/);
    expect(() => new CashySandbox({ timeScale: 0 })).toThrow(/timeScale/);
    expect(() => new CashySandbox({ faults: { rate: 2 } })).toThrow(/rate/);
    expect(() => new CashySandbox({ faults: { rate: 0.1, endpoints: ['payIn'] } })).toThrow(
      /payIn/,
    );
    expect(() => new CashySandbox().baseUrl).toThrow(/start/);
  });
});

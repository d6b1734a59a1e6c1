import { HttpService } from '@nestjs/axios';
import type { TestingModule } from '@nestjs/testing';
import {
  CashyApiError,
  PayoutConfigurationError,
  PayoutError,
  type PayoutModuleOptions,
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutService,
  PayoutValidationError,
} from '../../lib';
import { CashyTransportError } from '../../lib/payout.errors';
import { signCashyBody } from '../../lib/client/cashy-signature';
import { MXN_ACCOUNT, PEN_ACCOUNT } from '../support/notifications';
import { ScriptedGateway } from '../support/scripted-gateway';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { penPayout } from '../support/payouts';

const PEN_PAYOUT = penPayout('PE-2025-000001', { amount: '150.5' });
const MXN_PAYOUT = {
  accountName: 'Jose Hernandez',
  accountNo: '002010077777777771',
  accountType: 40,
  currency: 'MXN' as const,
  amount: 1500,
  bankId: 80,
  mchOrderNo: 'MX-2025-000045',
  remark: 'retiro',
};
const ok = (data: unknown) => ({
  envelope: { code: 200, msg: 'SUCCESS', data },
});
const created = (mchOrderNo: string, extra: Record<string, unknown> = {}) =>
  ok({
    merchantId: '1002001',
    mchOrderNo,
    orderNo: 'PAYOUT8600000000000000001',
    amount: '150.50',
    fee: '1.50',
    orderStatus: 'PROCESSING',
    ...extra,
  });

describe('PayoutService over HTTP', () => {
  let gateway: ScriptedGateway;
  let moduleRef: TestingModule;
  let payouts: PayoutService;

  async function boot(options: Partial<PayoutModuleOptions> = {}) {
    await moduleRef?.close();
    moduleRef = await compileScriptedPayoutModule(gatewayUrl, options);
    payouts = moduleRef.get(PayoutService);
  }

  let gatewayUrl: string;
  beforeAll(async () => {
    gateway = new ScriptedGateway();
    gatewayUrl = await gateway.start();
  });
  beforeEach(async () => {
    gateway.requests.length = 0;
    await boot();
  });
  afterAll(async () => {
    await moduleRef?.close();
    await gateway.stop();
  });

  describe('what goes on the wire', () => {
    it('sends exactly the signed bytes with Content-Type, MerchantId and an upper-case Sign', async () => {
      gateway.then(created(PEN_PAYOUT.mchOrderNo));
      await payouts.createPayout(PEN_PAYOUT);
      const [request] = gateway.requests;
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/api/payOut');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers.merchantid).toBe(PEN_ACCOUNT.merchantId);
      expect(request.headers.sign).toBe(signCashyBody(request.raw, PEN_ACCOUNT.apiKey));
      expect(request.headers.sign).toMatch(/^[0-9A-F]{32}$/);
      // The body is compact JSON in a fixed field order, nonceStr last.
      const { nonceStr, ...rest } = request.json;
      expect(request.raw.toString()).toBe(JSON.stringify({ ...rest, nonceStr }));
      expect(Object.keys(request.json)).toEqual([
        'accountName',
        'accountNo',
        'accountType',
        'currency',
        'amount',
        'bankId',
        'mchOrderNo',
        'notifyUrl',
        'idType',
        'idCard',
        'remark',
        'nonceStr',
      ]);
      expect(rest).toEqual({
        ...PEN_PAYOUT,
        amount: '150.50',
        notifyUrl: 'https://merchant.example.com/payout/webhook',
      });
      expect(nonceStr).toMatch(/^[0-9a-f]{32}$/);
    });

    it('uses a fresh nonceStr for every request and the per-call notifyUrl over the default', async () => {
      gateway.then(created('A1'), created('A2'));
      await payouts.createPayout({ ...PEN_PAYOUT, mchOrderNo: 'A1' });
      await payouts.createPayout({
        ...PEN_PAYOUT,
        mchOrderNo: 'A2',
        notifyUrl: 'http://127.0.0.1:4000/hook',
      });
      expect(gateway.requests[0].json.nonceStr).not.toBe(gateway.requests[1].json.nonceStr);
      expect(gateway.requests[1].json.notifyUrl).toBe('http://127.0.0.1:4000/hook');
    });

    it('signs UTF-8 bytes and sends them unchanged', async () => {
      gateway.then(ok([]));
      await payouts.listBanks({ currency: 'PEN' });
      const [request] = gateway.requests;
      expect(request.path).toBe('/api/bankListQuery');
      expect(Object.keys(request.json)).toEqual(['nonceStr']);
      expect(request.headers.sign).toBe(signCashyBody(request.raw, PEN_ACCOUNT.apiKey));
    });

    it('routes a payout to the account that serves its currency, or the one named', async () => {
      gateway.then(
        created(MXN_PAYOUT.mchOrderNo, { amount: '1500', fee: '5' }),
        ok({ mchId: '1002002', balance: 1, unBalance: 0 }),
      );
      await payouts.createPayout(MXN_PAYOUT);
      expect(gateway.requests).toHaveLength(1);
      expect(gateway.requests[0].headers.merchantid).toBe(MXN_ACCOUNT.merchantId);
      expect(gateway.requests[0].headers.sign).toBe(
        signCashyBody(gateway.requests[0].raw, MXN_ACCOUNT.apiKey),
      );
      await expect(payouts.getBalance({ currency: 'PEN' }, { account: 'mexico' })).rejects.toThrow(
        PayoutConfigurationError,
      );
      await expect(payouts.createPayout(PEN_PAYOUT, { account: 'nobody' })).rejects.toThrow(
        /no configured account is named/,
      );
      expect(gateway.requests).toHaveLength(1);
    });
  });

  describe('mapping answers', () => {
    it('normalizes string and number amounts to decimal strings at the market scale', async () => {
      gateway.then(
        ok({
          merchantId: 1002001,
          mchOrderNo: 'N1',
          orderNo: 'PAYOUT1',
          amount: 100,
          fee: 0,
          orderStatus: 'PROCESSING',
        }),
      );
      expect(
        await payouts.createPayout({
          ...PEN_PAYOUT,
          mchOrderNo: 'N1',
          amount: 100,
        }),
      ).toEqual({
        merchantId: '1002001',
        mchOrderNo: 'N1',
        orderNo: 'PAYOUT1',
        currency: 'PEN',
        amount: '100.00',
        fee: '0.00',
        orderStatus: 'PROCESSING',
        completionTime: null,
      });
      gateway.then(
        ok({
          merchantId: '1002002',
          mchOrderNo: 'N2',
          orderNo: 'PAYOUT2',
          amount: '1500.00',
          fee: null,
          orderStatus: 'PROCESSING',
        }),
      );
      expect(await payouts.createPayout({ ...MXN_PAYOUT, mchOrderNo: 'N2' })).toMatchObject({
        amount: '1500',
        fee: null,
        merchantId: '1002002',
      });
    });

    it('maps a query with completionTime, resultDesc and channelOrderNo', async () => {
      gateway.then(
        ok({
          merchantId: '1002002',
          mchOrderNo: 'MX-1',
          orderNo: 'PAYOUT2',
          amount: 1500.0,
          fee: '5',
          orderStatus: 'FAIL',
          completionTime: '2025-01-01 11:04:09',
          resultDesc: 'CLABE_INSTITUTION_NOT_MATCH',
          channelOrderNo: 'CH-9',
        }),
      );
      const order = await payouts.queryPayout({
        orderNo: 'PAYOUT2',
        currency: 'MXN',
      });
      expect(order).toEqual({
        merchantId: '1002002',
        mchOrderNo: 'MX-1',
        orderNo: 'PAYOUT2',
        currency: 'MXN',
        amount: '1500',
        fee: '5',
        orderStatus: 'FAIL',
        completionTime: '2025-01-01 11:04:09',
        resultDesc: 'CLABE_INSTITUTION_NOT_MATCH',
        channelOrderNo: 'CH-9',
      });
      expect(gateway.requests[0].path).toBe('/api/payOutQuery');
      expect(Object.keys(gateway.requests[0].json)).toEqual(['orderNo', 'nonceStr']);
      expect(gateway.requests[0].headers.merchantid).toBe(MXN_ACCOUNT.merchantId);
    });

    it('raises CashyApiError with the gateway code and msg for an unknown order', async () => {
      gateway.then({ envelope: { code: 400, msg: 'Order_not_exist' } });
      const error = await payouts
        .queryPayout({ mchOrderNo: 'NOPE', currency: 'PEN' })
        .catch((e) => e);
      expect(error).toBeInstanceOf(CashyApiError);
      expect(error).toMatchObject({ code: 400, msg: 'Order_not_exist' });
    });

    it('maps the bank list and the balance', async () => {
      gateway.then(
        ok([
          { bankId: 79, bankCode: '40012', bankName: 'BBVA MEXICO' },
          { bankId: '24', bankCode: 90646, bankName: 'STP' },
        ]),
      );
      expect(await payouts.listBanks({ currency: 'MXN' })).toEqual([
        { bankId: 79, bankCode: '40012', bankName: 'BBVA MEXICO' },
        { bankId: 24, bankCode: '90646', bankName: 'STP' },
      ]);
      gateway.then(ok({ mchId: '1002001', balance: 133334.0, unBalance: '12.5' }));
      expect(await payouts.getBalance({ currency: 'PEN' })).toEqual({
        merchantId: '1002001',
        balance: '133334.00',
        unBalance: '12.50',
      });
    });

    it('raises CashyApiError for a definite rejection and never retries it', async () => {
      gateway.then({ envelope: { code: 400, msg: 'Params_accountNo_error' } });
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error).toBeInstanceOf(CashyApiError);
      expect(error).toMatchObject({ code: 400, msg: 'Params_accountNo_error' });
      expect(gateway.requests).toHaveLength(1);
      expect(String(error.message) + JSON.stringify(error)).not.toContain(PEN_ACCOUNT.apiKey);
    });
  });

  describe('validation before any request', () => {
    it.each([
      ['an amount above the PEN limit', { ...PEN_PAYOUT, amount: '2000.01' }, 'amount', 'max'],
      ['three decimals', { ...PEN_PAYOUT, amount: '10.005' }, 'amount', 'scale'],
      [
        'a BCP ahorro number of 13 digits',
        { ...PEN_PAYOUT, accountNo: '1931234567890' },
        'accountNo',
        'accountFormat',
      ],
      ['a DNI of 7 digits', { ...PEN_PAYOUT, idCard: '4567123' }, 'idCard', 'idFormat'],
      ['a peso fraction', { ...MXN_PAYOUT, amount: '1500.50' }, 'amount', 'scale'],
      [
        'a CLABE with a wrong check digit',
        { ...MXN_PAYOUT, accountNo: '002010077777777779' },
        'accountNo',
        'clabeCheckDigit',
      ],
      ['a CLABE of another bank', { ...MXN_PAYOUT, bankId: 79 }, 'accountNo', 'clabeBankMatch'],
      ['an unknown bank', { ...MXN_PAYOUT, bankId: 999 }, 'bankId', 'unknownBank'],
      [
        'a card number for STP',
        {
          ...MXN_PAYOUT,
          bankId: 24,
          accountType: 3,
          accountNo: '4152313012345678',
        },
        'accountType',
        'stpClabeOnly',
      ],
    ])(
      'rejects %s with PayoutValidationError and sends nothing',
      async (_case, input, field, rule) => {
        const error = await payouts.createPayout(input as never).catch((e) => e);
        expect(error).toBeInstanceOf(PayoutValidationError);
        expect(error.errors).toContainEqual(expect.objectContaining({ field, rule }));
        expect(gateway.requests).toHaveLength(0);
      },
    );

    it('honours per-currency limit overrides', async () => {
      await boot({ limits: { PEN: { max: '10000.00' } } });
      gateway.then(created(PEN_PAYOUT.mchOrderNo, { amount: '9999.99' }));
      await expect(
        payouts.createPayout({ ...PEN_PAYOUT, amount: '9999.99' }),
      ).resolves.toMatchObject({ orderStatus: 'PROCESSING' });
      await expect(payouts.createPayout({ ...PEN_PAYOUT, amount: '10000.01' })).rejects.toThrow(
        /at most 10000.00 PEN/,
      );
    });

    it('requires a notifyUrl when the module has no default', async () => {
      await boot({ notifyUrl: undefined });
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error.errors).toEqual([
        expect.objectContaining({ field: 'notifyUrl', rule: 'required' }),
      ]);
      expect(gateway.requests).toHaveLength(0);
    });
  });

  describe('ambiguous outcomes', () => {
    it('looks the order up after a timeout and returns it when the gateway has it', async () => {
      gateway.then({ hang: true }, created(PEN_PAYOUT.mchOrderNo));
      const order = await payouts.createPayout(PEN_PAYOUT);
      expect(order.orderNo).toBe('PAYOUT8600000000000000001');
      expect(gateway.requests.map((r) => [r.path, r.json.mchOrderNo])).toEqual([
        ['/api/payOut', PEN_PAYOUT.mchOrderNo],
        ['/api/payOutQuery', PEN_PAYOUT.mchOrderNo],
      ]);
    });

    it('does not re-send inside the re-send window, even when the lookup says "not found"', async () => {
      const notFound = { envelope: { code: 400, msg: 'Order_not_exist' } };
      gateway.then({ drop: true }, notFound, notFound, notFound);
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
      expect(error.message).toMatch(/re-send window/);
      expect(gateway.requests.filter((r) => r.path === '/api/payOut')).toHaveLength(1);
    });

    it('re-sends the create with the same mchOrderNo only when a lookup after the window says the gateway does not have it', async () => {
      await boot({ resendWindowMs: 0 });
      gateway.then(
        { drop: true },
        { envelope: { code: 400, msg: 'Order_not_exist' } },
        created(PEN_PAYOUT.mchOrderNo),
      );
      await payouts.createPayout(PEN_PAYOUT);
      expect(gateway.requests.map((r) => [r.path, r.json.mchOrderNo])).toEqual([
        ['/api/payOut', PEN_PAYOUT.mchOrderNo],
        ['/api/payOutQuery', PEN_PAYOUT.mchOrderNo],
        ['/api/payOut', PEN_PAYOUT.mchOrderNo],
      ]);
      expect(gateway.requests[0].json.nonceStr).not.toBe(gateway.requests[2].json.nonceStr);
    });

    it.each([
      ['HTTP 502', { text: 'Bad gateway', httpStatus: 502 }],
      ['an unparsable answer', { text: '<html>oops</html>' }],
      ['System_error', { envelope: { code: 500, msg: 'System_error' } }],
    ])('treats %s as unknown and looks the order up', async (_case, answer) => {
      gateway.then(answer, created(PEN_PAYOUT.mchOrderNo));
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        mchOrderNo: PEN_PAYOUT.mchOrderNo,
      });
      expect(gateway.requests.map((r) => r.path)).toEqual(['/api/payOut', '/api/payOutQuery']);
    });

    it('retries System_busy with the same request and no lookup', async () => {
      gateway.then({ envelope: { code: 500, msg: 'System_busy' } }, created(PEN_PAYOUT.mchOrderNo));
      await payouts.createPayout(PEN_PAYOUT);
      expect(gateway.requests.map((r) => r.path)).toEqual(['/api/payOut', '/api/payOut']);
    });

    it('treats a duplicate-order rejection as "look it up", and refuses an mchOrderNo used for another amount', async () => {
      gateway.then(
        { envelope: { code: 400, msg: 'Params_mchOrderNo_repeat' } },
        created(PEN_PAYOUT.mchOrderNo),
      );
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        orderNo: 'PAYOUT8600000000000000001',
      });
      await boot(); // a fresh store: this module never sent it
      gateway.then(
        { envelope: { code: 400, msg: 'Params_mchOrderNo_repeat' } },
        created(PEN_PAYOUT.mchOrderNo, { amount: '99.00' }),
      );
      await expect(payouts.createPayout(PEN_PAYOUT)).rejects.toThrow(PayoutOrderConflictError);
      expect(gateway.requests.filter((r) => r.path === '/api/payOut')).toHaveLength(2);
    });

    it('raises PayoutOutcomeUnknownError carrying the mchOrderNo when every attempt is ambiguous', async () => {
      gateway.fallback = () => ({ drop: true });
      try {
        const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
        expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
        expect(error).toBeInstanceOf(PayoutError);
        expect(error.mchOrderNo).toBe(PEN_PAYOUT.mchOrderNo);
        expect(error.message).not.toContain(PEN_ACCOUNT.apiKey);
        const creates = gateway.requests.filter((r) => r.path === '/api/payOut');
        expect(creates).toHaveLength(1); // never re-sent without a definite "not found"
        expect(new Set(gateway.requests.map((r) => r.json.mchOrderNo))).toEqual(
          new Set([PEN_PAYOUT.mchOrderNo]),
        );
      } finally {
        gateway.fallback = () => ({
          envelope: { code: 500, msg: 'System_error' },
        });
      }
    });

    it('does not re-send the create when the lookup fails for another reason than "not found"', async () => {
      gateway.then({ drop: true }, { envelope: { code: 401, msg: 'Sign_verify_error' } });
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
      expect(gateway.requests.map((r) => r.path)).toEqual(['/api/payOut', '/api/payOutQuery']);
    });

    it('retries a query after a transport failure', async () => {
      gateway.then(
        { drop: true },
        ok({
          merchantId: '1002001',
          mchOrderNo: 'Q1',
          orderNo: 'PAYOUT3',
          amount: '10',
          fee: null,
          orderStatus: 'PAYING',
        }),
      );
      await expect(
        payouts.queryPayout({ mchOrderNo: 'Q1', currency: 'PEN' }),
      ).resolves.toMatchObject({ amount: '10.00', orderStatus: 'PAYING' });
      expect(gateway.requests).toHaveLength(2);
    });
  });

  describe("transport (the module's own HttpService, axios instance and keep-alive agents)", () => {
    const transportFailure = async (call: Promise<unknown>) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CashyTransportError);
      expect(String((error as Error).message)).not.toContain(PEN_ACCOUNT.apiKey);
      return error as CashyTransportError;
    };

    it('reports a gateway that never answers as a timeout, once per attempt', async () => {
      gateway.then({ hang: true }, { hang: true }, { hang: true });
      const error = await transportFailure(payouts.getBalance({ currency: 'PEN' }));
      expect(error).toMatchObject({
        failure: 'timeout',
        endpoint: '/api/getBalance',
      });
      expect(error.message).toMatch(/within 300 ms/);
      expect(gateway.requests).toHaveLength(3);
    });

    it('reports a dropped connection as a connection failure', async () => {
      gateway.then({ drop: true }, { drop: true }, { drop: true });
      await expect(
        transportFailure(payouts.getBalance({ currency: 'PEN' })),
      ).resolves.toMatchObject({ failure: 'connection' });
    });

    it('never follows a redirect: a signed request goes to the configured gateway only', async () => {
      // Pointing back at the same gateway, so a followed redirect would show up in its log.
      const redirect = {
        text: '',
        httpStatus: 307,
        headers: { Location: `${gatewayUrl}/elsewhere` },
      };
      gateway.then(redirect, redirect, redirect);
      await expect(
        transportFailure(payouts.getBalance({ currency: 'PEN' })),
      ).resolves.toMatchObject({ failure: 'http-status' });
      expect(gateway.requests.map((r) => r.path)).toEqual([
        '/api/getBalance',
        '/api/getBalance',
        '/api/getBalance',
      ]);
    });

    it('stops reading an answer longer than 4 MiB', async () => {
      const huge = {
        text: `{"code":200,"msg":"SUCCESS","data":"${'x'.repeat(4 * 1024 * 1024)}"}`,
      };
      gateway.then(huge, huge, huge);
      const error = await transportFailure(payouts.getBalance({ currency: 'PEN' }));
      expect(error).toMatchObject({ failure: 'unparsable' });
      expect(error.message).toMatch(/longer than/);
    });

    it('keeps a path prefix of baseUrl, and reuses one connection for consecutive calls', async () => {
      await boot({ baseUrl: `${gatewayUrl}/gateway/v1/` });
      gateway.then(
        ok({ mchId: 1002001, balance: '1.00', unBalance: '0' }),
        ok({ mchId: 1002001, balance: '2.00', unBalance: '0' }),
      );
      await payouts.getBalance({ currency: 'PEN' });
      await payouts.getBalance({ currency: 'PEN' });
      expect(gateway.requests.map((r) => r.path)).toEqual([
        '/gateway/v1/api/getBalance',
        '/gateway/v1/api/getBalance',
      ]);
      expect(gateway.requests[1].headers.connection).toBe('keep-alive');
      expect(gateway.requests[0].headers['user-agent']).toMatch(/^nestjs-cashy-payout /);
      expect(gateway.requests.map((r) => r.remotePort)).toEqual([
        gateway.requests[0].remotePort,
        gateway.requests[0].remotePort,
      ]);
      expect(gateway.requests[0].headers).toMatchObject({
        accept: 'application/json',
        'content-length': String(gateway.requests[0].raw.length),
      });
    });

    it("sends every call through the module's HttpService", async () => {
      const http = moduleRef.get(HttpService);
      const seen: string[] = [];
      http.axiosRef.interceptors.response.use((response) => {
        seen.push(`${response.config.method} ${response.config.url} ${response.status}`);
        return response;
      });
      gateway.then(ok({ mchId: 1002001, balance: '1.00', unBalance: '0' }));
      await payouts.getBalance({ currency: 'PEN' });
      expect(seen).toEqual([`post ${gatewayUrl}/api/getBalance 200`]);
    });

    it('adds the extra headers of http.headers, which may replace User-Agent but not what is signed', async () => {
      await boot({
        http: {
          headers: {
            'X-Egress-Token': 'egress-1',
            'user-agent': 'acme-payouts/2.0',
          },
        },
      });
      gateway.then(ok({ mchId: 1002001, balance: '1.00', unBalance: '0' }));
      await payouts.getBalance({ currency: 'PEN' });
      const [request] = gateway.requests;
      expect(request.headers).toMatchObject({
        'x-egress-token': 'egress-1',
        'user-agent': 'acme-payouts/2.0',
        'content-type': 'application/json',
      });
      expect(request.headers.sign).toBe(signCashyBody(request.raw, PEN_ACCOUNT.apiKey));
      await expect(boot({ http: { headers: { sign: 'forged' } } })).rejects.toThrow(
        /http\.headers\.sign may not be set/,
      );
    });
  });
});

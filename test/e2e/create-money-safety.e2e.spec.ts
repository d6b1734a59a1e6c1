import type { TestingModule } from '@nestjs/testing';
import {
  CashyApiError,
  OnPayoutAnomaly,
  PayoutAnomalyEvent,
  type PayoutModuleOptions,
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutService,
  PayoutValidationError,
} from '../../lib';
import { Injectable } from '@nestjs/common';
import { type ScriptedAnswer, ScriptedGateway } from '../support/scripted-gateway';
import { envelope, penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';

const PEN_PAYOUT = penPayout('PE-SAFE-1');
const order = (extra: Record<string, unknown> = {}) => ({
  merchantId: '1002001',
  mchOrderNo: PEN_PAYOUT.mchOrderNo,
  orderNo: 'PAYOUT8600000000000000009',
  amount: '150.50',
  fee: '1.50',
  orderStatus: 'PROCESSING',
  ...extra,
});
const created = (extra: Record<string, unknown> = {}) => envelope(200, 'SUCCESS', order(extra));
const NOT_FOUND = envelope(400, 'Order_not_exist');

@Injectable()
class AnomalyRecorder {
  readonly anomalies: PayoutAnomalyEvent[] = [];
  @OnPayoutAnomaly()
  record(event: PayoutAnomalyEvent): void {
    this.anomalies.push(event);
  }
}

describe('createPayout and reconcile under ambiguity (money-safety rules 1 to 5)', () => {
  let gateway: ScriptedGateway;
  let gatewayUrl: string;
  let moduleRef: TestingModule;
  let payouts: PayoutService;
  let recorder: AnomalyRecorder;

  async function boot(options: Partial<PayoutModuleOptions> = {}) {
    await moduleRef?.close();
    moduleRef = await compileScriptedPayoutModule(gatewayUrl, options, {
      providers: [AnomalyRecorder],
      init: true,
    });
    payouts = moduleRef.get(PayoutService);
    recorder = moduleRef.get(AnomalyRecorder);
  }

  const creates = () => gateway.requests.filter((r) => r.path === '/api/payOut').length;
  const paths = () => gateway.requests.map((r) => r.path.replace('/api/', ''));

  beforeAll(async () => {
    gateway = new ScriptedGateway();
    gatewayUrl = await gateway.start();
  });
  beforeEach(async () => {
    gateway.requests.length = 0;
    gateway.fallback = () => NOT_FOUND;
    await boot();
  });
  afterAll(async () => {
    await moduleRef?.close();
    await gateway.stop();
  });

  describe('rule 1: definite means published', () => {
    it.each<[string, ScriptedAnswer]>([
      ['{code:500,msg:"Internal_error"}', envelope(500, 'Internal_error')],
      ['{code:504,msg:"Gateway_timeout"}', envelope(504, 'Gateway_timeout')],
      ['{code:500,msg:""}', envelope(500, '')],
      ['an envelope without msg', { envelope: { code: 500 } }],
      [
        'HTTP 429 with a published rejection in the body',
        {
          envelope: { code: 400, msg: 'Params_amount_error' },
          httpStatus: 429,
        },
      ],
      ['HTTP 404 with no body', { text: '', httpStatus: 404 }],
      [
        'a code-200 answer without an orderNo',
        envelope(200, 'SUCCESS', { orderStatus: 'PROCESSING' }),
      ],
      ['a code-200 answer whose data is an array', envelope(200, 'SUCCESS', [order()])],
      ['an unknown code with a SUCCESS msg', envelope(201, 'SUCCESS', order())],
      ['System_error', envelope(500, 'System_error')],
      ['an unpublished rejection (Balance_not_enough)', envelope(400, 'Balance_not_enough')],
    ])('reads %s as ambiguous: looks the order up and never re-sends', async (_case, answer) => {
      gateway.then(answer, created());
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        orderNo: 'PAYOUT8600000000000000009',
      });
      expect(paths()).toEqual(['payOut', 'payOutQuery']);
    });

    it.each(['Internal_error', 'Gateway_timeout', ''])(
      'ends in PayoutOutcomeUnknownError, never CashyApiError, when %j is followed by "not found"',
      async (msg) => {
        gateway.then(envelope(500, msg));
        const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
        expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
        expect(error).not.toBeInstanceOf(CashyApiError);
        expect(creates()).toBe(1);
      },
    );

    it.each([
      'Params_amount_error',
      'Params_bankId_Required',
      'MerchantId_is_error',
      'Request_ip_notWhiteList',
      'RequestBody_is_null',
      'Sign_verify_error',
    ])(
      'reads the published rejection %s as definite: CashyApiError after one request, and the mchOrderNo may be sent again',
      async (msg) => {
        gateway.then(envelope(400, msg), created());
        const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
        expect(error).toBeInstanceOf(CashyApiError);
        expect(error).toMatchObject({ code: 400, msg });
        expect(paths()).toEqual(['payOut']);
        await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
          orderNo: 'PAYOUT8600000000000000009',
        });
        expect(paths()).toEqual(['payOut', 'payOut']);
      },
    );

    it.each([
      'Params_mchOrderNo_repeat',
      'Duplicate_order',
      'Repeat_mchOrderNo',
      'Order_already_exists',
      'mchOrderNo_exists',
    ])('reads %s as "the order exists": looks it up and returns it', async (msg) => {
      gateway.then(envelope(400, msg), created());
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        orderNo: 'PAYOUT8600000000000000009',
      });
      expect(paths()).toEqual(['payOut', 'payOutQuery']);
    });

    it('lets the host override the duplicate-order wording', async () => {
      await boot({ gatewayMessages: { duplicateOrder: /^Orden_duplicada$/ } });
      gateway.then(envelope(400, 'Orden_duplicada'), created());
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        orderNo: 'PAYOUT8600000000000000009',
      });
      expect(paths()).toEqual(['payOut', 'payOutQuery']);
    });

    it('retries System_busy and ends in CashyApiError when busy throughout (nothing was created)', async () => {
      gateway.then(
        envelope(500, 'System_busy'),
        envelope(500, 'System_Maintenance'),
        envelope(500, 'System_busy'),
      );
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error).toBeInstanceOf(CashyApiError);
      expect(error).toMatchObject({ code: 500, msg: 'System_busy' });
      expect(paths()).toEqual(['payOut', 'payOut', 'payOut']);
    });
  });

  describe('rule 2: once ambiguous, never "rejected"', () => {
    it('after a drop, a lookup that does not find it yet, and a re-send rejected as Balance_not_enough: unknown, not CashyApiError', async () => {
      await boot({ resendWindowMs: 0 });
      gateway.then({ drop: true }, NOT_FOUND, envelope(400, 'Balance_not_enough'));
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
      expect(error.mchOrderNo).toBe(PEN_PAYOUT.mchOrderNo);
      // The re-send really was answered Balance_not_enough (the case under test).
      expect(paths().slice(0, 3)).toEqual(['payOut', 'payOutQuery', 'payOut']);
    });

    it('even a published rejection after an ambiguous attempt ends in PayoutOutcomeUnknownError', async () => {
      await boot({ resendWindowMs: 0 });
      gateway.then({ drop: true }, NOT_FOUND, envelope(400, 'Params_amount_error'));
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
      expect(paths().slice(0, 3)).toEqual(['payOut', 'payOutQuery', 'payOut']);
    });
  });

  describe('rule 3: no re-send inside the processing window', () => {
    it('sends one create per call after a timeout, whatever the lookups say, and says why', async () => {
      gateway.then({ hang: true });
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
      expect(error.message).toMatch(/re-send window/);
      expect(creates()).toBe(1);
    });

    it('does not send it again when the host calls createPayout again inside the window', async () => {
      gateway.then({ drop: true });
      await expect(payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      await expect(payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      expect(creates()).toBe(1);
      expect(paths().filter((p) => p === 'payOutQuery').length).toBeGreaterThanOrEqual(2);
    });

    it('returns the order from the second call once the gateway shows it', async () => {
      gateway.then({ drop: true });
      await expect(payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      gateway.then(created({ orderStatus: 'PAYING' }));
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        orderStatus: 'PAYING',
      });
      expect(creates()).toBe(1);
    });

    it('sends one create for concurrent calls with the same mchOrderNo', async () => {
      gateway.fallback = (request) => (request.path === '/api/payOut' ? created() : NOT_FOUND);
      const results = await Promise.allSettled([
        payouts.createPayout(PEN_PAYOUT),
        payouts.createPayout(PEN_PAYOUT),
        payouts.createPayout(PEN_PAYOUT),
      ]);
      expect(creates()).toBe(1);
      expect(results.filter((r) => r.status === 'fulfilled')).not.toHaveLength(0);
      for (const result of results) {
        if (result.status === 'rejected')
          expect(result.reason).toBeInstanceOf(PayoutOutcomeUnknownError);
        else
          expect(result.value).toMatchObject({
            orderNo: 'PAYOUT8600000000000000009',
          });
      }
    });

    it('makes reconcile refuse to say null inside the window, and say it after', async () => {
      await boot({ resendWindowMs: 400 });
      gateway.then({ drop: true });
      await expect(payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      const inside = await payouts.reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo }).catch((e) => e);
      expect(inside).toBeInstanceOf(PayoutOutcomeUnknownError);
      expect(inside.message).toMatch(/re-send window/);
      await new Promise((r) => setTimeout(r, 450));
      await expect(payouts.reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo })).resolves.toBeNull();
      // Then the host may send it again: at once, with no lookup first.
      gateway.then(created());
      const before = gateway.requests.length;
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        orderNo: 'PAYOUT8600000000000000009',
      });
      expect(paths().slice(before)).toEqual(['payOut']);
    });

    it('validates resendWindowMs at startup, naming the option', async () => {
      await expect(boot({ resendWindowMs: -1 })).rejects.toThrow(/resendWindowMs/);
    });
  });

  describe('rule 4: 200 means created', () => {
    it('keeps an undocumented orderStatus as received, and never looks up or re-sends', async () => {
      gateway.then(created({ orderStatus: 'ACCEPTED' }));
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        orderStatus: 'ACCEPTED',
        orderNo: 'PAYOUT8600000000000000009',
      });
      expect(paths()).toEqual(['payOut']);
    });

    it('keeps a 200 with an unparsable fee as created', async () => {
      gateway.then(created({ fee: 'n/a' }));
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        fee: null,
        amount: '150.50',
      });
      expect(paths()).toEqual(['payOut']);
    });

    it('rejects an answer for another amount (150.50 asked, 1505.00 answered) with PayoutOrderConflictError and an anomaly', async () => {
      gateway.then(created({ amount: '1505.00' }));
      const error = await payouts.createPayout(PEN_PAYOUT).catch((e) => e);
      expect(error).toBeInstanceOf(PayoutOrderConflictError);
      expect(error).toMatchObject({
        mchOrderNo: PEN_PAYOUT.mchOrderNo,
        orderNo: 'PAYOUT8600000000000000009',
      });
      expect(recorder.anomalies).toEqual([
        expect.objectContaining({
          kind: 'answer',
          orderNo: 'PAYOUT8600000000000000009',
          status: 'PROCESSING',
        }),
      ]);
      expect(paths()).toEqual(['payOut']);
      // Never sent again: the next call only looks.
      gateway.then(created({ amount: '1505.00' }));
      await expect(payouts.createPayout(PEN_PAYOUT)).rejects.toThrow(PayoutOrderConflictError);
      expect(creates()).toBe(1);
    });

    it('rejects an answer for another mchOrderNo with PayoutOrderConflictError', async () => {
      gateway.then(created({ mchOrderNo: 'SOMEONE-ELSE' }));
      await expect(payouts.createPayout(PEN_PAYOUT)).rejects.toThrow(PayoutOrderConflictError);
      expect(paths()).toEqual(['payOut']);
    });

    it('refuses, before sending, an mchOrderNo this module already sent for another amount', async () => {
      gateway.then(created());
      await payouts.createPayout(PEN_PAYOUT);
      const error = await payouts.createPayout({ ...PEN_PAYOUT, amount: '99.00' }).catch((e) => e);
      expect(error).toBeInstanceOf(PayoutOrderConflictError);
      expect(paths()).toEqual(['payOut']);
    });

    it('returns the same order for a second call with the same input, without sending it again', async () => {
      gateway.then(created(), created({ orderStatus: 'PAYING' }));
      await payouts.createPayout(PEN_PAYOUT);
      await expect(payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
        orderNo: 'PAYOUT8600000000000000009',
        orderStatus: 'PAYING',
      });
      expect(paths()).toEqual(['payOut', 'payOutQuery']);
    });
  });

  describe('rule 5: not found means the order', () => {
    it.each([
      'Merchant_not_exist',
      'Route_not_found',
      'Api_not_found',
      'MerchantId_is_error',
      'Sign_verify_error',
    ])(
      'does not read %s as "not found": reconcile rejects, and createPayout never re-sends',
      async (msg) => {
        gateway.fallback = () => envelope(400, msg);
        const error = await payouts
          .reconcile({ mchOrderNo: 'NEVER-SENT', currency: 'PEN' })
          .catch((e) => e);
        expect(error).toBeInstanceOf(CashyApiError);
        expect(error.msg).toBe(msg);

        await boot({ resendWindowMs: 0 });
        gateway.requests.length = 0;
        gateway.then({ drop: true });
        await expect(payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
          PayoutOutcomeUnknownError,
        );
        expect(creates()).toBe(1);
      },
    );

    it('lets the host override the not-found wording', async () => {
      await boot({
        gatewayMessages: { orderNotFound: /^Pedido_inexistente$/ },
      });
      gateway.then(envelope(400, 'Pedido_inexistente'));
      await expect(
        payouts.reconcile({ mchOrderNo: 'NEVER-SENT', currency: 'PEN' }),
      ).resolves.toBeNull();
      gateway.then(NOT_FOUND, NOT_FOUND, NOT_FOUND);
      await expect(
        payouts.reconcile({ mchOrderNo: 'NEVER-SENT', currency: 'PEN' }),
      ).rejects.toBeInstanceOf(CashyApiError);
    });

    it('rejects gatewayMessages that are not regular expressions, naming the option', async () => {
      await expect(
        boot({
          gatewayMessages: { orderNotFound: 'Order_not_exist' as never },
        }),
      ).rejects.toThrow(/gatewayMessages\.orderNotFound/);
    });

    it('never says null for an order the gateway answered with before', async () => {
      gateway.then(created());
      await payouts.createPayout(PEN_PAYOUT);
      gateway.then(NOT_FOUND, NOT_FOUND, NOT_FOUND);
      await expect(payouts.reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo })).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
    });
  });

  describe('rule 9: printable strings only', () => {
    it.each([
      ['idType', { idType: '1\u202e' }],
      ['email', { email: 'ana\u200b@example.com' }],
      ['notifyUrl', { notifyUrl: 'https://pay.example.com/\u0007hook' }],
    ])(
      'refuses a control or invisible character in %s before anything is sent',
      async (field, fields) => {
        const error = await payouts.createPayout({ ...PEN_PAYOUT, ...fields }).catch((e) => e);
        expect(error).toBeInstanceOf(PayoutValidationError);
        expect(error.errors).toEqual([expect.objectContaining({ field, rule: 'printable' })]);
        expect(gateway.requests).toHaveLength(0);
      },
    );

    it('sends notifyUrl normalized', async () => {
      gateway.then(created());
      await payouts.createPayout({
        ...PEN_PAYOUT,
        notifyUrl: 'HTTPS://Pay.Example.com:443/hooks/../payout',
      });
      expect(gateway.requests[0].json.notifyUrl).toBe('https://pay.example.com/payout');
    });
  });
});

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { INestApplication } from '@nestjs/common';
import { PAYOUT_DIAGNOSTICS_CHANNELS, PayoutModule, PayoutService } from '../../lib';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { startHostApp } from '../support/host-app';
import { deliver, MXN_ACCOUNT, notification, PEN_ACCOUNT } from '../support/notifications';
import { ScriptedGateway } from '../support/scripted-gateway';
import { penPayout } from '../support/payouts';

const PEN_PAYOUT = penPayout('DIAG-1');
const created = {
  envelope: {
    code: 200,
    msg: 'SUCCESS',
    data: {
      merchantId: '1002001',
      mchOrderNo: 'DIAG-1',
      orderNo: 'PAYOUT1',
      amount: '150.50',
      fee: '1.50',
      orderStatus: 'PROCESSING',
    },
  },
};

describe('diagnostics channels', () => {
  let gateway: ScriptedGateway;
  let app: INestApplication;
  let url: string;
  let payouts: PayoutService;
  const seen: Record<string, Record<string, unknown>[]> = {};
  const listeners = Object.values(PAYOUT_DIAGNOSTICS_CHANNELS).map((name) => {
    seen[name] = [];
    return [
      name,
      (message: unknown) => seen[name].push(message as Record<string, unknown>),
    ] as const;
  });

  beforeAll(async () => {
    gateway = new ScriptedGateway();
    const baseUrl = await gateway.start();
    ({ app, url } = await startHostApp(
      'express',
      PayoutModule.forRoot({
        baseUrl,
        accounts: [PEN_ACCOUNT, MXN_ACCOUNT],
        timeoutMs: 200,
        retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
        reconciliation: false,
      }),
    ));
    payouts = app.get(PayoutService);
    for (const [name, onMessage] of listeners) subscribe(name, onMessage);
  });
  afterAll(async () => {
    for (const [name, onMessage] of listeners) unsubscribe(name, onMessage);
    await app.close();
    await gateway.stop();
  });
  beforeEach(() => {
    for (const list of Object.values(seen)) list.length = 0;
    gateway.requests.length = 0;
  });

  it('publishes every gateway request with its attempt and outcome, and every retry', async () => {
    gateway.then({ envelope: { code: 500, msg: 'System_busy' } }, created);
    await payouts.createPayout({
      ...PEN_PAYOUT,
      notifyUrl: 'https://example.com/hook',
    });
    expect(seen[PAYOUT_DIAGNOSTICS_CHANNELS.request]).toEqual([
      expect.objectContaining({
        endpoint: '/api/payOut',
        merchantId: '1002001',
        attempt: 1,
        outcome: 'answered',
        httpStatus: 200,
        code: 500,
        msg: 'System_busy',
      }),
      expect.objectContaining({
        endpoint: '/api/payOut',
        merchantId: '1002001',
        attempt: 2,
        outcome: 'answered',
        httpStatus: 200,
        code: 200,
        msg: 'SUCCESS',
      }),
    ]);
    expect(
      seen[PAYOUT_DIAGNOSTICS_CHANNELS.request].every(
        (m) => typeof m.durationMs === 'number' && m.durationMs >= 0,
      ),
    ).toBe(true);
    expect(seen[PAYOUT_DIAGNOSTICS_CHANNELS.retry]).toEqual([
      expect.objectContaining({
        endpoint: '/api/payOut',
        merchantId: '1002001',
        attempt: 2,
        reason: expect.stringMatching(/System_busy/),
      }),
    ]);
    // Never a body, a Sign or a key.
    expect(JSON.stringify(seen)).not.toContain(PEN_ACCOUNT.apiKey);
    expect(JSON.stringify(seen)).not.toMatch(/accountNo|19312345678901/);
  });

  it('publishes a timeout as the request outcome, and an unknown create', async () => {
    gateway.then({ hang: true });
    gateway.fallback = () => ({
      envelope: { code: 400, msg: 'Order_not_exist' },
    });
    await expect(
      payouts.createPayout({
        ...PEN_PAYOUT,
        mchOrderNo: 'DIAG-2',
        notifyUrl: 'https://example.com/hook',
      }),
    ).rejects.toThrow(/unknown/);
    expect(seen[PAYOUT_DIAGNOSTICS_CHANNELS.request][0]).toMatchObject({
      endpoint: '/api/payOut',
      outcome: 'timeout',
    });
    expect(seen[PAYOUT_DIAGNOSTICS_CHANNELS.outcomeUnknown]).toEqual([
      expect.objectContaining({
        mchOrderNo: 'DIAG-2',
        merchantId: '1002001',
        reason: expect.any(String),
      }),
    ]);
  });

  it('publishes every webhook answer with its status and reason, the guard refusals included', async () => {
    const webhook = `${url}/payout/webhook`;
    const body = notification();
    await deliver(webhook, body);
    await deliver(webhook, body);
    await deliver(webhook, body, PEN_ACCOUNT, { sign: 'A'.repeat(32) });
    await deliver(webhook, notification({ amount: 'abc' }));
    expect(
      seen[PAYOUT_DIAGNOSTICS_CHANNELS.webhook].map((m) => [m.status, m.reason, m.result]),
    ).toEqual([
      [200, 'acknowledged', 'emitted'],
      [200, 'acknowledged', 'duplicate'],
      [401, 'signature', undefined],
      [400, 'invalid', undefined],
    ]);
    expect(seen[PAYOUT_DIAGNOSTICS_CHANNELS.webhook][0]).toMatchObject({
      merchantId: '1002001',
      orderNo: body.orderNo,
    });
  });

  it('publishes each sweep of the built-in reconciliation', async () => {
    await app.get(PayoutReconciliationService).sweep();
    expect(seen[PAYOUT_DIAGNOSTICS_CHANNELS.sweep]).toEqual([
      expect.objectContaining({
        durationMs: expect.any(Number),
        settled: expect.any(Number),
        open: expect.any(Number),
      }),
    ]);
  });
});

import { type INestApplication, Injectable } from '@nestjs/common';
import {
  OnPayoutSucceeded,
  PayoutModule,
  PayoutOrderConflictError,
  PayoutService,
} from '../../lib';
import { ADAPTERS, type RecordingListener, startHostApp } from '../support/host-app';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { deliver, notification, PEN_ACCOUNT } from '../support/notifications';
import { penPayout } from '../support/payouts';

/** A second payout.succeeded listener of the host, that fails at once when told to. */
@Injectable()
class FailingSibling {
  fail = false;
  @OnPayoutSucceeded()
  onSucceeded(): void {
    if (this.fail) throw new Error('sibling listener failed');
  }
}

/**
 * The webhook says SUCCESS only for what is recorded, and each outcome is emitted once: through a
 * wall clock stepped under a slow listener, a sibling listener that fails first, and a create whose
 * answer races its webhook. Real HTTP, on both adapters.
 */
describe.each(ADAPTERS)('adversarial: the webhook acknowledgement on %s', (adapter) => {
  let app: INestApplication | undefined;
  let gateway: LateCommitGateway;
  afterEach(async () => {
    jest.restoreAllMocks();
    await app?.close();
    app = undefined;
    await gateway?.stop();
  });

  async function start(
    options: Parameters<typeof PayoutModule.forRoot>[0] extends infer O ? Partial<O> : never = {},
  ): Promise<{
    url: string;
    listener: RecordingListener;
    payouts: PayoutService;
  }> {
    gateway = new LateCommitGateway();
    const started = await startHostApp(
      adapter,
      PayoutModule.forRoot({
        baseUrl: await gateway.start(),
        accounts: [PEN_ACCOUNT],
        notifyUrl: 'https://merchant.example.com/payout/webhook',
        timeoutMs: 2_000,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: false,
        ...options,
      }),
      { providers: [FailingSibling] },
    );
    app = started.app;
    return {
      url: `${started.url}/payout/webhook`,
      listener: started.listener,
      payouts: app.get(PayoutService),
    };
  }

  it('a wall clock stepped past the claim under a slow listener lets no copy emit again', async () => {
    const { url, listener } = await start({
      delivery: { claimTtlMs: 1_000, claimWaitMs: 100 },
    });
    const body = notification();
    listener.delayMs = 400;
    const first = deliver(url, body);
    while (listener.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    const wall = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(wall + 10 * 60_000);
    // The copy finds the claim alive (on the store's clock): it waits, then 503; nothing runs twice.
    expect((await deliver(url, body)).status).toBe(503);
    expect(await first).toMatchObject({ status: 200, text: 'SUCCESS' });
    expect(listener.events).toHaveLength(1);
  });

  it('a sibling listener that fails first does not free the order while the others still run', async () => {
    const { url, listener } = await start({
      delivery: { claimTtlMs: 5_000, claimWaitMs: 2_000 },
    });
    app!.get(FailingSibling).fail = true;
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, listener.inFlight)), 1);
    const body = notification();
    listener.delayMs = 300;
    const first = deliver(url, body);
    while (listener.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    app!.get(FailingSibling).fail = false;
    const copy = deliver(url, body);
    // The first delivery reports its failure only once every listener has settled.
    expect((await first).status).toBe(500);
    expect(await copy).toMatchObject({ status: 200, text: 'SUCCESS' });
    clearInterval(watch);
    expect(most).toBe(1);
  });
});

describe('adversarial: a create answer after its webhook', () => {
  let gateway: LateCommitGateway;
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await gateway.stop();
  });

  /** A host whose gateway answers the create only once the test says so (after a webhook ran). */
  async function startCreateHeldForWebhook() {
    gateway = new LateCommitGateway();
    const started = await startHostApp(
      'express',
      PayoutModule.forRoot({
        baseUrl: await gateway.start(),
        accounts: [PEN_ACCOUNT],
        notifyUrl: 'https://merchant.example.com/payout/webhook',
        reconciliation: false,
      }),
    );
    app = started.app;
    let answerCreate!: () => void;
    const webhookFirst = new Promise<void>((resolve) => (answerCreate = resolve));
    gateway.beforeCreateAnswer = () => webhookFirst;
    return {
      payouts: app.get(PayoutService),
      url: `${started.url}/payout/webhook`,
      listener: started.listener,
      answerCreate,
    };
  }

  it('a create answered with order X after a webhook reported order Y raises PayoutOrderConflictError and one anomaly', async () => {
    const { payouts, url, listener, answerCreate } = await startCreateHeldForWebhook();
    const created = payouts.createPayout(penPayout('ACK-XY')).catch((e: unknown) => e);
    while (gateway.payOuts === 0) await new Promise((r) => setTimeout(r, 5));
    const y = notification({
      mchOrderNo: 'ACK-XY',
      orderNo: 'ORDER-Y',
      orderStatus: 'SUCCESS',
    });
    expect(await deliver(url, y)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    answerCreate();

    expect(await created).toBeInstanceOf(PayoutOrderConflictError);
    expect(listener.anomalies.map((a) => [a.kind, a.orderNo])).toEqual([['answer', 'LC1']]);
    // X's own SUCCESS later: not a second payout.succeeded for ACK-XY.
    const x = notification({
      mchOrderNo: 'ACK-XY',
      orderNo: 'LC1',
      orderStatus: 'SUCCESS',
    });
    expect((await deliver(url, x)).status).toBe(200);
    expect(listener.events.map((e) => e.payload.orderNo)).toEqual(['ORDER-Y']);
  });

  it('a published rejection after a webhook showed the order resolves with the order, never CashyApiError', async () => {
    const { payouts, url, answerCreate } = await startCreateHeldForWebhook();
    gateway.rejectNextCreates(1, 'Params_accountNo_error');
    gateway.orders.push({
      orderNo: 'ORDER-W',
      mchOrderNo: 'ACK-REJ',
      merchantId: PEN_ACCOUNT.merchantId,
      amount: '150.50',
      orderStatus: 'SUCCESS',
    });
    const created = payouts.createPayout(penPayout('ACK-REJ')).catch((e: unknown) => e);
    while (gateway.payOuts === 0) await new Promise((r) => setTimeout(r, 5));
    const w = notification({
      mchOrderNo: 'ACK-REJ',
      orderNo: 'ORDER-W',
      orderStatus: 'SUCCESS',
    });
    expect(await deliver(url, w)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    answerCreate();
    expect(await created).toMatchObject({
      orderNo: 'ORDER-W',
      mchOrderNo: 'ACK-REJ',
    });
  });
});

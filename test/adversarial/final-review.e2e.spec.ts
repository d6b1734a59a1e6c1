import { type INestApplication, Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  CashyApiError,
  MemoryPayoutStore,
  OnPayoutAnomaly,
  OnPayoutNotCreated,
  OnPayoutSucceeded,
  PayoutAnomalyEvent,
  PayoutModule,
  PayoutNotCreatedEvent,
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutService,
  PayoutSucceededEvent,
  type PayoutModuleOptions,
} from '../../lib';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { TestPayoutClock } from '../../lib/testing';
import { HostileGateway } from '../support/hostile-gateway';
import { startHostApp } from '../support/host-app';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { deliver, notification, PEN_ACCOUNT } from '../support/notifications';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { waitUntil } from '../support/wait-until';

/**
 * Final adversarial review of issues 25 (the sweep keeps the promise) and 26 (the webhook says
 * SUCCESS only for what is recorded). Each test states the contract and fails on the code it was
 * written against; tests named "holds: …" are attacks the code survived, kept because no other
 * test covers them.
 */

/** A payout.succeeded listener the test can hold open (a host ledger still writing). */
@Injectable()
class GatedListener {
  private gate?: Promise<void>;
  private open?: () => void;
  entered = 0;
  close(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.open?.();
    this.gate = undefined;
  }
  @OnPayoutSucceeded()
  async onSucceeded(): Promise<void> {
    this.entered++;
    await this.gate;
  }
}

describe('final review: a webhook whose listeners still run when the create answers', () => {
  let gateway: LateCommitGateway;
  let app: INestApplication | undefined;
  afterEach(async () => {
    app?.get(GatedListener).release();
    await app?.close();
    app = undefined;
    await gateway.stop();
  });

  async function start() {
    gateway = new LateCommitGateway();
    const started = await startHostApp(
      'express',
      PayoutModule.forRoot({
        baseUrl: await gateway.start(),
        accounts: [PEN_ACCOUNT],
        notifyUrl: 'https://merchant.example.com/payout/webhook',
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: false,
      }),
      { providers: [GatedListener] },
    );
    app = started.app;
    let answerCreate!: () => void;
    const held = new Promise<void>((resolve) => (answerCreate = resolve));
    gateway.beforeCreateAnswer = () => held;
    return {
      payouts: app.get(PayoutService),
      gate: app.get(GatedListener),
      url: `${started.url}/payout/webhook`,
      listener: started.listener,
      answerCreate,
    };
  }

  it('one mchOrderNo, one payout.succeeded: a create answered with X while the webhook of Y still runs its listeners is a conflict', async () => {
    const { payouts, gate, url, listener, answerCreate } = await start();
    const created = payouts.createPayout(penPayout('FR-XY')).catch((e: unknown) => e);
    await waitUntil(() => gateway.payOuts === 1, 'the create to reach the gateway');
    // The gateway (lying, or holding two orders) reports ORDER-Y for FR-XY; the host's ledger is slow.
    gate.close();
    const y = deliver(
      url,
      notification({ mchOrderNo: 'FR-XY', orderNo: 'ORDER-Y', orderStatus: 'SUCCESS' }),
    );
    await waitUntil(() => gate.entered === 1, "Y's listener to start");
    // The create's answer arrives while Y's listener runs: order LC1.
    answerCreate();
    const result = await created;
    gate.release();
    expect((await y).status).toBe(200);
    // LC1's own SUCCESS arrives.
    const x = await deliver(
      url,
      notification({ mchOrderNo: 'FR-XY', orderNo: 'LC1', orderStatus: 'SUCCESS' }),
    );
    expect(x.status).toBe(200);
    expect({
      created:
        result instanceof Error
          ? result.constructor.name
          : `resolved with ${(result as { orderNo: string }).orderNo}`,
      succeeded: listener.events
        .filter((e) => e.payload.mchOrderNo === 'FR-XY')
        .map((e) => e.payload.orderNo),
    }).toEqual({ created: PayoutOrderConflictError.name, succeeded: ['ORDER-Y'] });
  });

  it('never a definite rejection for an order whose payout.succeeded is being emitted: a published rejection answered while the webhook listeners run', async () => {
    const { payouts, gate, url, listener, answerCreate } = await start();
    gateway.rejectNextCreates(1, 'Params_accountNo_error');
    gateway.orders.push({
      orderNo: 'ORDER-W',
      mchOrderNo: 'FR-REJ',
      merchantId: PEN_ACCOUNT.merchantId,
      amount: '150.50',
      orderStatus: 'SUCCESS',
    });
    const created = payouts.createPayout(penPayout('FR-REJ')).catch((e: unknown) => e);
    await waitUntil(() => gateway.payOuts === 1, 'the create to reach the gateway');
    gate.close();
    const w = deliver(
      url,
      notification({ mchOrderNo: 'FR-REJ', orderNo: 'ORDER-W', orderStatus: 'SUCCESS' }),
    );
    await waitUntil(() => gate.entered === 1, "W's listener to start");
    answerCreate();
    const result = await created;
    gate.release();
    expect((await w).status).toBe(200);
    expect(listener.events.map((e) => [e.name, e.payload.orderNo])).toEqual([
      ['payout.succeeded', 'ORDER-W'],
    ]);
    // The host was told the payout succeeded; the same payout must not also be "definitely not created".
    expect(result).not.toBeInstanceOf(CashyApiError);
  });
});

/** What the host's listeners saw, and what they do. */
const behaviour = {
  notCreated: async (_event: PayoutNotCreatedEvent): Promise<void> => undefined,
};

@Injectable()
class SweepHost {
  readonly notCreated: string[] = [];
  readonly succeeded: string[] = [];
  readonly anomalies: PayoutAnomalyEvent[] = [];
  @OnPayoutNotCreated()
  async onNotCreated(event: PayoutNotCreatedEvent): Promise<void> {
    this.notCreated.push(event.mchOrderNo);
    await behaviour.notCreated(event);
  }
  @OnPayoutSucceeded()
  onSucceeded(event: PayoutSucceededEvent): void {
    this.succeeded.push(`${event.mchOrderNo}/${event.orderNo}`);
  }
  @OnPayoutAnomaly()
  onAnomaly(event: PayoutAnomalyEvent): void {
    this.anomalies.push(event);
  }
}

describe('final review: the sweep and reconcile()', () => {
  let clock: TestPayoutClock;
  let store: MemoryPayoutStore;
  const apps: TestingModule[] = [];
  const stops: (() => Promise<void>)[] = [];

  beforeEach(() => {
    clock = new TestPayoutClock(Date.UTC(2026, 11, 4, 12));
    store = new MemoryPayoutStore({ clock });
    behaviour.notCreated = async () => undefined;
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const app of apps.splice(0)) await app.close();
    for (const stop of stops.splice(0)) await stop();
  });

  async function start(baseUrl: string, options: Partial<PayoutModuleOptions> = {}) {
    const app = await compileScriptedPayoutModule(
      baseUrl,
      {
        resendWindowMs: 60_000,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        // On, so the sweep runs with the real policy; the timer never fires during a test.
        reconciliation: { intervalMs: 86_400_000 },
        delivery: { claimTtlMs: 5_000 },
        ...options,
        store,
      },
      { providers: [SweepHost], init: true },
    );
    apps.push(app);
    return {
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
      host: app.get(SweepHost),
    };
  }

  let gateway: HostileGateway;
  /** A hostile gateway for this test, stopped after it. */
  async function hostile(): Promise<string> {
    gateway = new HostileGateway();
    stops.push(() => gateway.stop());
    return gateway.start();
  }

  /** A lookup answer about another order (HG-OTHER) under `mchOrderNo`, in `orderStatus`. */
  function otherOrder(mchOrderNo: string, orderStatus: string) {
    return (asked: string | undefined) =>
      asked === mchOrderNo
        ? {
            orderNo: 'HG-OTHER',
            mchOrderNo,
            merchantId: PEN_ACCOUNT.merchantId,
            amount: '150.50',
            fee: null,
            orderStatus,
            completionTime: null,
          }
        : undefined;
  }

  it('rule 5: once a lookup answered with the order (in a status Cashy does not document), reconcile() never resolves null for it', async () => {
    const { payouts } = await start(await hostile());
    // The create times out; the gateway commits it late (order HG1).
    gateway.nextCreates('hang');
    await expect(payouts.createPayout(penPayout('FR-R5'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    gateway.commitHung();
    // HG1 is in a status Cashy does not document (rule 4: kept as received, never a failure).
    gateway.setStatus('FR-R5', 'REVIEW');
    clock.advance(61_000);
    // The gateway answers with the order: it exists.
    const first = await payouts.reconcile({ mchOrderNo: 'FR-R5' });
    expect(first).toMatchObject({ orderNo: 'HG1', orderStatus: 'REVIEW' });
    // Later the gateway answers "not found" for it (a lagging replica of its order book): the
    // module was told the order exists, so null ("send it again") would pay twice.
    gateway.nextLookups('lie-absent');
    const second = await payouts.reconcile({ mchOrderNo: 'FR-R5' }).then(
      (order) => (order === null ? 'null' : order.orderNo),
      (error: unknown) => (error as Error).constructor.name,
    );
    // Before the fix: 'null'. The anomaly branch of PayoutReconciler.settle returns before markCreated,
    // so the attempt stays 'unknown' with no orderNo, and confirmAbsent finds nothing that says
    // the gateway answered with an order before.
    expect(second).toBe(PayoutOutcomeUnknownError.name);
  });

  it('rule 5 through the sweep: an order the gateway answered with (for another amount) is never found not created afterwards', async () => {
    const { payouts, host, sweeper } = await start(await hostile());
    gateway.nextCreates('hang');
    const created = payouts.createPayout(penPayout('FR-R5B'));
    await expect(created).rejects.toBeInstanceOf(PayoutOutcomeUnknownError);
    gateway.commitHung();
    // The gateway's order says another amount: rule 4's conflict, but the order exists.
    gateway.orders[0].amount = '1505.00';
    clock.advance(61_000);
    await sweeper.sweep();
    expect(host.anomalies.map((a) => a.kind)).toEqual(['amount']);
    // The next look is answered "not found".
    gateway.nextLookups('lie-absent');
    clock.advance(30 * 60_000);
    await sweeper.sweep();
    // Before the fix: ['FR-R5B']: payout.not_created for an order the gateway answered with.
    expect(host.notCreated).toEqual([]);
  });

  it('an answer naming another order settles nothing, the second time too: a repeated reconcile() never stops the watch of the real order', async () => {
    const { payouts, sweeper, host } = await start(await hostile());
    const order = await payouts.createPayout(penPayout('FR-TWICE'));
    expect(order).toMatchObject({ orderNo: 'HG1', orderStatus: 'PROCESSING' });
    // The gateway's query answers, for FR-TWICE, another order that SUCCEEDED.
    gateway.rewriteLookup = otherOrder('FR-TWICE', 'SUCCESS');
    // An operator reconciles the open payout twice (by mchOrderNo, as the README shows).
    await payouts.reconcile({ mchOrderNo: 'FR-TWICE' }).catch(() => undefined);
    expect(host.anomalies.map((a) => [a.kind, a.orderNo])).toEqual([['mchOrderNo', 'HG-OTHER']]);
    await payouts.reconcile({ mchOrderNo: 'FR-TWICE' }).catch(() => undefined);
    // HG1 is still PROCESSING: it must stay watched.
    // Before the fix: []: the second report is a 'duplicate' anomaly (emitAnomalyOnce), not 'anomaly', so
    // PayoutReconciler.settle goes on and untracks FR-TWICE because HG-OTHER's status is final.
    expect((await payouts.listOpenPayouts()).map((p) => p.mchOrderNo)).toEqual(['FR-TWICE']);
    // HG1 succeeds; its webhook is lost. The gateway answers honestly again.
    gateway.rewriteLookup = undefined;
    gateway.setStatus('FR-TWICE', 'SUCCESS');
    for (let i = 0; i < 5; i++) {
      clock.advance(2 * 60 * 60_000);
      await sweeper.sweep();
    }
    expect(host.succeeded).toEqual(['FR-TWICE/HG1']);
  });

  it('reconcile() says unknown for a lookup answer that describes no order (no status, a negative amount): nothing emitted, still watched', async () => {
    const { payouts, host } = await start(await hostile());
    await payouts.createPayout(penPayout('FR-NOSTATUS'));
    const answer = {
      orderNo: 'HG1',
      mchOrderNo: 'FR-NOSTATUS',
      merchantId: PEN_ACCOUNT.merchantId,
      fee: null,
      completionTime: null,
    };
    for (const broken of [{ amount: '150.50' }, { amount: '-150.50', orderStatus: 'SUCCESS' }]) {
      gateway.rewriteLookup = (asked) =>
        asked === 'FR-NOSTATUS' ? { ...answer, ...broken } : undefined;
      await expect(payouts.reconcile({ mchOrderNo: 'FR-NOSTATUS' })).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
    }
    expect({ succeeded: host.succeeded, anomalies: host.anomalies }).toEqual({
      succeeded: [],
      anomalies: [],
    });
    expect((await payouts.listOpenPayouts()).map((p) => p.mchOrderNo)).toEqual(['FR-NOSTATUS']);
  });

  it('reconcile() rejects its own order answered for another amount, as createPayout does: no payout.succeeded, still watched', async () => {
    const { payouts, host } = await start(await hostile());
    const order = await payouts.createPayout(penPayout('FR-AMOUNT'));
    expect(order).toMatchObject({ orderNo: 'HG1', amount: '150.50' });
    gateway.rewriteLookup = (asked) =>
      asked === 'FR-AMOUNT'
        ? {
            orderNo: 'HG1',
            mchOrderNo: 'FR-AMOUNT',
            merchantId: PEN_ACCOUNT.merchantId,
            amount: '1505.00',
            fee: '1.50',
            orderStatus: 'SUCCESS',
            completionTime: null,
          }
        : undefined;
    await expect(payouts.reconcile({ mchOrderNo: 'FR-AMOUNT' })).rejects.toBeInstanceOf(
      PayoutOrderConflictError,
    );
    expect(host.anomalies.map((a) => [a.kind, a.orderNo])).toEqual([['amount', 'HG1']]);
    expect(host.succeeded).toEqual([]);
    expect((await payouts.listOpenPayouts()).map((p) => p.mchOrderNo)).toEqual(['FR-AMOUNT']);
  });

  it("reconcile() never resolves with another order's FAIL for a payout whose own order is still in flight", async () => {
    const { payouts, host } = await start(await hostile());
    const order = await payouts.createPayout(penPayout('FR-OTHERFAIL'));
    expect(order.orderNo).toBe('HG1');
    gateway.rewriteLookup = otherOrder('FR-OTHERFAIL', 'FAIL');
    const result = await payouts.reconcile({ mchOrderNo: 'FR-OTHERFAIL' }).then(
      (found) => (found === null ? 'null' : `${found.orderNo} ${found.orderStatus}`),
      (error: unknown) => (error as Error).constructor.name,
    );
    // The module itself calls the answer an anomaly ("created as order HG1, not HG-OTHER").
    expect(host.anomalies.map((a) => [a.kind, a.orderNo])).toEqual([['mchOrderNo', 'HG-OTHER']]);
    // Before the fix: 'HG-OTHER FAIL': the host reads "my payout failed" and refunds, while HG1 may still
    // be paid. createPayout rejects with PayoutOrderConflictError for the same answer.
    expect(result).not.toBe('HG-OTHER FAIL');
  });

  it("a lookup that answers another orderNo's final status under this mchOrderNo never ends the watch of the real order: its SUCCESS is still emitted", async () => {
    const gateway = new HostileGateway();
    stops.push(() => gateway.stop());
    const { payouts, sweeper, host } = await start(await gateway.start());
    const order = await payouts.createPayout(penPayout('FR-LOOK'));
    expect(order.orderNo).toBe('HG1');
    // The gateway's query answers, for FR-LOOK, an order HG-OTHER that SUCCEEDED (a lying or
    // duplicated order book). That is an anomaly, and no word about HG1, which is still PROCESSING.
    gateway.rewriteLookup = (mchOrderNo) =>
      mchOrderNo === 'FR-LOOK'
        ? {
            orderNo: 'HG-OTHER',
            mchOrderNo: 'FR-LOOK',
            merchantId: PEN_ACCOUNT.merchantId,
            amount: '150.50',
            fee: null,
            orderStatus: 'SUCCESS',
            completionTime: null,
          }
        : undefined;
    clock.advance(11 * 60_000);
    await sweeper.sweep();
    // The sweep asks for HG1 by its orderNo, so the answer about HG-OTHER is no answer ('answer').
    expect(host.anomalies.map((a) => [a.kind, a.orderNo])).toEqual([['answer', 'HG1']]);
    expect(host.succeeded).toEqual([]);
    // HG1 is still open: the sweep must keep looking at it.
    expect((await payouts.listOpenPayouts()).map((p) => p.mchOrderNo)).toEqual(['FR-LOOK']);
    // HG1 succeeds; its webhook is lost. The gateway answers honestly again.
    gateway.rewriteLookup = undefined;
    gateway.setStatus('FR-LOOK', 'SUCCESS');
    for (let i = 0; i < 5; i++) {
      clock.advance(2 * 60 * 60_000);
      await sweeper.sweep();
    }
    // Actual: the first sweep untracked FR-LOOK (HG-OTHER's status was final), so HG1 is never looked at again.
    expect(host.succeeded).toEqual(['FR-LOOK/HG1']);
  });

  it('a payout.not_created still owed is dropped once a webhook shows the order: never emitted again after its payout.succeeded', async () => {
    const gateway = new LateCommitGateway();
    stops.push(() => gateway.stop());
    const { payouts, sweeper, host } = await start(await gateway.start());
    gateway.hangNextCreates(1);
    await expect(payouts.createPayout(penPayout('FR-OWED'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    clock.advance(61_000);
    // The host's refund ledger is down for the first payout.not_created: it stays owed.
    behaviour.notCreated = async () => {
      throw new Error('ledger down');
    };
    expect(await sweeper.sweep()).toMatchObject({ failed: 1 });
    behaviour.notCreated = async () => undefined;
    // The gateway lands the create after all (it broke rule 3) and reports it.
    gateway.commitHung();
    const [order] = gateway.ordersOf('FR-OWED');
    await payouts.handleNotification(
      notification({ mchOrderNo: 'FR-OWED', orderNo: order.orderNo, orderStatus: 'SUCCESS' }),
      PEN_ACCOUNT.merchantId,
    );
    expect(host.succeeded).toEqual([`FR-OWED/${order.orderNo}`]);
    for (let i = 0; i < 3; i++) {
      clock.advance(2 * 60 * 60_000);
      await sweeper.sweep();
    }
    // Only the failed first try: "not created" is no longer true, so it is not told again.
    expect(host.notCreated).toEqual(['FR-OWED']);
    expect((await store.getAttempt('FR-OWED'))?.notice).toBeUndefined();
  });

  it('reconcile() resolving null is told instead of payout.not_created: a notice whose listener failed before is not emitted after that null', async () => {
    const gateway = new LateCommitGateway();
    stops.push(() => gateway.stop());
    const { payouts, sweeper, host } = await start(await gateway.start());
    gateway.hangNextCreates(1);
    await expect(payouts.createPayout(penPayout('FR-NULL'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    clock.advance(61_000);
    // The host's refund ledger is down for the first payout.not_created.
    let failures = 1;
    behaviour.notCreated = async () => {
      if (failures-- > 0) throw new Error('ledger down');
    };
    expect(await sweeper.sweep()).toMatchObject({ failed: 1 });
    // An operator reconciles: null, "not created, send it again or give up". The host refunds.
    await expect(payouts.reconcile({ mchOrderNo: 'FR-NULL' })).resolves.toBeNull();
    const toldBefore = host.notCreated.length;
    for (let i = 0; i < 3; i++) {
      clock.advance(2 * 60 * 60_000);
      await sweeper.sweep();
    }
    // Actual: the sweep then emits payout.not_created for the same attempt: the host refunds twice.
    expect(host.notCreated.slice(toldBefore)).toEqual([]);
  });
});

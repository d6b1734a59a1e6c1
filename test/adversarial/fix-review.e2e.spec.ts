import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  MemoryPayoutStore,
  OnPayoutAnomaly,
  OnPayoutFailed,
  OnPayoutNotCreated,
  OnPayoutSucceeded,
  PayoutAnomalyEvent,
  PayoutFailedEvent,
  PayoutNotCreatedEvent,
  PayoutOutcomeUnknownError,
  PayoutService,
  PayoutSucceededEvent,
  type PayoutModuleOptions,
} from '../../lib';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { TestPayoutClock } from '../../lib/testing';
import { HostileGateway } from '../support/hostile-gateway';
import { PEN_ACCOUNT } from '../support/notifications';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';

/**
 * Adversarial review of f66cc0a (the webhook binds an unanswered create before it emits; an answer
 * that contradicts what is known settles nothing; reconcile() takes over a pending notice; the
 * clock's step guard). Each test states the contract and fails on the code it was written against.
 * Redis-only findings (the step guard needs two replicas with their own clocks) are in
 * test/redis/redis-fix-review.e2e.spec.ts.
 */

@Injectable()
class FixReviewHost {
  readonly notCreated: string[] = [];
  readonly succeeded: string[] = [];
  readonly failed: string[] = [];
  readonly anomalies: PayoutAnomalyEvent[] = [];
  @OnPayoutNotCreated()
  onNotCreated(event: PayoutNotCreatedEvent): void {
    this.notCreated.push(event.mchOrderNo);
  }
  @OnPayoutSucceeded()
  onSucceeded(event: PayoutSucceededEvent): void {
    this.succeeded.push(`${event.mchOrderNo}/${event.orderNo}`);
  }
  @OnPayoutFailed()
  onFailed(event: PayoutFailedEvent): void {
    this.failed.push(`${event.mchOrderNo}/${event.orderNo}`);
  }
  @OnPayoutAnomaly()
  onAnomaly(event: PayoutAnomalyEvent): void {
    this.anomalies.push(event);
  }
}

describe('fix review: an answer that contradicts what is known', () => {
  let clock: TestPayoutClock;
  let store: MemoryPayoutStore;
  let gateway: HostileGateway;
  const apps: TestingModule[] = [];

  beforeEach(async () => {
    clock = new TestPayoutClock(Date.UTC(2026, 11, 5, 12));
    store = new MemoryPayoutStore({ clock });
    gateway = new HostileGateway();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await gateway.stop();
  });

  async function start(options: Partial<PayoutModuleOptions> = {}) {
    const app = await compileScriptedPayoutModule(
      await gateway.start(),
      {
        resendWindowMs: 60_000,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        // On, so the sweep runs with the real policy; the timer never fires during a test.
        reconciliation: { intervalMs: 86_400_000 },
        delivery: { claimTtlMs: 5_000 },
        ...options,
        store,
      },
      { providers: [FixReviewHost], init: true },
    );
    apps.push(app);
    return {
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
      host: app.get(FixReviewHost),
    };
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
    const { payouts } = await start();
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
    const { host, sweeper } = await start();
    gateway.nextCreates('hang');
    const created = apps[0].get(PayoutService).createPayout(penPayout('FR-R5B'));
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
    const { payouts, sweeper, host } = await start();
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

  it("reconcile() never resolves with another order's FAIL for a payout whose own order is still in flight", async () => {
    const { payouts, host } = await start();
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
});

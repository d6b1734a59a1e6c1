import { performance } from 'node:perf_hooks';
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
  SyncedPayoutClock,
  type PayoutClock,
  type PayoutModuleOptions,
} from '../../lib';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { TestPayoutClock } from '../../lib/testing';
import { HostileGateway } from '../support/hostile-gateway';
import { notification, PEN_ACCOUNT } from '../support/notifications';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { waitUntil } from '../support/wait-until';

/**
 * Third adversarial review of issues 25 and 26: an answer that contradicts an unanswered create
 * never decides which order it made, `reconcile()` never resolves another payout's order, and a
 * store clock that cannot be read at a decision never turns into one (memory store; the steps of a
 * shared store's clock are in test/redis/redis-clock-step.e2e.spec.ts). Each test states the
 * contract; a comment says what the code did before its fix.
 */

/** Runs inside each payout.anomaly listener call; set per test. */
let onAnomaly: (event: PayoutAnomalyEvent) => Promise<void> = async () => undefined;

@Injectable()
class RefreshReviewHost {
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
  async onAnomaly(event: PayoutAnomalyEvent): Promise<void> {
    this.anomalies.push(event);
    await onAnomaly(event);
  }
}

/** What a reconcile() call ended with, as a string: `null`, `orderNo status`, or the error's class. */
function outcomeOf(call: Promise<{ orderNo: string; orderStatus: string } | null>) {
  return call.then(
    (found) => (found === null ? 'null' : `${found.orderNo} ${found.orderStatus}`),
    (error: unknown) => (error as Error).constructor.name,
  );
}

/**
 * A `SyncedPayoutClock` (as Redis and PostgreSQL stores bring) over a source the test can make fail
 * (`failing`); `elapsed` moves time on for the source and this process's monotonic clock alike.
 */
function failingSource() {
  const source = {
    elapsed: 0,
    failing: false,
    clock: new SyncedPayoutClock(async () => {
      if (source.failing) throw new Error('TIME: no answer within 200 ms');
      return performance.timeOrigin + performance.now() + 7_000;
    }),
  };
  const realNow = performance.now.bind(performance);
  jest.spyOn(performance, 'now').mockImplementation(() => realNow() + source.elapsed);
  return source;
}

describe('contradicting answers, reconcile() conflicts, a store clock that cannot be read', () => {
  let gateway: HostileGateway;
  const apps: TestingModule[] = [];

  beforeEach(() => {
    gateway = new HostileGateway();
    onAnomaly = async () => undefined;
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const app of apps.splice(0)) await app.close();
    await gateway.stop();
  });

  async function start(clock: PayoutClock, options: Partial<PayoutModuleOptions> = {}) {
    const app = await compileScriptedPayoutModule(
      await gateway.start(),
      {
        resendWindowMs: 60_000,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        // On, so the sweep runs with the real policy; the timer never fires during a test.
        reconciliation: { intervalMs: 86_400_000 },
        delivery: { claimTtlMs: 5_000, claimWaitMs: 200 },
        ...options,
        store: new MemoryPayoutStore({ clock }),
      },
      { providers: [RefreshReviewHost], init: true },
    );
    apps.push(app);
    return {
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
      host: app.get(RefreshReviewHost),
    };
  }

  it("a report that contradicts an unanswered create (another amount) never decides which order that create made: the create's own order still gets payout.succeeded", async () => {
    const clock = new TestPayoutClock(Date.UTC(2026, 11, 5, 12));
    const { payouts, host } = await start(clock);
    // The create times out; the gateway has not committed it yet.
    gateway.nextCreates('hang');
    await expect(payouts.createPayout(penPayout('RR-AMT'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // A notification under RR-AMT names an order the module never heard of, for ten times the
    // amount (a mis-routed notification, another system's order under a reused mchOrderNo, a
    // gateway bug): an anomaly.
    const stray = notification({ mchOrderNo: 'RR-AMT', orderNo: 'HG-STRAY', amount: '1505.00' });
    await expect(payouts.handleNotification(stray, PEN_ACCOUNT.merchantId)).resolves.toBe(
      'anomaly',
    );
    // The create lands (HG1, 150.50, as asked) and succeeds.
    gateway.commitHung();
    const own = notification({ mchOrderNo: 'RR-AMT', orderNo: 'HG1', amount: '150.50' });
    await payouts.handleNotification(own, PEN_ACCOUNT.merchantId).catch(() => undefined);
    // Before the fix: succeeded is [] and a second anomaly ('mchOrderNo: created as order HG-STRAY, not HG1')
    // is emitted. applyTo (lib/outcome/payout-outcome.processor.ts) binds the unanswered
    // attempt to HG-STRAY on the *amount* anomaly (SAME_ORDER_ANOMALIES), so the report already
    // known to be wrong decides which order RR-AMT is; the payout's real success is only an anomaly,
    // the sweep then asks by orderNo HG-STRAY and never sees HG1. Before the change HG1 bound the create.
    expect({
      succeeded: host.succeeded,
      kinds: host.anomalies.map((a) => `${a.kind} ${a.orderNo}`),
    }).toEqual({ succeeded: ['RR-AMT/HG1'], kinds: ['amount HG-STRAY'] });
  });

  it("reconcile() never resolves with another payout's FAIL while that order's record is being processed (a claim held): it rejects, and the payout stays watched", async () => {
    const clock = new TestPayoutClock(Date.UTC(2026, 11, 5, 12));
    const { payouts, host, sweeper } = await start(clock);
    const own = await payouts.createPayout(penPayout('RR-OWN'));
    const other = await payouts.createPayout(penPayout('RR-SIB'));
    expect([own.orderNo, other.orderNo]).toEqual(['HG1', 'HG2']);
    // RR-SIB's order HG2 failed (payout.failed, recorded).
    const failed = notification({ mchOrderNo: 'RR-SIB', orderNo: 'HG2', orderStatus: 'FAIL' });
    await payouts.handleNotification(failed, PEN_ACCOUNT.merchantId);
    expect(host.failed).toEqual(['RR-SIB/HG2']);
    // Then a SUCCESS for HG2 arrives (FAIL → SUCCESS: an anomaly); its listener (paging a person)
    // is slow, so HG2's record holds a claim meanwhile.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    onAnomaly = () => gate;
    const late = notification({ mchOrderNo: 'RR-SIB', orderNo: 'HG2', orderStatus: 'SUCCESS' });
    const anomaly = payouts.handleNotification(late, PEN_ACCOUNT.merchantId);
    await waitUntil(() => host.anomalies.length === 1, 'the anomaly listener to start');
    // The gateway's query answers, for RR-OWN, HG2 in FAIL (another payout's order).
    gateway.rewriteLookup = (asked) =>
      asked === 'RR-OWN'
        ? {
            orderNo: 'HG2',
            mchOrderNo: 'RR-OWN',
            merchantId: PEN_ACCOUNT.merchantId,
            amount: '150.50',
            fee: '1.50',
            orderStatus: 'FAIL',
            completionTime: null,
          }
        : undefined;
    const result = await outcomeOf(payouts.reconcile({ mchOrderNo: 'RR-OWN' }));
    release();
    await anomaly;
    gateway.rewriteLookup = undefined;
    const open = (await payouts.listOpenPayouts()).map((p) => p.mchOrderNo);
    // HG1 succeeds later; its webhook is lost: only the sweep can find it.
    gateway.setStatus('RR-OWN', 'SUCCESS');
    clock.advance(2 * 60 * 60_000);
    await sweeper.sweep();
    // Before the fix: result 'HG2 FAIL', open [], succeeded []. PayoutOutcomeProcessor.apply
    // (lib/outcome/payout-outcome.processor.ts) answers 'duplicate' for any report whose
    // order is claimed and has processed that status, before findMismatch runs; so settle
    // (payout-reconciler.ts) never sees 'anomaly', otherPayoutsOrder is never asked, RR-OWN is
    // untracked as FAIL and reconcile() tells the host its payout failed (a refund) while HG1 pays.
    expect({ result, open, succeeded: host.succeeded }).toEqual({
      result: 'PayoutOrderConflictError',
      open: ['RR-OWN'],
      succeeded: ['RR-OWN/HG1'],
    });
  });

  it("reconcile() never resolves with another order's FAIL for a payout known only from its webhooks (no create recorded): it rejects", async () => {
    const clock = new TestPayoutClock(Date.UTC(2026, 11, 5, 12));
    const { payouts, host } = await start(clock);
    // RR-LEGACY was created before this module was deployed (or its attempt is gone: evicted, a
    // Redis key expired before its record's); its webhook recorded order HG-LEGACY in PROCESSING.
    const seen = notification({
      mchOrderNo: 'RR-LEGACY',
      orderNo: 'HG-LEGACY',
      orderStatus: 'PROCESSING',
      fee: null,
    });
    await expect(payouts.handleNotification(seen, PEN_ACCOUNT.merchantId)).resolves.toBe(
      'progress',
    );
    // The gateway's query answers, for RR-LEGACY, another order in FAIL.
    gateway.rewriteLookup = (asked) =>
      asked === 'RR-LEGACY'
        ? {
            orderNo: 'HG-OTHER',
            mchOrderNo: 'RR-LEGACY',
            merchantId: PEN_ACCOUNT.merchantId,
            amount: '150.50',
            fee: '1.50',
            orderStatus: 'FAIL',
            completionTime: null,
          }
        : undefined;
    const result = await outcomeOf(payouts.reconcile({ mchOrderNo: 'RR-LEGACY' }));
    // The module itself calls it an anomaly ("created as order HG-LEGACY, not HG-OTHER").
    expect(host.anomalies.map((a) => `${a.kind} ${a.orderNo}`)).toEqual(['mchOrderNo HG-OTHER']);
    // Before the fix: 'HG-OTHER FAIL'. otherPayoutsOrder (lib/reconciliation/payout-reconciler.ts)
    // looks at the attempt and at the answered order's own record, not at the record already known
    // under the mchOrderNo (findByMchOrderNo, the sibling knownOrder uses for the anomaly), so the
    // host reads "failed" and refunds while HG-LEGACY may still pay.
    expect(result).toBe('PayoutOrderConflictError');
  });

  it("a store clock that cannot be read at the decision never turns into a decision: no null, no payout.not_created, and the late create's order is found once it can", async () => {
    const source = failingSource();
    const { clock } = source;
    const { payouts, host, sweeper } = await start(clock);
    gateway.nextCreates('hang');
    await expect(payouts.createPayout(penPayout('RR-DOWN'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // The window (60 s) is long over; the gateway still does not show the order (it commits late).
    source.elapsed += 10 * 60_000;
    source.failing = true;
    const reconciled = await outcomeOf(payouts.reconcile({ mchOrderNo: 'RR-DOWN' }));
    const summary = await sweeper.sweep();
    // The create lands after all; the clock can be read again.
    gateway.commitHung();
    source.failing = false;
    const later = await outcomeOf(payouts.reconcile({ mchOrderNo: 'RR-DOWN' }));
    expect({
      reconciled,
      notCreated: host.notCreated,
      notCreatedBySweep: summary.not_created,
      later,
    }).toEqual({
      reconciled: 'PayoutStoreError',
      notCreated: [],
      notCreatedBySweep: 0,
      later: 'HG1 PROCESSING',
    });
  });
  it("a store clock that cannot be read when a dead holder's claim looks run out never lets a copy run the listeners: 503 until it can, then payout.succeeded once", async () => {
    const source = failingSource();
    const { clock } = source;
    const store = new MemoryPayoutStore({ clock });
    const app = await compileScriptedPayoutModule(
      await gateway.start(),
      { store, delivery: { claimTtlMs: 1_000, claimWaitMs: 100 } },
      { providers: [RefreshReviewHost], init: true },
    );
    apps.push(app);
    const payouts = app.get(PayoutService);
    const host = app.get(RefreshReviewHost);
    const body = notification({ mchOrderNo: 'RR-CLAIM', orderNo: 'ORDER-CLAIM' });
    await payouts.handleNotification(
      { ...body, orderStatus: 'PAYING', fee: null },
      PEN_ACCOUNT.merchantId,
    );
    // A delivery claimed the SUCCESS and died before its listeners ran.
    const record = (await store.get('ORDER-CLAIM'))!;
    await store.compareAndSet(
      {
        ...record,
        claim: { status: 'SUCCESS', token: 'dead', expiresAt: clock.now() + 1_000 },
        revision: record.revision + 1,
      },
      record.revision,
    );
    source.elapsed += 5_000; // the claim looks run out
    source.failing = true;
    const copy = await payouts.handleNotification(body, PEN_ACCOUNT.merchantId).then(
      (result) => String(result),
      (error: unknown) => (error as Error).constructor.name,
    );
    const duringOutage = [...host.succeeded];
    source.failing = false;
    const next = await payouts.handleNotification(body, PEN_ACCOUNT.merchantId);
    expect({ copy, duringOutage, next, succeeded: host.succeeded }).toEqual({
      copy: 'PayoutStoreError',
      duringOutage: [],
      next: 'emitted',
      succeeded: ['RR-CLAIM/ORDER-CLAIM'],
    });
  });
});

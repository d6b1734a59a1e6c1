import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  MemoryPayoutStore,
  OnPayoutAnomaly,
  OnPayoutFailed,
  OnPayoutSucceeded,
  PayoutAnomalyEvent,
  PayoutFailedEvent,
  PayoutService,
  PayoutSucceededEvent,
  type PayoutModuleOptions,
  type PayoutReconciliationOptions,
} from '../../lib';
import {
  PayoutReconciliationService,
  returnWatchQueries,
} from '../../lib/reconciliation/payout-reconciliation.service';
import { RECONCILIATION_DEFAULTS } from '../../lib/reconciliation/payout-reconciliation.options';
import { samplePayout, TestPayoutClock } from '../../lib/testing';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { MXN_ACCOUNT } from '../support/notifications';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';

@Injectable()
class Outcomes {
  readonly seen: string[] = [];
  readonly failed: PayoutFailedEvent[] = [];
  readonly anomalies: PayoutAnomalyEvent[] = [];
  delayMs = 0;
  /** How many of the next payout.failed calls throw (a host's database hiccup). */
  failNext = 0;
  @OnPayoutSucceeded()
  succeeded(event: PayoutSucceededEvent): void {
    this.seen.push(`succeeded ${event.mchOrderNo}`);
  }
  @OnPayoutFailed()
  async onFailed(event: PayoutFailedEvent): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('host db hiccup');
    }
    this.seen.push(`failed ${event.mchOrderNo}${event.reversed ? ' reversed' : ''}`);
    this.failed.push(event);
  }
  @OnPayoutAnomaly()
  anomaly(event: PayoutAnomalyEvent): void {
    this.anomalies.push(event);
  }
}

/** Small enough to walk through in a test, the same shape as the defaults. */
const POLICY: PayoutReconciliationOptions = {
  firstCheckMs: 1_000,
  maxIntervalMs: 4_000,
  returnWatchMs: 20_000,
};

/**
 * A Mexican payout is not done at SUCCESS: the sweep watches it for an SPEI return (W2), so a
 * return whose webhook is lost still ends in one `payout.failed` with `reversed: true`.
 */
describe('adversarial: the SPEI return watch', () => {
  let gateway: LateCommitGateway;
  let clock: TestPayoutClock;
  let store: MemoryPayoutStore;
  let app: TestingModule | undefined;

  beforeEach(() => {
    gateway = new LateCommitGateway();
    clock = new TestPayoutClock(Date.UTC(2026, 11, 4, 12));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await app?.close();
    app = undefined;
    await gateway.stop();
  });

  async function start(
    reconciliation: PayoutReconciliationOptions = POLICY,
    extra: Partial<PayoutModuleOptions> = {},
  ) {
    store = new MemoryPayoutStore({ clock });
    app = await compileScriptedPayoutModule(
      await gateway.start(),
      {
        store,
        reconciliation: { intervalMs: 86_400_000, ...reconciliation },
        ...extra,
      },
      { providers: [Outcomes], init: true },
    );
    // No jitter: the schedule is exactly the documented one. (After compiling: Nest's ids use it.)
    jest.spyOn(Math, 'random').mockReturnValue(0);
    return {
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
      outcomes: app.get(Outcomes),
    };
  }

  /** An MXN payout created, then paid: its SUCCESS learned by the sweep (its webhook lost too). */
  async function paidMxn(
    payouts: PayoutService,
    sweeper: PayoutReconciliationService,
    mchOrderNo: string,
  ) {
    await payouts.createPayout(samplePayout('MXN', { mchOrderNo }));
    gateway.setStatus(mchOrderNo, 'SUCCESS');
    clock.advance(POLICY.firstCheckMs!);
    await sweeper.sweep();
  }

  /** Moves the clock to the next due check and sweeps; false once nothing is tracked. */
  async function nextCheck(sweeper: PayoutReconciliationService): Promise<boolean> {
    const [entry] = await store.listOpen(1);
    if (!entry) return false;
    clock.set(Math.max(clock.now(), entry.dueAt));
    await sweeper.sweep();
    return true;
  }

  it('a return whose webhook is lost is emitted once by the sweep, reversed, with the reason', async () => {
    const { payouts, sweeper, outcomes } = await start();
    await paidMxn(payouts, sweeper, 'W-LOST');
    const [watched] = await payouts.listOpenPayouts();
    expect(watched).toMatchObject({ mchOrderNo: 'W-LOST', watching: 'return' });

    gateway.setStatus('W-LOST', 'FAIL', 'ACCOUNT_BLOCKED');
    await nextCheck(sweeper);
    await nextCheck(sweeper);
    expect(outcomes.seen).toEqual(['succeeded W-LOST', 'failed W-LOST reversed']);
    expect(outcomes.failed[0]).toMatchObject({
      status: 'FAIL',
      reason: 'ACCOUNT_BLOCKED',
      reversed: true,
    });
    expect(await store.listOpen(10)).toEqual([]);
  });

  it('the webhook and the sweep racing on one return emit it once', async () => {
    const { payouts, sweeper, outcomes } = await start();
    await paidMxn(payouts, sweeper, 'W-RACE');
    gateway.setStatus('W-RACE', 'FAIL', 'ACCOUNT_BLOCKED');
    outcomes.delayMs = 100;
    const order = gateway.ordersOf('W-RACE')[0];
    const [entry] = await store.listOpen(1);
    clock.set(entry.dueAt);
    const webhook = payouts.handleNotification(
      {
        ...order,
        orderStatus: 'FAIL',
        resultDesc: 'ACCOUNT_BLOCKED',
        fee: null,
        completionTime: null,
      },
      MXN_ACCOUNT.merchantId,
    );
    const [, summary] = await Promise.all([webhook.catch(() => 'busy'), sweeper.sweep()]);
    // And a late copy of the webhook, and one more sweep: nothing more.
    await payouts.handleNotification(
      {
        ...order,
        orderStatus: 'FAIL',
        resultDesc: 'ACCOUNT_BLOCKED',
        fee: null,
        completionTime: null,
      },
      MXN_ACCOUNT.merchantId,
    );
    clock.advance(60_000);
    await sweeper.sweep();
    expect(outcomes.seen).toEqual(['succeeded W-RACE', 'failed W-RACE reversed']);
    expect(summary.failed).toBe(0);
  });

  it('a SUCCESS that stays SUCCESS leaves the index when the watch ends, after the documented number of queries', async () => {
    const { payouts, sweeper, outcomes } = await start();
    await paidMxn(payouts, sweeper, 'W-KEPT');
    const before = gateway.lookupsOf('W-KEPT');
    while (await nextCheck(sweeper));
    expect(gateway.lookupsOf('W-KEPT') - before).toBe(
      returnWatchQueries({
        ...RECONCILIATION_DEFAULTS,
        ...POLICY,
      }),
    );
    expect(outcomes.seen).toEqual(['succeeded W-KEPT']);
    expect(outcomes.anomalies).toEqual([]);
  });

  it('the default watch costs 19 queries per Mexican payout, as the README says', () => {
    expect(returnWatchQueries(RECONCILIATION_DEFAULTS)).toBe(19);
  });

  it('a SUCCESS learned by webhook starts the watch too', async () => {
    const { payouts, outcomes } = await start();
    await payouts.createPayout(samplePayout('MXN', { mchOrderNo: 'W-HOOK' }));
    const order = gateway.ordersOf('W-HOOK')[0];
    await payouts.handleNotification(
      {
        ...order,
        orderStatus: 'SUCCESS',
        fee: '5',
        completionTime: null,
        resultDesc: 'SUCCESS',
      },
      MXN_ACCOUNT.merchantId,
    );
    expect(outcomes.seen).toEqual(['succeeded W-HOOK']);
    const [watched] = await payouts.listOpenPayouts();
    expect(watched).toMatchObject({
      mchOrderNo: 'W-HOOK',
      watching: 'return',
      watchUntil: clock.now() + POLICY.returnWatchMs!,
      nextCheckAt: clock.now() + POLICY.firstCheckMs!,
    });
  });

  it('a Peruvian SUCCESS is never queried again', async () => {
    const { payouts, sweeper } = await start();
    await payouts.createPayout(penPayout('W-PEN'));
    gateway.setStatus('W-PEN', 'SUCCESS');
    clock.advance(POLICY.firstCheckMs!);
    await sweeper.sweep();
    const after = gateway.lookupsOf('W-PEN');
    expect(await store.listOpen(10)).toEqual([]);
    clock.advance(POLICY.returnWatchMs!);
    await sweeper.sweep();
    expect(gateway.lookupsOf('W-PEN')).toBe(after);
  });

  it('returnWatchMs: 0 stops at the first final status, as before', async () => {
    const { payouts, sweeper } = await start({ ...POLICY, returnWatchMs: 0 });
    await paidMxn(payouts, sweeper, 'W-OFF');
    expect(await store.listOpen(10)).toEqual([]);
  });

  it('a SUCCESS answered CANCEL is one anomaly, never a reversal, and ends the watch', async () => {
    const { payouts, sweeper, outcomes } = await start();
    await paidMxn(payouts, sweeper, 'W-CANCEL');
    gateway.setStatus('W-CANCEL', 'CANCEL');
    await nextCheck(sweeper);
    await nextCheck(sweeper);
    expect(outcomes.seen).toEqual(['succeeded W-CANCEL']);
    expect(outcomes.anomalies.map((a) => [a.kind, a.status])).toEqual([['transition', 'CANCEL']]);
    expect(await store.listOpen(10)).toEqual([]);
  });

  it("a return whose listener fails at a check past the create's horizon is still emitted: the watch has its own", async () => {
    // The defaults' shape: horizonMs == returnWatchMs, so the watch's last checks fall past the horizon.
    const { payouts, sweeper, outcomes } = await start(
      { ...POLICY, horizonMs: 20_000 },
      { resendWindowMs: 1_000 },
    );
    const t0 = clock.now();
    await paidMxn(payouts, sweeper, 'W-HORIZON');
    for (;;) {
      const [entry] = await store.listOpen(1);
      if (!entry || entry.dueAt > t0 + 20_000) break;
      await nextCheck(sweeper);
    }
    const [entry] = await store.listOpen(1);
    expect(entry).toMatchObject({ watchUntil: t0 + 21_000 });
    // The bank returns it, the webhook is lost, and the host's listener fails once at the last check.
    gateway.setStatus('W-HORIZON', 'FAIL', 'ACCOUNT_BLOCKED');
    outcomes.failNext = 1;
    expect(await nextCheck(sweeper)).toBe(true);
    while (await nextCheck(sweeper));
    expect(outcomes.seen).toEqual(['succeeded W-HORIZON', 'failed W-HORIZON reversed']);
    expect(outcomes.anomalies).toEqual([]);
  });
});

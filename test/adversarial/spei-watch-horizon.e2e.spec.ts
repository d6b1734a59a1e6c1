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
} from '../../lib';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { samplePayout, TestPayoutClock } from '../../lib/testing';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';

@Injectable()
class Outcomes {
  readonly seen: string[] = [];
  readonly anomalies: PayoutAnomalyEvent[] = [];
  failNext = 0;
  @OnPayoutSucceeded()
  succeeded(event: PayoutSucceededEvent): void {
    this.seen.push(`succeeded ${event.mchOrderNo}`);
  }
  @OnPayoutFailed()
  onFailed(event: PayoutFailedEvent): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('host db hiccup');
    }
    this.seen.push(`failed ${event.mchOrderNo}${event.reversed ? ' reversed' : ''}`);
  }
  @OnPayoutAnomaly()
  anomaly(event: PayoutAnomalyEvent): void {
    this.anomalies.push(event);
  }
}

describe('adversarial: the SPEI return watch outlives the horizon', () => {
  let gateway: LateCommitGateway;
  let clock: TestPayoutClock;
  let store: MemoryPayoutStore;
  let app: TestingModule | undefined;
  beforeEach(() => {
    gateway = new LateCommitGateway();
    clock = new TestPayoutClock(Date.UTC(2026, 11, 4, 12));
    jest.spyOn(Math, 'random').mockReturnValue(0);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await app?.close();
    await gateway.stop();
  });

  it('a return whose listener fails once at a check past horizonMs is still emitted later', async () => {
    store = new MemoryPayoutStore({ clock });
    // Same shape as the defaults: horizonMs == returnWatchMs (both 24 h by default).
    app = await compileScriptedPayoutModule(
      await gateway.start(),
      {
        store,
        resendWindowMs: 1_000,
        reconciliation: {
          intervalMs: 86_400_000,
          firstCheckMs: 1_000,
          maxIntervalMs: 4_000,
          returnWatchMs: 20_000,
          horizonMs: 20_000,
        },
      },
      { providers: [Outcomes], init: true },
    );
    const payouts = app.get(PayoutService);
    const sweeper = app.get(PayoutReconciliationService);
    const outcomes = app.get(Outcomes);
    const t0 = clock.now();
    await payouts.createPayout(samplePayout('MXN', { mchOrderNo: 'H-1' }));
    gateway.setStatus('H-1', 'SUCCESS');
    clock.advance(1_000);
    await sweeper.sweep();
    // Walk the watch, still SUCCESS, until past the horizon (t0 + 20 s) but inside the watch (t0 + 21 s).
    for (;;) {
      const [entry] = await store.listOpen(1);
      if (!entry || entry.dueAt > t0 + 20_000) break;
      clock.set(Math.max(clock.now(), entry.dueAt));
      await sweeper.sweep();
    }
    const [entry] = await store.listOpen(1);
    expect(entry).toMatchObject({ watchUntil: t0 + 21_000 });
    // The bank returns it; the webhook is lost; the host's listener fails once at the last check.
    gateway.setStatus('H-1', 'FAIL', 'ACCOUNT_BLOCKED');
    outcomes.failNext = 1;
    clock.set(entry.dueAt);
    const summary = await sweeper.sweep();
    console.log(
      'summary',
      summary,
      'open',
      await store.listOpen(10),
      'anomalies',
      outcomes.anomalies.map((a) => [a.kind, a.status, a.reason]),
    );
    // Later sweeps: does anyone emit the return?
    for (let i = 0; i < 5; i++) {
      clock.advance(5_000);
      await sweeper.sweep();
    }
    expect(outcomes.seen).toEqual(['succeeded H-1', 'failed H-1 reversed']);
  });
});

import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  MemoryPayoutStore,
  OnPayoutNotCreated,
  PayoutNotCreatedEvent,
  PayoutOutcomeUnknownError,
  PayoutService,
} from '../../lib';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { TestPayoutClock } from '../../lib/testing';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';

/** A host that does what the README allows on `payout.not_created`: sends the payout again, same mchOrderNo. */
@Injectable()
class ResendingHost {
  readonly notCreated: string[] = [];
  constructor(private readonly payouts: PayoutService) {}
  @OnPayoutNotCreated()
  async resend(event: PayoutNotCreatedEvent): Promise<void> {
    this.notCreated.push(event.mchOrderNo);
    await this.payouts.createPayout(penPayout(event.mchOrderNo));
  }
}

const WINDOW_MS = 60_000;

/**
 * Money-safety rule 3 counts from when a lookup was sent. Each case: a create is never answered, a
 * lookup leaves inside the re-send window and is read by the gateway ("not found"), the window ends
 * and the create lands while that answer is held, then the stale "not found" arrives. On a gateway
 * that does not dedupe mchOrderNo, acting on it would pay twice.
 */
describe('adversarial: rule 3 judged by when the lookup was sent', () => {
  let gateway: LateCommitGateway;
  let moduleRef: TestingModule | undefined;
  let clock: TestPayoutClock;
  let store: MemoryPayoutStore;

  beforeEach(async () => {
    gateway = new LateCommitGateway();
    clock = new TestPayoutClock(Date.UTC(2026, 11, 4, 12));
    // Whatever reads the wall clock sees the same steps as the module's clock.
    jest.spyOn(Date, 'now').mockImplementation(() => clock.now());
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await moduleRef?.close();
    moduleRef = undefined;
    await gateway.stop();
  });

  async function compile(retryAttempts: number): Promise<TestingModule> {
    moduleRef = await compileScriptedPayoutModule(
      await gateway.start(),
      {
        store: (store = new MemoryPayoutStore({ clock })),
        resendWindowMs: WINDOW_MS,
        retry: { attempts: retryAttempts, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: false,
      },
      { providers: [ResendingHost], init: true },
    );
    return moduleRef;
  }

  /** Once the held lookup was read as "not found": the window ends, the hung create lands, the answer goes. */
  async function lateCommitBehindHeldLookup(): Promise<void> {
    const held = await gateway.nextHeldLookup();
    expect(held.foundAtRead).toBe(false);
    clock.advance(WINDOW_MS + 1_000);
    gateway.commitHung();
    held.release();
  }

  it('createPayout: a "not found" to a lookup sent inside the window never lets the create go again', async () => {
    const payouts = (await compile(3)).get(PayoutService);
    gateway.hangNextCreates(1).holdNextLookups(1);

    const created = payouts.createPayout(penPayout('R3-CREATE'));
    await lateCommitBehindHeldLookup();

    // The next lookup, sent after the window, finds the order that landed late.
    await expect(created).resolves.toMatchObject({
      mchOrderNo: 'R3-CREATE',
      orderNo: 'LC1',
    });
    expect(gateway.payOuts).toBe(1);
    expect(gateway.ordersOf('R3-CREATE')).toHaveLength(1);
  });

  it('reconcile: a "not found" to a lookup sent inside the window is unknown, never null', async () => {
    const payouts = (await compile(1)).get(PayoutService);
    gateway.hangNextCreates(1);
    await expect(payouts.createPayout(penPayout('R3-RECONCILE'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );

    // The host reconciles a moment before the window ends; the answer comes after it.
    clock.advance(WINDOW_MS - 1);
    gateway.holdNextLookups(1);
    const reconciled = payouts.reconcile({ mchOrderNo: 'R3-RECONCILE' }).catch((e: unknown) => e);
    await lateCommitBehindHeldLookup();

    expect(await reconciled).toBeInstanceOf(PayoutOutcomeUnknownError);
    // Asked again (now after the window), the gateway shows the order that landed.
    await expect(payouts.reconcile({ mchOrderNo: 'R3-RECONCILE' })).resolves.toMatchObject({
      orderNo: 'LC1',
    });
    expect(gateway.payOuts).toBe(1);
    expect(gateway.ordersOf('R3-RECONCILE')).toHaveLength(1);
  });

  it('the sweep: a "not found" to a lookup sent inside the window never emits payout.not_created', async () => {
    const app = await compile(1);
    const payouts = app.get(PayoutService);
    const sweeper = app.get(PayoutReconciliationService);
    const host = app.get(ResendingHost);
    gateway.hangNextCreates(1);
    await expect(payouts.createPayout(penPayout('R3-SWEEP'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );

    // The entry is due before the window ends (as after a failed check rescheduled it early).
    const openedAt = clock.now();
    await store.trackOpen('R3-SWEEP', openedAt, openedAt);
    clock.advance(WINDOW_MS - 1);
    gateway.holdNextLookups(1);
    const swept = sweeper.sweep();
    await lateCommitBehindHeldLookup();

    expect(await swept).toMatchObject({ unknown: 1, not_created: 0 });
    expect(host.notCreated).toEqual([]);
    expect(gateway.payOuts).toBe(1);
    expect(gateway.ordersOf('R3-SWEEP')).toHaveLength(1);
  });
});

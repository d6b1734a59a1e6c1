import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  MemoryPayoutStore,
  OnPayoutNotCreated,
  OnPayoutSucceeded,
  PayoutNotCreatedEvent,
  PayoutOutcomeUnknownError,
  PayoutService,
  PayoutSucceededEvent,
  type PayoutModuleOptions,
} from '../../lib';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { TestPayoutClock } from '../../lib/testing';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { waitUntil } from '../support/wait-until';

/** What the host's listeners do, set per test. */
const behaviour = {
  /** Runs inside each payout.not_created listener call. */
  notCreated: async (_event: PayoutNotCreatedEvent): Promise<void> => undefined,
  /** Runs inside each payout.succeeded listener call. */
  succeeded: async (_event: PayoutSucceededEvent): Promise<void> => undefined,
};

@Injectable()
class Host {
  readonly notCreated: string[] = [];
  readonly succeeded: string[] = [];
  @OnPayoutNotCreated()
  async onNotCreated(event: PayoutNotCreatedEvent): Promise<void> {
    this.notCreated.push(event.mchOrderNo);
    await behaviour.notCreated(event);
  }
  @OnPayoutSucceeded()
  async onSucceeded(event: PayoutSucceededEvent): Promise<void> {
    this.succeeded.push(event.mchOrderNo);
    await behaviour.succeeded(event);
  }
}

const WINDOW_MS = 60_000;
const never = new Promise<never>(() => undefined);

/**
 * The built-in sweep keeps the money promise: each case is one of the ways it was broken (a clock,
 * a live create, eviction, duplicate notices, the horizon, a hung listener, shutdown, paging,
 * reconcile's null), driven step by step with a test clock and a gateway that holds answers.
 */
describe('adversarial: the sweep keeps the promise', () => {
  let gateway: LateCommitGateway;
  let clock: TestPayoutClock;
  let store: MemoryPayoutStore;
  const apps: TestingModule[] = [];

  beforeEach(() => {
    gateway = new LateCommitGateway();
    clock = new TestPayoutClock(Date.UTC(2026, 11, 4, 12));
    behaviour.notCreated = async () => undefined;
    behaviour.succeeded = async () => undefined;
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const app of apps.splice(0)) await app.close();
    await gateway.stop();
  });

  async function start(options: Partial<PayoutModuleOptions> = {}, shared?: MemoryPayoutStore) {
    store =
      (options.store as MemoryPayoutStore | undefined) ??
      shared ??
      new MemoryPayoutStore({ clock });
    const app = await compileScriptedPayoutModule(
      await gatewayUrl(),
      {
        resendWindowMs: WINDOW_MS,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: false,
        delivery: { claimTtlMs: 5_000 },
        ...options,
        store,
      },
      { providers: [Host], init: true },
    );
    apps.push(app);
    return {
      app,
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
      host: app.get(Host),
    };
  }

  let url: string | undefined;
  async function gatewayUrl(): Promise<string> {
    url = url && apps.length > 0 ? url : await gateway.start();
    return url;
  }

  /** An ambiguous create (never answered, never landed), its window over, its entry due. */
  async function unknownCreate(payouts: PayoutService, mchOrderNo: string): Promise<void> {
    gateway.hangNextCreates(1);
    await expect(payouts.createPayout(penPayout(mchOrderNo))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    clock.advance(WINDOW_MS + 1_000);
  }

  it('1. ignores the wall clock: stepped 5 minutes forward while a create is on the wire, no payout.not_created', async () => {
    // The module's own clock (monotonic), and a gateway that answers the create only when told.
    const { payouts, sweeper, host } = await start({
      store: (store = new MemoryPayoutStore()),
      timeoutMs: 60_000,
    });
    gateway.hangNextCreates(1);
    const created = payouts.createPayout(penPayout('S1')).catch((e: unknown) => e);
    await waitUntil(() => gateway.payOuts === 1);
    const wall = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(wall + 5 * 60_000);
    const entry = (await store.listOpen(1))[0];
    await store.trackOpen('S1', entry.openedAt, 0); // due now, as if rescheduled early

    expect(await sweeper.sweep()).toMatchObject({ unknown: 1, not_created: 0 });
    expect(host.notCreated).toEqual([]);
    gateway.commitHung();
    await gateway.stop(); // the hung create's socket closes: the call ends unknown
    await created;
  });

  it('2. never judges a create a createPayout call still holds, and the call never sends after a not_created', async () => {
    const { payouts, sweeper, host } = await start({
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      timeoutMs: 60_000,
    });
    gateway.dropNextCreates(1).holdNextLookups(1);
    const created = payouts.createPayout(penPayout('S2')).catch((e: unknown) => e);
    const held = await gateway.nextHeldLookup();
    // The call is between its attempts, its window over: the sweep looks, the gateway says absent.
    clock.advance(WINDOW_MS + 1_000);
    // The call renews its lease as the clock moves on.
    await waitUntil(async () => ((await store.getAttempt('S2'))?.leaseUntil ?? 0) > clock.now());
    const entry = (await store.listOpen(1))[0];
    await store.trackOpen('S2', entry.openedAt, 0);
    expect(await sweeper.sweep()).toMatchObject({ unknown: 1, not_created: 0 });
    expect(host.notCreated).toEqual([]);

    // Had anyone found it not created meanwhile, the call must not send it again (rule 2 too).
    const attempt = (await store.getAttempt('S2'))!;
    await store.compareAndSetAttempt(
      {
        ...attempt,
        state: 'rejected',
        resendAfter: 0,
        leaseUntil: undefined,
        notice: { state: 'reconciled' },
        revision: attempt.revision + 1,
      },
      attempt.revision,
    );
    held.release();
    expect(await created).toBeInstanceOf(PayoutOutcomeUnknownError);
    expect(gateway.payOuts).toBe(1);
  });

  it('3. never evicts the attempt or record of an order still open, however full the store', async () => {
    const { payouts, sweeper, host } = await start({
      store: (store = new MemoryPayoutStore({ clock, maxEntries: 2 })),
    });
    await payouts.createPayout(penPayout('S3-OPEN'));
    for (let i = 0; i < 5; i++) await payouts.createPayout(penPayout(`S3-${i}`));
    expect((await store.getAttempt('S3-OPEN'))?.state).toBe('created');
    // The host retries its create: never sent again (rule 4).
    await expect(payouts.createPayout(penPayout('S3-OPEN'))).resolves.toMatchObject({
      orderNo: 'LC1',
    });
    expect(gateway.ordersOf('S3-OPEN')).toHaveLength(1);
    // And the sweep still learns its outcome.
    gateway.setStatus('S3-OPEN', 'SUCCESS');
    clock.advance(24 * 60 * 60_000 - 60_000);
    const before = host.succeeded.length;
    await sweeper.sweep();
    expect(host.succeeded.slice(before)).toContain('S3-OPEN');
  });

  it('4a. emits payout.not_created once when two replicas sweep it together with a slow listener', async () => {
    const a = await start();
    const b = await start({}, store);
    await unknownCreate(a.payouts, 'S4A');
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    behaviour.notCreated = () => slow;
    const first = a.sweeper.sweep();
    await waitUntil(() => a.host.notCreated.length === 1);
    const entry = (await store.listOpen(1))[0];
    await store.trackOpen('S4A', entry.openedAt, 0);
    const second = await b.sweeper.sweep();
    release();
    expect(await first).toMatchObject({ not_created: 1 });
    expect(second.not_created).toBe(0);
    expect([...a.host.notCreated, ...b.host.notCreated]).toEqual(['S4A']);
    expect(await store.listOpen(10)).toEqual([]);
  });

  it('4b. a failed payout.not_created listener gets it again at the next sweep, then never again', async () => {
    const { payouts, sweeper, host } = await start();
    await unknownCreate(payouts, 'S4B');
    let failures = 1;
    behaviour.notCreated = async () => {
      if (failures-- > 0) throw new Error('listener down');
    };
    const lookupsBefore = gateway.lookups;
    expect(await sweeper.sweep()).toMatchObject({ failed: 1 });
    clock.advance(24 * 60 * 60_000 - 60_000);
    expect(await sweeper.sweep()).toMatchObject({ not_created: 1 });
    clock.advance(60_000);
    await sweeper.sweep();
    expect(host.notCreated).toEqual(['S4B', 'S4B']);
    expect((await store.getAttempt('S4B'))?.notice).toEqual({
      state: 'emitted',
    });
    // The sweeps asked the gateway once: the second emission needed no new lookup.
    expect(gateway.lookups - lookupsBefore).toBe(1);
  });

  it('4c. a store that fails to untrack after the emission does not emit it again', async () => {
    const { payouts, sweeper, host } = await start();
    await unknownCreate(payouts, 'S4C');
    const untrack = jest.spyOn(store, 'untrackOpen').mockRejectedValue(new Error('store down'));
    await sweeper.sweep();
    untrack.mockRestore();
    clock.advance(15 * 60_000); // past the failed check's next due time
    await sweeper.sweep();
    await sweeper.sweep();
    expect(host.notCreated).toEqual(['S4C']);
    expect(await store.listOpen(10)).toEqual([]);
  });

  it('5a. a sweep that was down for a day looks once more before giving up, and emits the success', async () => {
    const { payouts, sweeper, host } = await start();
    await payouts.createPayout(penPayout('S5A'));
    gateway.setStatus('S5A', 'SUCCESS');
    clock.advance(25 * 60 * 60_000);
    expect(await sweeper.sweep()).toMatchObject({ settled: 1, abandoned: 0 });
    expect(host.succeeded).toEqual(['S5A']);
  });

  it('5b. a payout sent again from payout.not_created is watched from its new create, not abandoned', async () => {
    const { payouts, sweeper } = await start();
    await unknownCreate(payouts, 'S5B');
    clock.advance(25 * 60 * 60_000); // the first create is now far past the horizon
    behaviour.notCreated = async (event) => {
      await payouts.createPayout(penPayout(event.mchOrderNo));
    };
    expect(await sweeper.sweep()).toMatchObject({ not_created: 1 });
    expect(gateway.ordersOf('S5B')).toHaveLength(1);
    const entry = (await store.listOpen(1))[0];
    await store.trackOpen('S5B', entry.openedAt, 0);
    expect(await sweeper.sweep()).toMatchObject({ open: 1, abandoned: 0 });
  });

  it('6 and 7. a listener that never returns costs its own payout: the sweep goes on and shutdown is quick', async () => {
    const { app, payouts, sweeper, host } = await start({
      reconciliation: { leaseMs: 300 },
    });
    await payouts.createPayout(penPayout('S6-HUNG'));
    await payouts.createPayout(penPayout('S6-OTHER'));
    gateway.setStatus('S6-HUNG', 'SUCCESS');
    gateway.setStatus('S6-OTHER', 'SUCCESS');
    behaviour.succeeded = (event) => (event.mchOrderNo === 'S6-HUNG' ? never : Promise.resolve());
    clock.advance(11 * 60_000);
    const summary = await sweeper.sweep();
    expect(summary).toMatchObject({ settled: 1, failed: 1 });
    expect(host.succeeded.sort()).toEqual(['S6-HUNG', 'S6-OTHER']);
    const closing = performance.now();
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    expect(performance.now() - closing).toBeLessThan(5_000);
  });

  it('8. listOpenPayouts pages on when the entry its cursor names settles between pages', async () => {
    const { payouts } = await start();
    for (const m of ['S8-A', 'S8-B', 'S8-C']) {
      await payouts.createPayout(penPayout(m));
      clock.advance(1);
    }
    const first = await payouts.listOpenPayouts({ limit: 2 });
    expect(first.map((p) => p.mchOrderNo)).toEqual(['S8-A', 'S8-B']);
    await store.untrackOpen('S8-B');
    const next = await payouts.listOpenPayouts({ after: first[1].cursor });
    expect(next.map((p) => p.mchOrderNo)).toEqual(['S8-C']);
    await expect(payouts.listOpenPayouts({ after: 'S8-B' })).rejects.toMatchObject({
      errors: [{ field: 'after', rule: 'cursor' }],
    });
  });

  it('9. reconcile() resolving null ends the tracking: the sweep never emits payout.not_created for it', async () => {
    const { payouts, sweeper, host } = await start();
    await unknownCreate(payouts, 'S9');
    await expect(payouts.reconcile({ mchOrderNo: 'S9' })).resolves.toBeNull();
    expect(await payouts.listOpenPayouts()).toEqual([]);
    clock.advance(60 * 60_000);
    await sweeper.sweep();
    expect(host.notCreated).toEqual([]);
  });
});

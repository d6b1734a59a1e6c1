import { Injectable } from '@nestjs/common';
import type { Provider } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  MemoryPayoutStore,
  OnPayoutAnomaly,
  OnPayoutNotCreated,
  PayoutAnomalyEvent,
  PayoutNotCreatedEvent,
  PayoutOutcomeUnknownError,
  PayoutService,
  type PayoutModuleOptions,
} from '../../lib';
import { CashyHttpClient } from '../../lib/client/cashy-http.client';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import type { PayoutAttempt, PayoutRecord } from '../../lib/store/payout-store.interface';
import { TestPayoutClock } from '../../lib/testing';
import { HostileGateway } from '../support/hostile-gateway';
import { waitUntil } from '../support/wait-until';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';

/** What the host's payout.not_created listener does, set per test. */
const behaviour = {
  notCreated: async (_event: PayoutNotCreatedEvent): Promise<void> => undefined,
};

@Injectable()
class Host {
  readonly notCreated: string[] = [];
  readonly anomalies: string[] = [];
  running = 0;
  maxRunning = 0;
  @OnPayoutNotCreated()
  async onNotCreated(event: PayoutNotCreatedEvent): Promise<void> {
    this.notCreated.push(event.mchOrderNo);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await behaviour.notCreated(event);
    } finally {
      this.running--;
    }
  }
  @OnPayoutAnomaly()
  async onAnomaly(event: PayoutAnomalyEvent): Promise<void> {
    this.anomalies.push(`${event.kind}:${event.mchOrderNo}`);
  }
}

/** A host that sends a payout again as soon as it hears it was not created. */
@Injectable()
class ResendingHost {
  readonly notCreated: string[] = [];
  constructor(private readonly payouts: PayoutService) {}
  @OnPayoutNotCreated()
  async onNotCreated(event: PayoutNotCreatedEvent): Promise<void> {
    this.notCreated.push(event.mchOrderNo);
    await this.payouts.createPayout(penPayout(event.mchOrderNo));
  }
}

const W = 60_000;

/**
 * Regression tests of the findings of an adversarial review: each case drives one of the ways the
 * money promise was broken (a lease taken over, a busy call, mixed lookup keys, a slow listener, a
 * slow lookup, failing checks, a store blip, reconcile racing the sweep) step by step with a test
 * clock and a hostile gateway that holds answers, and asserts the promise holds.
 */
describe('adversarial: review findings', () => {
  let gateway: HostileGateway;
  let clock: TestPayoutClock;
  let url: string | undefined;
  const apps: TestingModule[] = [];
  /** Releases a listener a test left hanging. */
  let release: () => void = () => undefined;

  beforeEach(() => {
    gateway = new HostileGateway();
    url = undefined;
    clock = new TestPayoutClock(Date.UTC(2026, 11, 4, 12));
    behaviour.notCreated = async () => undefined;
    release = () => undefined;
  });
  afterEach(async () => {
    release();
    jest.restoreAllMocks();
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    await gateway.stop();
  });

  /** One replica against the hostile gateway (started once per test), its listeners `providers`. */
  async function start(options: Partial<PayoutModuleOptions>, providers: Provider[] = [Host]) {
    url ??= await gateway.start();
    const app = await compileScriptedPayoutModule(url, options, {
      providers,
      init: true,
    });
    apps.push(app);
    return {
      app,
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
    };
  }

  it("a lease renewal never takes over another call's attempt: the create goes out once", async () => {
    const store = new MemoryPayoutStore({ clock });
    const base: Partial<PayoutModuleOptions> = {
      store,
      resendWindowMs: W,
      timeoutMs: 60_000,
      reconciliation: false,
    };
    const a = await start({ ...base, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }, []);
    const b = await start({ ...base, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } }, []);
    // Whether each write of an attempt took.
    const writes: { ok: boolean }[] = [];
    const cas = store.compareAndSetAttempt.bind(store);
    jest
      .spyOn(store, 'compareAndSetAttempt')
      .mockImplementation(async (attempt: PayoutAttempt, revision: number) => {
        const ok = await cas(attempt, revision);
        writes.push({ ok });
        return ok;
      });

    // A: its create is reset (ambiguous, never lands); its first lookup is held (sent inside the window).
    gateway.nextCreates('drop').nextLookups('hold');
    const callA = a.payouts.createPayout(penPayout('F1')).catch((e: unknown) => e);
    const held = await gateway.nextHeldLookup();
    const T = clock.now() + W + 1_000;
    clock.set(T);
    // A renews its lease on the store's clock.
    await waitUntil(async () => ((await store.getAttempt('F1'))?.leaseUntil ?? 0) > T, 'A renewed');

    // B (another replica) 5 s later: window over, lookup "not found", it sends; its create hangs.
    clock.set(T + 5_000);
    gateway.nextCreates('hang');
    const callB = b.payouts.createPayout(penPayout('F1')).catch((e: unknown) => e);
    await waitUntil(() => gateway.payOuts === 2, 'B sent');
    const bSending = (await store.getAttempt('F1'))!;
    expect(bSending.state).toBe('sending');

    // 5.5 s later A's lease needs renewing (19.5 s left); B's does not (24.5 s left).
    const seen = writes.length;
    clock.set(T + 10_500);
    // Only A writes now: its renewal, a compare-and-set from the attempt it last wrote, fails.
    await waitUntil(() => writes.slice(seen).some((w) => !w.ok), 'A tried to renew its lease');
    // A's renewal left B's attempt as B wrote it.
    expect(await store.getAttempt('F1')).toMatchObject({
      revision: bSending.revision,
      leaseToken: bSending.leaseToken,
      state: 'sending',
    });
    // A's held lookup (sent inside the window) is answered; its next lookup, after the window, finds nothing yet.
    held.release();
    const resultA = await callA;

    // B's create lands late, as the gateway commits it.
    gateway.commitHung();
    await gateway.stop();
    await callB;

    // A sent nothing more while B's create was on the wire: one order for one mchOrderNo.
    expect(resultA).toBeInstanceOf(PayoutOutcomeUnknownError);
    expect(gateway.payOuts).toBe(2);
    expect(gateway.ordersOf('F1')).toHaveLength(1);
  });

  it('a busy-only call whose attempt was found not created sends nothing more and ends unknown', async () => {
    const TIMEOUT = 60_000;
    const store = new MemoryPayoutStore({ clock });
    const { app, payouts, sweeper } = await start({
      store,
      resendWindowMs: W,
      timeoutMs: TIMEOUT,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
      reconciliation: false,
      delivery: { claimTtlMs: 5_000 },
    });
    const host = app.get(Host);
    const client = app.get(CashyHttpClient);

    // The process "stalls" in the backoff after the busy answer: no step runs, no lease is renewed.
    let resume!: () => void;
    const stalled = new Promise<void>((r) => (resume = r));
    const realBackoff = client.backoff.bind(client);
    let inBackoff = false;
    jest
      .spyOn(client, 'backoff')
      .mockImplementationOnce(async () => {
        inBackoff = true;
        await stalled;
      })
      .mockImplementation(realBackoff);
    let frozen = true;
    const cas = store.compareAndSetAttempt.bind(store);
    jest
      .spyOn(store, 'compareAndSetAttempt')
      .mockImplementation(async (attempt: PayoutAttempt, rev: number) => {
        if (frozen && inBackoff && (attempt.state === 'sending' || attempt.state === 'unknown'))
          throw new Error('process frozen: renewal never happens');
        return cas(attempt, rev);
      });

    gateway.nextCreates('busy'); // then 'ok'
    const call = payouts.createPayout(penPayout('F2')).catch((e: unknown) => e);
    await waitUntil(() => inBackoff, 'in backoff');
    expect((await store.getAttempt('F2'))?.state).toBe('sending');

    // The store's clock moves on past the window and the lease while the process is frozen.
    clock.advance(TIMEOUT + W + 31_000);
    expect(await sweeper.sweep()).toMatchObject({ not_created: 1 });
    expect(host.notCreated).toEqual(['F2']);

    // The process resumes.
    frozen = false;
    resume();
    const result = await call;

    // Rule 12: it sends nothing more and ends with PayoutOutcomeUnknownError.
    expect(result).toBeInstanceOf(PayoutOutcomeUnknownError);
    expect(gateway.payOuts).toBe(1); // the busy one only
    expect(gateway.ordersOf('F2')).toHaveLength(0);
  });

  it("reconcile with an orderNo that is not the payout's is unknown, never null: no second order", async () => {
    const store = new MemoryPayoutStore({ clock });
    const { payouts } = await start({
      store,
      resendWindowMs: W,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      reconciliation: false,
    });
    gateway.nextCreates('drop-land');
    await expect(payouts.createPayout(penPayout('F3'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    gateway.commitHung(); // the create landed: the gateway has F3 as HG1
    clock.advance(W + 1_000);

    // An operator's "check now" with a mistyped (or another payout's) orderNo.
    await expect(
      payouts.reconcile({ mchOrderNo: 'F3', orderNo: 'HG9', currency: 'PEN' }),
    ).rejects.toBeInstanceOf(PayoutOutcomeUnknownError);
    expect((await store.getAttempt('F3'))?.state).not.toBe('rejected');
    // Sent again with the same mchOrderNo, it finds the order the gateway has and creates none.
    await expect(payouts.createPayout(penPayout('F3'))).resolves.toMatchObject({
      orderNo: 'HG1',
    });
    expect(gateway.payOuts).toBe(1);
    expect(gateway.ordersOf('F3')).toHaveLength(1);
  });

  it('a not_created listener slower than leaseMs is emitted once, however often its replica sweeps', async () => {
    const LEASE = 300;
    const store = new MemoryPayoutStore({ clock });
    const { app, payouts, sweeper } = await start({
      store,
      resendWindowMs: W,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      reconciliation: { leaseMs: LEASE },
      delivery: { claimTtlMs: 60_000 },
    });
    const host = app.get(Host);
    gateway.nextCreates('drop');
    await expect(payouts.createPayout(penPayout('F5'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    clock.advance(W + 1_000);

    const slow = new Promise<void>((r) => (release = r));
    behaviour.notCreated = () => slow; // e.g. a refund call to a slow ledger
    expect(await sweeper.sweep()).toMatchObject({ failed: 1 }); // past its deadline
    expect(host.notCreated).toEqual(['F5']);

    clock.advance(LEASE + 1); // the entry's lease is over: due again
    behaviour.notCreated = async () => undefined;
    expect(await sweeper.sweep()).toMatchObject({ not_created: 0 });
    expect(host.notCreated).toEqual(['F5']);
    expect(host.maxRunning).toBe(1);

    // The first run ends: the notice is recorded emitted, and never emitted again.
    release();
    await waitUntil(
      async () => (await store.getAttempt('F5'))?.notice?.state === 'emitted',
      'notice recorded emitted',
    );
    clock.advance(5 * 60_000);
    expect(await sweeper.sweep()).toMatchObject({ not_created: 0 });
    expect(host.notCreated).toEqual(['F5']);
    expect(host.maxRunning).toBe(1);
  });

  it('the not_created claim lives from the decision, not from before a slow lookup: one replica emits', async () => {
    const store = new MemoryPayoutStore({ clock });
    const options: Partial<PayoutModuleOptions> = {
      store,
      resendWindowMs: W,
      timeoutMs: 120_000, // a gateway that may take up to 2 minutes to answer a lookup
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      reconciliation: { leaseMs: 30_000 },
      delivery: { claimTtlMs: 60_000 },
    };
    const a = await start(options);
    const b = await start(options);
    const hostA = a.app.get(Host);
    const hostB = b.app.get(Host);
    gateway.nextCreates('drop');
    await expect(a.payouts.createPayout(penPayout('F6'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    clock.advance(W + 1_000);

    const slow = new Promise<void>((r) => (release = r));
    behaviour.notCreated = () => slow;
    gateway.nextLookups('hold');
    const sweepA = a.sweeper.sweep();
    const held = await gateway.nextHeldLookup();
    clock.advance(61_000); // the lookup takes 61 s
    held.release();
    await waitUntil(() => hostA.notCreated.length === 1, 'A emitted');
    const decidedAt = clock.now();
    const notice = (await store.getAttempt('F6'))!.notice!;
    expect(notice.claim!.expiresAt).toBe(decidedAt + 60_000);

    behaviour.notCreated = async () => undefined;
    expect(await b.sweeper.sweep()).toMatchObject({ not_created: 0 });
    // Past the entry's lease, inside the claim's life: B still waits for A's live claim.
    clock.advance(30_001);
    expect(await b.sweeper.sweep()).toMatchObject({ not_created: 0 });
    expect([...hostA.notCreated, ...hostB.notCreated]).toEqual(['F6']);
    release();
    expect(await sweepA).toMatchObject({ not_created: 1 });
    expect([...hostA.notCreated, ...hostB.notCreated]).toEqual(['F6']);
  });

  it("a payout whose checks always fail is given up past the horizon with one 'unresolved' anomaly", async () => {
    const HORIZON = 86_400_000; // the default
    const store = new MemoryPayoutStore({ clock });
    const { app, payouts, sweeper } = await start({
      store,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      reconciliation: false,
    });
    const host = app.get(Host);
    await payouts.createPayout(penPayout('F8')); // created, PROCESSING
    const createdAt = clock.now();
    gateway.defaultLookup = 'fail';
    const results: Record<string, number> = {};
    let abandonedAfter: number | undefined;
    for (let step = 0; step < 30 * 12; step++) {
      clock.advance(2 * 60 * 60_000); // maxIntervalMs
      const summary = await sweeper.sweep();
      if (summary.abandoned > 0) abandonedAfter ??= clock.now() - createdAt;
      for (const [k, v] of Object.entries(summary)) results[k] = (results[k] ?? 0) + v;
    }
    expect(results.abandoned).toBe(1);
    expect(results.failed).toBeGreaterThan(0);
    expect(abandonedAfter).toBeGreaterThan(HORIZON);
    await waitUntil(() => host.anomalies.length > 0, 'anomaly emitted');
    expect(host.anomalies).toEqual(['unresolved:F8']);
    expect(await store.listOpen(10)).toEqual([]);
  });

  it('a store error recording a not_created notice as emitted never emits it again to listeners that succeeded', async () => {
    const store = new MemoryPayoutStore({ clock });
    const { app, payouts, sweeper } = await start({
      store,
      resendWindowMs: W,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      reconciliation: false,
      delivery: { claimTtlMs: 5_000 },
    });
    const host = app.get(Host);
    gateway.nextCreates('drop');
    await expect(payouts.createPayout(penPayout('F9'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    clock.advance(W + 1_000);

    const cas = store.compareAndSetAttempt.bind(store);
    const spy = jest
      .spyOn(store, 'compareAndSetAttempt')
      .mockImplementation(async (a: PayoutAttempt, rev: number) => {
        if (a.notice?.state === 'emitted') throw new Error('store blip');
        return cas(a, rev);
      });
    expect(await sweeper.sweep()).toMatchObject({ failed: 1 });
    expect(host.notCreated).toEqual(['F9']);
    spy.mockRestore();
    await waitUntil(
      async () => (await store.getAttempt('F9'))?.notice?.state === 'emitted',
      'notice recorded emitted once the store works',
    );

    clock.advance(5 * 60_000); // the check's lease and claim are over
    expect(await sweeper.sweep()).toMatchObject({ not_created: 0 });
    expect(host.notCreated).toEqual(['F9']);
  });

  it("a created order whose 'created' record failed to write is never reported not created", async () => {
    const store = new MemoryPayoutStore({ clock });
    const { app, payouts, sweeper } = await start(
      {
        store,
        resendWindowMs: W,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: false,
        delivery: { claimTtlMs: 5_000 },
      },
      [ResendingHost],
    );
    const host = app.get(ResendingHost);

    let blip = true;
    const casAttempt = store.compareAndSetAttempt.bind(store);
    jest
      .spyOn(store, 'compareAndSetAttempt')
      .mockImplementation(async (a: PayoutAttempt, rev: number) => {
        if (blip && a.state === 'created') throw new Error('store blip');
        return casAttempt(a, rev);
      });
    const casRecord = store.compareAndSet.bind(store);
    jest.spyOn(store, 'compareAndSet').mockImplementation(async (r: PayoutRecord, rev: number) => {
      if (blip) throw new Error('store blip');
      return casRecord(r, rev);
    });
    await expect(payouts.createPayout(penPayout('F10'))).resolves.toMatchObject({ orderNo: 'HG1' });
    // Not recorded yet: the call's lease stays on its attempt meanwhile.
    const unrecorded = (await store.getAttempt('F10'))!;
    expect(unrecorded.state).toBe('sending');
    expect(unrecorded.leaseUntil).toBeGreaterThan(clock.now());

    // The store still fails past the re-send window; the lease is renewed all along.
    gateway.defaultLookup = 'lie-absent'; // a lagging or lying query endpoint
    while (clock.now() <= unrecorded.resendAfter) {
      clock.advance(25_000);
      const now = clock.now();
      await waitUntil(
        async () => ((await store.getAttempt('F10'))?.leaseUntil ?? 0) > now + 20_000,
        'lease renewed',
      );
    }
    expect(await sweeper.sweep()).toMatchObject({ not_created: 0 });
    expect((await store.getAttempt('F10'))?.state).not.toBe('rejected');

    // The store works again: the attempt is recorded created, its lease ended.
    blip = false;
    await waitUntil(
      async () => (await store.getAttempt('F10'))?.state === 'created',
      'recorded created',
    );
    await waitUntil(
      async () => (await store.getAttempt('F10'))?.leaseUntil === undefined,
      'lease ended',
    );
    expect(await store.getAttempt('F10')).toMatchObject({ orderNo: 'HG1' });

    clock.advance(11 * 60_000); // first check
    expect(await sweeper.sweep()).toMatchObject({ not_created: 0 });
    expect(host.notCreated).toEqual([]);
    expect(gateway.ordersOf('F10')).toHaveLength(1);
  });

  it("a sweep that finds reconcile() already resolved null emits no false 'unresolved' anomaly", async () => {
    const store = new MemoryPayoutStore({ clock });
    const { app, payouts, sweeper } = await start({
      store,
      resendWindowMs: W,
      timeoutMs: 60_000,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      reconciliation: false,
      delivery: { claimTtlMs: 5_000 },
    });
    const host = app.get(Host);
    gateway.nextCreates('drop');
    await expect(payouts.createPayout(penPayout('F4'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    clock.advance(W + 1_000);

    gateway.nextLookups('hold'); // the sweep's lookup
    const swept = sweeper.sweep();
    const held = await gateway.nextHeldLookup();
    await expect(payouts.reconcile({ mchOrderNo: 'F4' })).resolves.toBeNull();
    held.release();
    expect(await swept).toMatchObject({ abandoned: 0, not_created: 0 });
    expect(host.anomalies).toEqual([]);
    expect(host.notCreated).toEqual([]); // told once: reconcile's null
    expect(await store.listOpen(10)).toEqual([]);
  });

  /** Attacks of the review that held up, kept as probes. */
  describe('attacks that held up', () => {
    function options(
      store: MemoryPayoutStore,
      extra: Partial<PayoutModuleOptions> = {},
    ): Partial<PayoutModuleOptions> {
      return {
        store,
        resendWindowMs: W,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: false,
        delivery: { claimTtlMs: 60_000 },
        ...extra,
      };
    }

    it('a gateway that answered SUCCESS then says "not found": unknown, never not_created', async () => {
      const store = new MemoryPayoutStore({ clock });
      const { app, payouts, sweeper } = await start(options(store));
      const host = app.get(Host);
      await payouts.createPayout(penPayout('H1'));
      clock.advance(11 * 60_000);
      gateway.defaultLookup = 'lie-absent';
      expect(await sweeper.sweep()).toMatchObject({
        unknown: 1,
        not_created: 0,
      });
      await expect(payouts.reconcile({ mchOrderNo: 'H1' })).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      expect(host.notCreated).toEqual([]);
    });

    it('maxEntries 1: unknown and pending-notice attempts survive a flood of other payouts', async () => {
      const store = new MemoryPayoutStore({ clock, maxEntries: 1 });
      const { app, payouts, sweeper } = await start(options(store));
      const host = app.get(Host);
      gateway.nextCreates('drop', 'drop');
      await expect(payouts.createPayout(penPayout('H2-A'))).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      await expect(payouts.createPayout(penPayout('H2-B'))).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      for (let i = 0; i < 5; i++) await payouts.createPayout(penPayout(`H2-${i}`));
      clock.advance(W + 1_000);
      let fail = true;
      behaviour.notCreated = async () => {
        if (fail) throw new Error('down');
      };
      await sweeper.sweep();
      for (let i = 5; i < 10; i++) await payouts.createPayout(penPayout(`H2-${i}`));
      expect((await store.getAttempt('H2-A'))?.notice?.state).toBe('pending');
      fail = false;
      clock.advance(24 * 60 * 60_000);
      await sweeper.sweep();
      expect(host.notCreated.filter((m) => m.startsWith('H2-')).sort()).toEqual([
        'H2-A',
        'H2-A',
        'H2-B',
        'H2-B',
      ]);
    });

    it('shutdown mid-emission hands the entry back; the other replica waits for the live claim', async () => {
      const store = new MemoryPayoutStore({ clock });
      const a = await start(options(store));
      const b = await start(options(store));
      const hostA = a.app.get(Host);
      const hostB = b.app.get(Host);
      gateway.nextCreates('drop');
      await expect(a.payouts.createPayout(penPayout('H3'))).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      clock.advance(W + 1_000);
      const slow = new Promise<void>((r) => (release = r));
      behaviour.notCreated = () => slow;
      void a.sweeper.sweep();
      await waitUntil(() => hostA.notCreated.length === 1);
      await a.app.close();
      apps.splice(apps.indexOf(a.app), 1);
      expect((await store.listOpen(10))[0].dueAt).toBeLessThanOrEqual(clock.now());
      behaviour.notCreated = async () => undefined;
      expect(await b.sweeper.sweep()).toMatchObject({
        unknown: 1,
        not_created: 0,
      });
      expect(hostB.notCreated).toEqual([]);
    });

    it('a lookup answered with another mchOrderNo is not taken as this order', async () => {
      const store = new MemoryPayoutStore({ clock });
      const { payouts } = await start(
        options(store, {
          retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
        }),
      );
      await payouts.createPayout(penPayout('H4-OTHER'));
      gateway.nextCreates('drop');
      // the gateway answers H4's lookups with H4-OTHER's order
      gateway.rewriteLookup = (m) =>
        m === 'H4'
          ? {
              ...gateway.ordersOf('H4-OTHER')[0],
              fee: null,
              completionTime: null,
            }
          : undefined;
      await expect(payouts.createPayout(penPayout('H4'))).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
      expect(gateway.ordersOf('H4')).toHaveLength(0);
      expect((await store.getAttempt('H4'))?.state).toBe('unknown');
      expect(await store.findByMchOrderNo('H4')).toBeUndefined();
    });
  });
});

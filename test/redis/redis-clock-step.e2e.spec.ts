import { performance } from 'node:perf_hooks';
import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  OnPayoutNotCreated,
  OnPayoutSucceeded,
  PayoutNotCreatedEvent,
  PayoutOutcomeUnknownError,
  PayoutService,
  PayoutSucceededEvent,
  type PayoutModuleOptions,
} from '../../lib';
import { SyncedPayoutClock } from '../../lib/clock/payout.clock';
import { RedisPayoutStore } from '../../lib/redis';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { notification, PEN_ACCOUNT } from '../support/notifications';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { waitUntil } from '../support/wait-until';
import { FAIL_FAST } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';

/** Runs inside each payout.not_created listener call; set per test. */
let onNotCreated: (event: PayoutNotCreatedEvent) => Promise<void> = async () => undefined;
/** Runs inside each payout.succeeded listener call; set per test. */
let onSucceeded: (event: PayoutSucceededEvent) => Promise<void> = async () => undefined;

@Injectable()
class StepHost {
  readonly notCreated: string[] = [];
  readonly succeeded: string[] = [];
  @OnPayoutNotCreated()
  async onNotCreated(event: PayoutNotCreatedEvent): Promise<void> {
    this.notCreated.push(event.mchOrderNo);
    await onNotCreated(event);
  }
  @OnPayoutSucceeded()
  async onSucceeded(event: PayoutSucceededEvent): Promise<void> {
    this.succeeded.push(`${event.mchOrderNo}/${event.orderNo}`);
    await onSucceeded(event);
  }
}

/**
 * A step of the store's clock (rule 11), from the final adversarial reviews of issues 25 and 26:
 * two replicas on one Redis, each reading Redis's clock (`TIME`) through its own
 * `SyncedPayoutClock`, as `RedisPayoutStore` does by default. The test steps Redis's TIME and says
 * when each replica reads it (their 30 s timers never fire during a test). Where time must pass on
 * the replicas' monotonic clocks, `performance.now` is moved forward: that is what waiting looks
 * like to `SyncedPayoutClock`.
 */
describeWithRedis('a step of the store clock on a shared Redis', () => {
  let server: RedisServer;
  let client: Redis;
  let gateway: LateCommitGateway;
  let baseUrl: string;
  const apps: TestingModule[] = [];
  /** How far Redis's TIME has been stepped (an operator, a VM resumed, a failover). */
  let timeStep = 0;
  /** Added to each reading in turn (a source that jitters, or flaps between two clocks). */
  let jitter: number[] = [];
  /** How many times Redis's TIME was read. */
  let readings = 0;
  /** How far the replicas' monotonic clocks have been moved on (time passing). */
  let elapsed = 0;
  let prefix = 0;

  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true, ...FAIL_FAST });
    client.on('error', () => undefined);
    await client.connect();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.dispose();
  });
  beforeEach(async () => {
    gateway = new LateCommitGateway();
    baseUrl = await gateway.start();
    timeStep = 0;
    jitter = [];
    readings = 0;
    elapsed = 0;
    prefix++;
    onNotCreated = async () => undefined;
    onSucceeded = async () => undefined;
    const realNow = performance.now.bind(performance);
    jest.spyOn(performance, 'now').mockImplementation(() => realNow() + elapsed);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const app of apps.splice(0)) await app.close();
    await gateway.stop();
  });

  /** Redis's `TIME` in epoch ms, plus the time the test let pass, the step and the jitter it applied. */
  async function redisTime(): Promise<number> {
    const [seconds, micros] = await client.time();
    const shake = jitter.length > 0 ? jitter[readings % jitter.length] : 0;
    readings++;
    // Time passing (`elapsed`) moves the server's clock as it moves the replicas' monotonic ones.
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + elapsed + timeStep + shake;
  }

  async function replica(options: Partial<PayoutModuleOptions> = {}) {
    // What RedisPayoutStore builds by default (a SyncedPayoutClock on TIME), with the step applied.
    const clock = new SyncedPayoutClock(redisTime);
    const store = new RedisPayoutStore({ client, keyPrefix: `fix-step-${prefix}:`, clock });
    const app = await compileScriptedPayoutModule(
      baseUrl,
      {
        store,
        resendWindowMs: 60_000,
        timeoutMs: 60_000,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: { intervalMs: 86_400_000 },
        ...options,
      },
      { providers: [StepHost], init: true }, // init reads the clock once (PayoutClockSync)
    );
    apps.push(app);
    return {
      clock,
      store,
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
      host: app.get(StepHost),
    };
  }

  it("a step of Redis's TIME seen by one replica first never lets it judge the other's live create not created (one order)", async () => {
    const a = await replica();
    const b = await replica();
    // B's not_created listener sends the payout again, as the README says a host may.
    onNotCreated = async (event) => {
      await b.payouts.createPayout(penPayout(event.mchOrderNo)).catch(() => undefined);
    };
    // A's create is on the wire (the gateway commits it late), A's call running and holding its lease.
    gateway.hangNextCreates(1);
    const created = a.payouts.createPayout(penPayout('FR-STEP')).catch((e: unknown) => e);
    await waitUntil(() => gateway.payOuts === 1, "A's create to reach the gateway");
    // Redis's clock steps 10 minutes forward. B's 30-second clock read comes first; A's is up to 30 s away.
    timeStep = 10 * 60_000;
    await b.clock.sync();
    // The docs: a step "can end a lease early until its holder renews it, within a second". Wait longer.
    await new Promise((r) => setTimeout(r, 1_500));
    await b.sweeper.sweep();
    gateway.commitHung(); // A's create lands after all
    await gateway.stop();
    await created;
    // Before the fix: B rejected A's live attempt (its lease, written on A's unstepped reading, looks 9.5 min
    // old to B), emitted payout.not_created, and the listener's create went out: two orders.
    expect({
      notCreated: b.host.notCreated,
      orders: gateway.ordersOf('FR-STEP').length,
    }).toEqual({ notCreated: [], orders: 1 });
  });

  it("a step BACKWARD of Redis's TIME seen by one replica first never lets the other judge its live create not created (one order)", async () => {
    const a = await replica();
    const b = await replica();
    // A's not_created listener sends the payout again, as the README says a host may.
    onNotCreated = async (event) => {
      await a.payouts.createPayout(penPayout(event.mchOrderNo)).catch(() => undefined);
    };
    // Redis's clock steps 10 minutes back. B's 30-second read comes first; A's is up to 30 s away.
    timeStep = -10 * 60_000;
    await b.clock.sync();
    // B's create is on the wire (the gateway commits it late); B's call runs and holds its lease,
    // written on B's new reading.
    gateway.hangNextCreates(1);
    const created = b.payouts.createPayout(penPayout('FR-BACK')).catch((e: unknown) => e);
    await waitUntil(() => gateway.payOuts === 1, "B's create to reach the gateway");
    // A sweeps before its next read of the clock.
    await a.sweeper.sweep();
    gateway.commitHung(); // B's create lands after all
    await gateway.stop();
    await created;
    // Before the fix: A rejected B's live attempt (its lease and window, written on B's stepped-back reading,
    // look 9.5 min old to A, whose clock never saw the step), emitted
    // payout.not_created, and the listener's create went out: two orders. docs/guarantees.md rule 11
    // says "A step backward only makes every window, lease and claim last longer".
    expect({
      notCreated: a.host.notCreated,
      orders: gateway.ordersOf('FR-BACK').length,
    }).toEqual({ notCreated: [], orders: 1 });
  });

  it('a re-send window written before a step forward is not over 36 s later when its 60 s have not passed (one order)', async () => {
    const a = await replica({ timeoutMs: 300 });
    const b = await replica({ timeoutMs: 300 });
    onNotCreated = async (event) => {
      await b.payouts.createPayout(penPayout(event.mchOrderNo)).catch(() => undefined);
    };
    // A's create times out; the gateway will commit it late. Its window: 60 s from now.
    gateway.hangNextCreates(1);
    await expect(a.payouts.createPayout(penPayout('FR-WIN'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // Redis's clock steps 10 minutes forward; both replicas read it (within the 30 s).
    timeStep = 10 * 60_000;
    await b.clock.sync();
    await a.clock.sync();
    // 36 s pass: every replica has read the clock again since the step.
    elapsed += 36_000;
    // Only 36 of the window's 60 s have passed: the create may still land (rule 3).
    await b.sweeper.sweep();
    gateway.commitHung(); // it lands, 40 s after it was sent
    await gateway.stop();
    // Before the fix: B judged the window (written on A's pre-step reading, never renewed) over, emitted
    // payout.not_created and the listener sent it again: two orders. The doc (rule 11) lists only
    // horizons and the sweep's own leases as moving with a step.
    expect({
      notCreated: b.host.notCreated,
      orders: gateway.ordersOf('FR-WIN').length,
    }).toEqual({ notCreated: [], orders: 1 });
  });

  it('a webhook claim held through a step forward is not taken over 36 s later while its listener still runs (one payout.succeeded)', async () => {
    // Default delivery options: claimTtlMs 120 s, renewed every 40 s. A short wait for copies.
    const a = await replica({ delivery: { claimWaitMs: 200 } });
    const b = await replica({ delivery: { claimWaitMs: 200 } });
    const body = notification({ mchOrderNo: 'FR-CLAIM', orderNo: 'ORDER-CLAIM' });
    // A's listener (the host's ledger) is slow.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    onSucceeded = () => gate;
    const first = a.payouts.handleNotification(body, PEN_ACCOUNT.merchantId);
    await waitUntil(() => a.host.succeeded.length === 1, "A's listener to start");
    // Redis's clock steps 10 minutes forward; both replicas read it within their 30 s.
    timeStep = 10 * 60_000;
    await b.clock.sync();
    await a.clock.sync();
    // 36 s later (A's claim renewal, every claimTtlMs / 3 = 40 s, has not come round yet), Cashy's
    // retry of the same notification reaches B.
    elapsed += 36_000;
    let copy = 'running';
    const copied = b.payouts.handleNotification(body, PEN_ACCOUNT.merchantId).then(
      (result) => (copy = String(result)),
      (e: unknown) => (copy = (e as Error).constructor.name),
    );
    // The copy either gives up (PayoutBusyError after claimWaitMs) or runs the listeners itself.
    await waitUntil(() => copy !== 'running' || b.host.succeeded.length > 0, 'the copy to settle');
    release();
    await Promise.all([first, copied]);
    // Before the fix: B took A's claim (expiresAt on A's pre-step reading) as ended and ran the listeners
    // again: payout.succeeded twice. The doc's 35 s assume every holder renews within 5 s of its
    // read; a webhook claim is renewed every claimTtlMs / 3.
    expect({ copy, succeeded: [...a.host.succeeded, ...b.host.succeeded] }).toEqual({
      copy: 'PayoutBusyError',
      succeeded: ['FR-CLAIM/ORDER-CLAIM'],
    });
  });

  it('a store clock moved 45 s forward in sub-second steps, each read by a busy replica, never ends a re-send window another replica wrote before (one order)', async () => {
    const a = await replica({ timeoutMs: 300 });
    const b = await replica({ timeoutMs: 300 });
    onNotCreated = async (event) => {
      await b.payouts.createPayout(penPayout(event.mchOrderNo)).catch(() => undefined);
    };
    // A's create times out; the gateway commits it late. Its window: 60.3 s from now.
    gateway.hangNextCreates(1);
    await expect(a.payouts.createPayout(penPayout('RF-CREEP'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // Over 17 s Redis's clock moves 45 s forward in 0.9 s steps (a VM catching up lost ticks, a
    // clock stepped repeatedly by a misconfigured daemon). B is busy: its decisions (webhooks,
    // reconcile, the sweep) each refresh() the clock, so it reads it between every two steps.
    for (let i = 0; i < 50; i++) {
      timeStep += 900;
      elapsed += 340;
      await b.clock.refresh();
    }
    // A has not read the clock since (its 30 s timer): only 17 s of the window's 60 have passed.
    await b.sweeper.sweep();
    gateway.commitHung(); // A's create lands, 17 s after it was sent
    await gateway.stop();
    // Before the fix: notCreated ['RF-CREEP'], 2 orders. SyncedPayoutClock.sync (lib/clock/payout.clock.ts)
    // compares each reading only with the one just before; refresh() makes readings
    // frequent, so a 45 s move that A would see as one step at its next read never exceeds the 1 s
    // tolerance on B, and B's confirmAbsent takes A's window (written on A's older reading) as over.
    expect({
      notCreated: b.host.notCreated,
      orders: gateway.ordersOf('RF-CREEP').length,
    }).toEqual({ notCreated: [], orders: 1 });
  });

  it("a re-send window longer than this replica's own (a rolling config change) is not over 160 s after a step forward while its 10 minutes have not passed (one order)", async () => {
    // A runs the new config (a 10 min re-send window), B the old one (60 s): a rolling deploy.
    const a = await replica({ resendWindowMs: 600_000, timeoutMs: 300 });
    const b = await replica({ timeoutMs: 300 });
    onNotCreated = async (event) => {
      await b.payouts.createPayout(penPayout(event.mchOrderNo)).catch(() => undefined);
    };
    gateway.hangNextCreates(1);
    await expect(a.payouts.createPayout(penPayout('RF-LONG'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // Redis's clock steps 10 minutes forward; both replicas read it within their 30 s.
    timeStep = 10 * 60_000;
    await b.clock.refresh();
    await a.clock.refresh();
    // 160 s pass: past B's 35 s + its own longest hold (120 s: the default claimTtlMs).
    elapsed += 160_000;
    await b.sweeper.sweep();
    gateway.commitHung(); // A's create lands, under 3 minutes after it was sent
    await gateway.stop();
    // Before the fix: notCreated ['RF-LONG'], 2 orders. PayoutClockSync.onModuleInit
    // (lib/clock/payout-clock.sync.ts, longestHoldMs) sizes the step's hold from this
    // replica's config, while the window it judges was written by another replica with its own
    // (resendAfter - sentAt = 600.3 s is in the attempt): B takes a 10 min window as over after 155 s.
    expect({
      notCreated: b.host.notCreated,
      orders: gateway.ordersOf('RF-LONG').length,
    }).toEqual({ notCreated: [], orders: 1 });
  });

  it('a TIME answer delayed by a busy store (a 3 s script) is no step of its clock: reconcile() still resolves null for a payout whose window is long over', async () => {
    const a = await replica({ timeoutMs: 300 });
    gateway.dropNextCreates(1); // reset at once; never lands
    await expect(a.payouts.createPayout(penPayout('RF-SLOW'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    elapsed += 10 * 60_000; // the 60 s window is long over
    // Redis runs a 3 s script (a slow Lua script, a big DEL, a fork on a large dataset). Meanwhile a
    // decision elsewhere in this process re-reads the clock (or its 30 s timer fires).
    const busy = new Redis({ host: '127.0.0.1', port: server.port });
    const script = busy.eval(
      "local s = redis.call('TIME') local t0 = s[1] * 1000000 + s[2] while true do local n = redis.call('TIME') if n[1] * 1000000 + n[2] - t0 > 3000000 then return 1 end end",
      0,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await a.clock.refresh();
    await script;
    busy.disconnect();
    const stepped = a.clock.stepMargin() > 0;
    const result = await a.payouts.reconcile({ mchOrderNo: 'RF-SLOW' }).then(
      (found) => (found === null ? 'null' : found.orderStatus),
      (error: unknown) => (error as Error).constructor.name,
    );
    // Before the fix: stepped true, PayoutOutcomeUnknownError ("the store's clock stepped"). sync() places the
    // reading at the middle of its round trip (payout.clock.ts): a 2.9 s round trip whose answer
    // was read at its end is off by ~1.45 s, above STEP_TOLERANCE_MS, with no bound on the round
    // trip. Every decision then waits 35 s + the longest hold (here 60.3 s; 155 s on the defaults).
    expect({ stepped, result }).toEqual({ stepped: false, result: 'null' });
  });

  it("copies of a webhook are answered once a dead holder's claim has run out, even on a store clock that keeps stepping", async () => {
    const b = await replica({ timeoutMs: 300, delivery: { claimTtlMs: 1_000, claimWaitMs: 200 } });
    const body = notification({ mchOrderNo: 'RF-DEAD', orderNo: 'ORDER-DEAD' });
    // The order is known (PAYING), then a replica claims its SUCCESS and dies before any listener
    // ran (the claim as PayoutOutcomeProcessor.runClaimed writes it).
    await b.payouts.handleNotification(
      { ...body, orderStatus: 'PAYING', fee: null },
      PEN_ACCOUNT.merchantId,
    );
    const record = (await b.store.get('ORDER-DEAD'))!;
    expect(
      await b.store.compareAndSet(
        {
          ...record,
          claim: { status: 'SUCCESS', token: 'dead-replica-1', expiresAt: b.clock.now() + 1_000 },
          revision: record.revision + 1,
        },
        record.revision,
      ),
    ).toBe(true);
    // From now on every reading of Redis's TIME is 1.5 s off the one before (a proxy balancing
    // between two servers whose clocks differ, or the slow readings of the previous test).
    jitter = [0, 1_500];
    const copies: string[] = [];
    const before = readings;
    for (let i = 0; i < 3; i++) {
      // Cashy retries the notification: 10 minutes, then 20, then 30 after the claim ran out.
      elapsed += 10 * 60_000;
      copies.push(
        await b.payouts.handleNotification(body, PEN_ACCOUNT.merchantId).then(
          (result) => String(result),
          (error: unknown) => (error as Error).constructor.name,
        ),
      );
    }
    const timeReadsPerCopy = Math.round((readings - before) / 3);
    // Before the fix: every copy is PayoutBusyError (503) for good, and nothing else ever takes the claim (the
    // sweep's check goes through the same apply). apply → stillHeld (payout.clock.ts) refreshes
    // at each poll, each reading "steps", and a step holds any claim, however long ago it ran out;
    // each poll also costs a TIME round trip on the webhook path (timeReadsPerCopy: 7 with a 200 ms
    // claimWaitMs; none while the claim still looks live, one for a claim that looks run out).
    expect({ copies, succeeded: b.host.succeeded, timeReadsPerCopy }).toEqual({
      copies: ['emitted', 'duplicate', 'duplicate'],
      succeeded: ['RF-DEAD/ORDER-DEAD'],
      timeReadsPerCopy: expect.any(Number),
    });
  });
});

import { performance } from 'node:perf_hooks';
import type { TestingModule } from '@nestjs/testing';
import {
  MemoryPayoutStore,
  PayoutOutcomeUnknownError,
  PayoutService,
  SyncedPayoutClock,
  type PayoutStore,
} from '../../lib';
import { HostileGateway } from '../support/hostile-gateway';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { waitUntil } from '../support/wait-until';

/**
 * Fourth adversarial review: the store clock's step margin (rule 11): a bad clock and an unlucky host against
 * `SyncedPayoutClock`, the clock every decision that takes something as ended is judged on.
 *
 * As in test/unit/synced-payout-clock.spec.ts: `elapsed` is time passing (this process's monotonic
 * clock), the source answers `epoch + elapsed` (plus whatever the test makes its clock do) at the
 * end of a round trip of `answerAfter` ms.
 */
describe("the store clock's readings (rule 11)", () => {
  let elapsed: number;
  let answerAfter: number;
  const epoch = Date.UTC(2026, 11, 5, 12);

  beforeEach(() => {
    elapsed = 0;
    answerAfter = 0;
    jest.spyOn(performance, 'now').mockImplementation(() => elapsed);
  });
  afterEach(() => jest.restoreAllMocks());

  /** A clock whose source's time is `sourceTime()` when it answers, at the end of its round trip. */
  function clockOver(sourceTime: () => number): SyncedPayoutClock {
    return new SyncedPayoutClock(async () => {
      await Promise.resolve();
      elapsed += answerAfter;
      return sourceTime();
    });
  }

  it('follows the store clock after its first reading: once the store answers 100 ms slower than at start, two days of 100 ppm drift do not put now() a second off the store', async () => {
    // The source runs 100 ppm slower than this process's monotonic clock: well within the 500 ppm
    // the clock allows for, so no step ever shows. The first reading is fast (an idle start), every
    // later one takes 200 ms (a busy event loop, a remote store).
    //
    // What happens: a reading is taken as `current` only if its uncertainty is at most the first
    // one's + 50 ms (payout.clock.ts). The first fast reading is kept forever; now() runs on the
    // start-up offset plus this process's monotonic clock, and drifts off the store without bound
    // (17 s after two days here). Its windows, leases and claims are written that far off the
    // shared timeline, and no other replica sees a step to make up for it: a window written 17 s
    // early is judged ended 17 s early by the sweep of another replica (rule 3).
    const source = () => epoch + Math.floor(elapsed * (1 - 100e-6));
    const c = clockOver(source);
    c.holdsLastUpTo(130_000);
    answerAfter = 2;
    await c.sync();
    answerAfter = 200;
    for (let t = 0; t < 2 * 86_400_000; t += 30_000) {
      elapsed += 30_000 - answerAfter;
      await c.sync();
    }
    expect(c.stepMargin()).toBe(0); // no step was seen (none happened)
    expect(Math.abs(c.now() - source())).toBeLessThan(1_000);
  });

  it('sees a step made of moves under a second each when decisions refresh the clock many times in between', async () => {
    // The same moves as the unit test "sees a step made of moves under a second each, read in
    // between" (five moves of 600 ms, 3 s in all, within 20 s: one sync period of any other
    // replica), but with decisions refreshing the clock every 50 ms meanwhile (webhook copies
    // waiting on a claim poll it every 5-100 ms).
    //
    // What happens: only the last 64 readings are compared with a new one (READINGS_KEPT,
    // payout.clock.ts). 70 refreshes after each move push every reading taken before it
    // out, so each move is only ever compared with readings 600 ms off: no step, margin 0, while a
    // replica that read before the moves writes its times 3 s off.
    let moved = 0;
    const c = clockOver(() => epoch + elapsed + moved);
    c.holdsLastUpTo(130_000);
    await c.sync();
    for (let move = 0; move < 5; move++) {
      moved += 600;
      for (let i = 0; i < 70; i++) {
        elapsed += 50;
        await c.refresh();
      }
    }
    expect(c.stepMargin()).toBeGreaterThanOrEqual(2_400);
  });

  it('after an outage longer than its own holds, a failover to a server a minute ahead still moves the judgment of a day-long window another replica wrote before it', async () => {
    // Rule 11: a step counts "until ... the longest hold has passed: ... of the window or claim
    // judged, as the replica that wrote it set it". This replica's own holds are 130 s; another
    // replica (resendWindowMs of a day) wrote a window just before the store went away.
    //
    // What happens: readings are kept only for 35 s + this replica's own longest hold
    // (payout.clock.ts), not for the longest hold a judgment may pass. The store is
    // unreachable for 200 s (sync fails, `current` keeps counting), and comes back as a server
    // whose clock is a minute ahead: the first reading has nothing left to be compared with, so
    // no step is recorded and `current` silently jumps a minute. stepMargin(a day) is 0: the other
    // replica's window is judged ended a minute early.
    let ahead = 0;
    let down = false;
    const c = new SyncedPayoutClock(async () => {
      await Promise.resolve();
      if (down) throw new Error('ECONNREFUSED');
      return epoch + elapsed + ahead;
    });
    c.holdsLastUpTo(130_000);
    await c.sync();
    down = true;
    for (let i = 0; i < 200; i++) {
      elapsed += 1_000;
      await c.sync().catch(() => undefined);
    }
    down = false;
    ahead = 60_000;
    await c.sync();
    expect(c.stepMargin(86_400_000 + 10_000)).toBeGreaterThanOrEqual(60_000);
  });

  it('judges a claim that looks run out right after a step on a reading of the store taken after the judgment began', async () => {
    // A periodic sync is under way: the store has read its clock, its answer is still on the wire.
    // The store's clock then steps back a minute; another replica reads it at once and takes a
    // 30 s claim. This replica, still a minute ahead, sees the claim as run out and asks for a
    // fresh reading (stillHeld → freshStepMargin → refresh).
    //
    // What happens: `sync()` shares the reading already under way (payout.clock.ts),
    // although it was read by the store before the step: the "fresh" reading shows no step, the
    // margin is 0, and a claim with 30 s left is taken over (a second emission of the outcome while
    // the holder's listeners run; the same holds for confirmAbsent's window and lease).
    let back = 0;
    const answers: (() => void)[] = [];
    const c = new SyncedPayoutClock(() => {
      const time = epoch + elapsed - back;
      return new Promise<number>((resolve) => answers.push(() => resolve(time)));
    });
    c.holdsLastUpTo(130_000);
    const first = c.sync();
    answers.shift()!();
    await first;

    elapsed += 30_000;
    const periodic = c.sync(); // read by the store now, answered a few ms later
    back = 60_000; // the store's clock steps back a minute
    const expiresAt = epoch + elapsed - back + 30_000; // another replica's claim: 30 s left
    elapsed += 5;
    const judged = c.stillHeld(expiresAt, 30_000);
    await Promise.resolve();
    answers.shift()!(); // the periodic reading's answer arrives
    await periodic;
    // Any reading sent after the judgment began is answered with the stepped clock.
    for (let i = 0; i < 10 && answers.length === 0; i++) await Promise.resolve();
    while (answers.length) answers.shift()!();
    expect(await judged).toBe(true);
  });
});

/**
 * Two replicas on one store, each with its own `SyncedPayoutClock` over the store's clock (as two
 * processes on one Redis): the memory store's data is shared, each replica sees it with its clock.
 */
describe("the store clock's readings (rule 11), two replicas", () => {
  let gateway: HostileGateway;
  const apps: TestingModule[] = [];

  beforeEach(() => {
    gateway = new HostileGateway();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await gateway.stop();
  });

  /** `shared`, seen by a replica whose clock is `clock`. */
  function replicaView(shared: MemoryPayoutStore, clock: SyncedPayoutClock): PayoutStore {
    return new Proxy(shared, {
      get(target, key) {
        if (key === 'clock') return clock;
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }

  /** Two replicas on one shared memory store, each seeing it with its own clock. */
  async function twoReplicas(
    clockA: SyncedPayoutClock,
    clockB: SyncedPayoutClock,
  ): Promise<[PayoutService, PayoutService]> {
    const shared = new MemoryPayoutStore({ clock: clockA });
    const url = await gateway.start();
    const replica = async (clock: SyncedPayoutClock) => {
      const app = await compileScriptedPayoutModule(
        url,
        {
          resendWindowMs: 60_000,
          retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
          reconciliation: { intervalMs: 86_400_000 },
          store: replicaView(shared, clock),
        },
        { init: true },
      );
      apps.push(app);
      return app.get(PayoutService);
    };
    return [await replica(clockA), await replica(clockB)];
  }

  /** What a reconcile() ended with: `null`, the orderNo, or the error's class. */
  function outcomeOf(call: Promise<{ orderNo: string } | null>): Promise<string> {
    return call.then(
      (found) => (found === null ? 'null' : found.orderNo),
      (error: unknown) => (error as Error).constructor.name,
    );
  }

  it('never resolves reconcile() null for a create another replica sent after a step of the store clock, while a reading taken before the step is still on its way: the payout goes out once', async () => {
    // The store's clock (`back` ms behind real time once it steps back).
    let back = 0;
    const storeTime = () => performance.timeOrigin + performance.now() - back;
    // Replica A's readings: answered at once, or held on the wire (a slow answer) until released.
    let holdA = false;
    const heldA: (() => void)[] = [];
    const clockA = new SyncedPayoutClock(() => {
      const time = storeTime();
      if (!holdA) return Promise.resolve(time);
      return new Promise<number>((resolve) => heldA.push(() => resolve(time)));
    });
    const clockB = new SyncedPayoutClock(async () => storeTime());
    const [payoutsA, payoutsB] = await twoReplicas(clockA, clockB);

    // A's periodic reading is under way: the store has read its clock, the answer is slow.
    holdA = true;
    const periodic = clockA.sync();
    holdA = false;
    // The store's clock steps back 90 s (a failover to a server behind); B reads it at once.
    back = 90_000;
    await clockB.sync();
    // B sends CM-1; the gateway commits it late (the create times out).
    gateway.nextCreates('hang');
    await expect(payoutsB.createPayout(penPayout('CM-1'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // The host asks A. The gateway does not show CM-1 yet.
    const refreshed = jest.spyOn(clockA, 'refresh');
    const reconciled = outcomeOf(payoutsA.reconcile({ mchOrderNo: 'CM-1' }));
    await waitUntil(() => refreshed.mock.calls.length > 0, "A's decision to refresh its clock");
    for (const answer of heldA.splice(0)) answer(); // the slow answer arrives
    await periodic;
    const result = await reconciled;
    // Told null ("send it again"), the host sends it again; then B's create lands.
    if (result === 'null') await payoutsA.createPayout(penPayout('CM-1')).catch(() => undefined);
    gateway.commitHung();
    // What happens: confirmAbsent's freshStepMargin (payout-reconciler.ts) refreshes through
    // SyncedPayoutClock.sync, which shares the reading already on its way (payout.clock.ts),
    // read by the store before the step: no step, margin 0, A still a minute and a half ahead.
    // B's window (written on the stepped clock) and lease look long over: null, a second send,
    // two orders for CM-1.
    expect({ result, orders: gateway.ordersOf('CM-1').length }).toEqual({
      result: 'PayoutOutcomeUnknownError',
      orders: 1,
    });
  });
  it('never resolves reconcile() null inside the re-send window another replica wrote, on a replica whose store answers 200 ms slower than at its start: after two days of 100 ppm drift the payout still goes out once', async () => {
    // `elapsed`: time passing beyond the real clock, for this process's monotonic clock; the
    // store's clock runs 100 ppm slower (a drift the clock allows for: never a step).
    let elapsed = 0;
    const realNow = performance.now.bind(performance);
    jest.spyOn(performance, 'now').mockImplementation(() => realNow() + elapsed);
    const storeTime = () => Math.floor(performance.timeOrigin + realNow() + elapsed * (1 - 100e-6));
    let slowB = false;
    const clockA = new SyncedPayoutClock(async () => storeTime());
    const clockB = new SyncedPayoutClock(async () => {
      if (slowB) elapsed += 200; // B's answers take 200 ms (a busy event loop, a busy pool)
      return storeTime();
    });
    const [payoutsA, payoutsB] = await twoReplicas(clockA, clockB);
    // Two days go by; B reads the store every 30 s (as PayoutClockSync does), each answer slow.
    slowB = true;
    for (let t = 0; t < 2 * 86_400_000; t += 30_000) {
      elapsed += 29_800;
      await clockB.sync();
    }
    await clockA.sync();
    // A sends DR-1; the gateway commits it late.
    gateway.nextCreates('hang');
    await expect(payoutsA.createPayout(penPayout('DR-1'))).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // 45 s into A's 60 s re-send window, the host asks B.
    elapsed += 45_000;
    const result = await outcomeOf(payoutsB.reconcile({ mchOrderNo: 'DR-1' }));
    if (result === 'null') await payoutsB.createPayout(penPayout('DR-1')).catch(() => undefined);
    gateway.commitHung();
    // What happens: B's first reading (fast, at start) stays `current` for good, as no later one
    // is within 50 ms of its uncertainty (payout.clock.ts); B's now() runs 17 s ahead of the
    // store, its refresh shows no step (the drift is within 500 ppm), and A's window looks over
    // 17 s early: null, a second send, two orders.
    expect({ result, orders: gateway.ordersOf('DR-1').length }).toEqual({
      result: 'PayoutOutcomeUnknownError',
      orders: 1,
    });
  });
});

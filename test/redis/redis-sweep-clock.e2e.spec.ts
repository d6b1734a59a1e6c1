import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  OnPayoutNotCreated,
  PayoutNotCreatedEvent,
  PayoutOutcomeUnknownError,
  PayoutService,
  type PayoutModuleOptions,
} from '../../lib';
import { RedisPayoutStore } from '../../lib/redis';
import { samplePayout, TestPayoutClock } from '../../lib/testing';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { FAIL_FAST } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';

/** Runs inside each payout.not_created listener call; set per test. */
let onNotCreated: (event: PayoutNotCreatedEvent) => Promise<void> = async () => undefined;

@Injectable()
class NotCreatedHost {
  readonly notCreated: string[] = [];
  @OnPayoutNotCreated()
  async record(event: PayoutNotCreatedEvent): Promise<void> {
    this.notCreated.push(event.mchOrderNo);
    await onNotCreated(event);
  }
}

interface Replica {
  app: TestingModule;
  payouts: PayoutService;
  sweeper: PayoutReconciliationService;
  host: NotCreatedHost;
  store: RedisPayoutStore;
}

/**
 * The sweep on replicas sharing one Redis: every window and lease is judged on Redis's clock, so a
 * replica whose wall clock runs ahead decides nothing early, and `payout.not_created` is emitted
 * once however the replicas and a slow gateway interleave.
 */
describeWithRedis('the sweep on replicas sharing one Redis', () => {
  let server: RedisServer;
  let client: Redis;
  let gateway: LateCommitGateway;
  let baseUrl: string;
  const replicas: Replica[] = [];
  let keyPrefix: string;
  let run = 0;

  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({
      host: '127.0.0.1',
      port: server.port,
      lazyConnect: true,
      ...FAIL_FAST,
    });
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
    keyPrefix = `sweep-clock-${++run}:`;
    onNotCreated = async () => undefined;
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    for (const replica of replicas.splice(0)) await replica.app.close();
    await gateway.stop();
  });

  async function replica(
    options: Partial<PayoutModuleOptions> = {},
    clock?: TestPayoutClock,
  ): Promise<Replica> {
    const store = new RedisPayoutStore({ client, keyPrefix, clock });
    const app = await compileScriptedPayoutModule(
      baseUrl,
      {
        store,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: false,
        delivery: { claimTtlMs: 5_000 },
        ...options,
      },
      { providers: [NotCreatedHost], init: true },
    );
    const started = {
      app,
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
      host: app.get(NotCreatedHost),
      store,
    };
    replicas.push(started);
    return started;
  }

  /** Makes the open entry of `mchOrderNo` due now, as a failed check rescheduling it early would. */
  async function dueNow(store: RedisPayoutStore, mchOrderNo: string) {
    const entry = (await store.listOpen(1000)).find((e) => e.mchOrderNo === mchOrderNo)!;
    await store.trackOpen(mchOrderNo, entry.openedAt, 0);
  }

  it("a replica whose wall clock runs 3 minutes ahead never reports another replica's live create as not created", async () => {
    const a = await replica({
      resendWindowMs: 60_000,
      timeoutMs: 60_000,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const b = await replica({ resendWindowMs: 60_000 });
    gateway.dropNextCreates(1).holdNextLookups(1);
    const created = a.payouts.createPayout(penPayout('RC-SKEW')).catch((e: unknown) => e);
    const held = await gateway.nextHeldLookup();
    // Replica B's wall clock is 3 minutes ahead of everyone's (Redis's included).
    const wall = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(wall + 3 * 60_000);
    await dueNow(b.store, 'RC-SKEW');

    expect(await b.sweeper.sweep()).toMatchObject({
      unknown: 1,
      not_created: 0,
    });
    expect(b.host.notCreated).toEqual([]);
    jest.restoreAllMocks();
    gateway.commitHung();
    held.release();
    await created;
    expect(gateway.ordersOf('RC-SKEW')).toHaveLength(1);
  });

  it('emits payout.not_created once when two replicas sweep with a slow gateway and short leases', async () => {
    const options = {
      resendWindowMs: 200,
      reconciliation: { leaseMs: 400, concurrency: 1 },
    };
    const a = await replica(options);
    const b = await replica(options);
    const orders = ['RL-1', 'RL-2', 'RL-3', 'RL-4', 'RL-5', 'RL-6'];
    for (const m of orders) {
      gateway.dropNextCreates(1);
      await expect(a.payouts.createPayout(penPayout(m))).rejects.toBeInstanceOf(
        PayoutOutcomeUnknownError,
      );
    }
    // Every window is over on Redis's clock; each lookup then takes 150 ms, so six outlast a lease.
    const last = (await a.store.getAttempt('RL-6'))!;
    while (a.store.clock.now() <= last.resendAfter) await new Promise((r) => setTimeout(r, 20));
    for (const m of orders) await dueNow(a.store, m);
    gateway.lookupDelayMs = 150;
    onNotCreated = () => new Promise((r) => setTimeout(r, 50));

    // Replica B sweeps once A has been at it for longer than a lease.
    const first = a.sweeper.sweep();
    while (a.host.notCreated.length < 3) await new Promise((r) => setTimeout(r, 10));
    const [sa, sb] = await Promise.all([first, b.sweeper.sweep()]);
    expect(sa.not_created + sb.not_created).toBe(6);
    expect([...a.host.notCreated, ...b.host.notCreated].sort()).toEqual(orders);
    expect(await a.store.listOpen(100)).toEqual([]);
  });

  it('watches Mexican successes for a return with each order queried once per due time, whichever replica sweeps', async () => {
    const clock = new TestPayoutClock();
    const reconciliation = {
      intervalMs: 86_400_000,
      firstCheckMs: 1_000,
      maxIntervalMs: 4_000,
      returnWatchMs: 20_000,
    };
    const a = await replica({ reconciliation }, clock);
    const b = await replica({ reconciliation }, clock);
    const orders = ['RW-1', 'RW-2', 'RW-3'];
    for (const m of orders) {
      await a.payouts.createPayout(samplePayout('MXN', { mchOrderNo: m }));
      gateway.setStatus(m, 'SUCCESS');
    }
    clock.advance(1_000);
    await Promise.all([a.sweeper.sweep(), b.sweeper.sweep()]);
    const watched = await a.store.listOpen(10);
    expect(watched.map((e) => e.watchUntil !== undefined)).toEqual([true, true, true]);
    for (let round = 0; round < 4; round++) {
      const before = orders.map((m) => gateway.lookupsOf(m));
      const due = Math.max(...(await a.store.listOpen(10)).map((e) => e.dueAt));
      clock.set(due);
      await Promise.all([a.sweeper.sweep(), b.sweeper.sweep()]);
      expect(orders.map((m, i) => gateway.lookupsOf(m) - before[i])).toEqual([1, 1, 1]);
    }
  });
});

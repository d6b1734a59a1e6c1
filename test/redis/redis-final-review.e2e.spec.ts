import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  OnPayoutNotCreated,
  PayoutNotCreatedEvent,
  PayoutService,
  type PayoutModuleOptions,
} from '../../lib';
import { SyncedPayoutClock } from '../../lib/clock/payout.clock';
import { RedisPayoutStore } from '../../lib/redis';
import { PayoutReconciliationService } from '../../lib/reconciliation/payout-reconciliation.service';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { penPayout } from '../support/payouts';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { waitUntil } from '../support/wait-until';
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

/**
 * Final adversarial review, Redis-only findings: two replicas on one Redis, each reading Redis's
 * clock (`TIME`) through its own `SyncedPayoutClock`, as `RedisPayoutStore` does by default.
 */
describeWithRedis('final review on a shared Redis', () => {
  let server: RedisServer;
  let client: Redis;
  let gateway: LateCommitGateway;
  let baseUrl: string;
  const apps: TestingModule[] = [];
  /** How far Redis's TIME has been stepped (an operator, a VM resumed, a bad NTP source). */
  let timeStep = 0;

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
    onNotCreated = async () => undefined;
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await gateway.stop();
  });

  /** Redis's `TIME` in epoch ms, plus the step the test applied to the server's clock. */
  async function redisTime(): Promise<number> {
    const [seconds, micros] = await client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + timeStep;
  }

  async function replica(keyPrefix: string, options: Partial<PayoutModuleOptions> = {}) {
    // What RedisPayoutStore builds by default (a SyncedPayoutClock on TIME), with the step applied.
    const clock = new SyncedPayoutClock(redisTime);
    const store = new RedisPayoutStore({ client, keyPrefix, clock });
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
      { providers: [NotCreatedHost], init: true }, // init reads the clock once (PayoutClockSync)
    );
    apps.push(app);
    return {
      clock,
      payouts: app.get(PayoutService),
      sweeper: app.get(PayoutReconciliationService),
      host: app.get(NotCreatedHost),
    };
  }

  it("a step of Redis's TIME seen by one replica first never lets it judge the other's live create not created (one order)", async () => {
    const a = await replica('final-step:');
    const b = await replica('final-step:');
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
    // Actual: B rejected A's live attempt (its lease, written on A's unstepped reading, looks 9.5 min
    // old to B), emitted payout.not_created, and the listener's create went out: two orders.
    expect({
      notCreated: b.host.notCreated,
      orders: gateway.ordersOf('FR-STEP').length,
    }).toEqual({ notCreated: [], orders: 1 });
  });
});

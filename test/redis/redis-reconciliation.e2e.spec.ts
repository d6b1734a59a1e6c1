import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { PayoutStore } from '../../lib';
import { RedisPayoutStore } from '../../lib/redis';
import { type RecordingListener, startHostApp } from '../support/host-app';
import { PEN_ACCOUNT } from '../support/notifications';
import { type ReceivedRequest, ScriptedGateway } from '../support/scripted-gateway';
import { redisPayoutModule } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';
import { type ReplicaProcess, spawnReplica } from './replica-process';
import { waitFor } from '../../lib/testing';

/** Open payouts as `createPayout` leaves them: an attempt answered with an order, due for a check now. */
async function seedOpen(store: PayoutStore, prefix: string, count: number): Promise<string[]> {
  const now = Date.now();
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const [i, mchOrderNo] of ids.entries()) {
    await store.compareAndSetAttempt(
      {
        mchOrderNo,
        merchantId: PEN_ACCOUNT.merchantId,
        currency: 'PEN',
        amount: '150.50',
        state: 'created',
        orderNo: `PAYOUT${prefix}${i}`,
        resendAfter: 0,
        revision: 1,
        updatedAt: now,
      },
      0,
    );
    await store.trackOpen(mchOrderNo, now, now);
  }
  return ids;
}

/** The gateway's answer to a query: the order, final. */
const settled = (request: ReceivedRequest) => ({
  envelope: {
    code: 200,
    msg: 'SUCCESS',
    data: {
      merchantId: PEN_ACCOUNT.merchantId,
      mchOrderNo: request.json.mchOrderNo,
      orderNo: `PAYOUT${String(request.json.mchOrderNo).replace(/-(\d+)$/, '$1')}`,
      amount: '150.50',
      fee: '1.50',
      orderStatus: 'SUCCESS',
      completionTime: '2025-01-01 10:00:00',
      resultDesc: 'SUCCESS',
    },
  },
});

const queriesOf = (gateway: ScriptedGateway, mchOrderNo: string) =>
  gateway.requests.filter((r) => r.path === '/api/payOutQuery' && r.json.mchOrderNo === mchOrderNo);

describeWithRedis('built-in reconciliation on replicas sharing one Redis', () => {
  let server: RedisServer;
  let gateway: ScriptedGateway;
  let gatewayUrl: string;
  let client: Redis;
  let store: RedisPayoutStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    gateway = new ScriptedGateway();
    gatewayUrl = await gateway.start();
    client = new Redis({
      host: '127.0.0.1',
      port: server.port,
      maxRetriesPerRequest: 1,
    });
    store = new RedisPayoutStore({ client });
  });
  afterAll(async () => {
    client?.disconnect();
    await gateway?.stop();
    await server?.dispose();
  });

  it('queries every due payout once across two sweeping replicas, and emits each outcome once', async () => {
    gateway.requests.length = 0;
    gateway.fallback = settled;
    const ids = await seedOpen(store, 'TWO', 120);
    const reconciliation = {
      intervalMs: 10,
      firstCheckMs: 0,
      maxIntervalMs: 60_000,
      leaseMs: 10_000,
      batchSize: 7,
      concurrency: 3,
    };
    const replicas: { app: INestApplication; listener: RecordingListener }[] = [];
    try {
      for (const adapter of ['express', 'fastify'] as const) {
        replicas.push(
          await startHostApp(
            adapter,
            redisPayoutModule(server.port, undefined, {
              baseUrl: gatewayUrl,
              reconciliation,
            }),
          ),
        );
      }
      await waitFor(async () => (await store.listOpen(1)).length === 0, 15_000);
      // Let many more sweeps (every 10 ms) run: a second query or emission would show by now.
      await new Promise((r) => setTimeout(r, 200));
      for (const id of ids) expect([id, queriesOf(gateway, id).length]).toEqual([id, 1]);
      const events = replicas.flatMap((r) => r.listener.events.map((e) => e.payload.mchOrderNo));
      expect(events.sort()).toEqual([...ids].sort());
      expect(new Set(replicas.flatMap((r) => r.listener.events.map((e) => e.name)))).toEqual(
        new Set(['payout.succeeded']),
      );
      // Both replicas took part.
      expect(replicas.every((r) => r.listener.events.length > 0)).toBe(true);
    } finally {
      await Promise.all(replicas.map((r) => r.app.close()));
    }
  });

  it('leaves the payouts of a replica killed mid-sweep to another only when their lease ends, and queries each once more', async () => {
    gateway.requests.length = 0;
    const hung: ReceivedRequest[] = [];
    // Every query hangs until the sweeping replica dies.
    gateway.fallback = (request) => {
      hung.push(request);
      return { hang: true };
    };
    const ids = await seedOpen(store, 'KILL', 20);
    const leaseMs = 1_500;
    let doomed: ReplicaProcess | undefined = await spawnReplica(server.port, 120_000, {
      fixture: 'sweeper.fixture.ts',
      env: { GATEWAY_URL: gatewayUrl, LEASE_MS: String(leaseMs) },
    });
    let survivor: { app: INestApplication; listener: RecordingListener } | undefined;
    try {
      await waitFor(() => hung.length === ids.length, 10_000);
      const takenAt = Date.now();
      await doomed.kill();
      doomed = undefined;
      gateway.fallback = settled;
      survivor = await startHostApp(
        'fastify',
        redisPayoutModule(server.port, undefined, {
          baseUrl: gatewayUrl,
          reconciliation: {
            intervalMs: 20,
            firstCheckMs: 0,
            maxIntervalMs: 60_000,
            leaseMs,
            batchSize: 50,
            concurrency: 10,
          },
        }),
      );
      await waitFor(async () => (await store.listOpen(1)).length === 0, 10_000);
      for (const id of ids) {
        const queries = queriesOf(gateway, id);
        expect([id, queries.length]).toEqual([id, 2]); // the dead replica's, then the survivor's
        expect(queries[1].receivedAt - takenAt).toBeGreaterThanOrEqual(leaseMs - 300);
      }
      expect(survivor.listener.events.map((e) => e.payload.mchOrderNo).sort()).toEqual(
        [...ids].sort(),
      );
    } finally {
      await doomed?.kill();
      await survivor?.app.close();
    }
  });
});

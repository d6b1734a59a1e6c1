import type { INestApplication } from '@nestjs/common';
import { PAYOUT_STORE, type PayoutStore } from '../../lib';
import { type RecordingListener, startHostApp } from '../support/host-app';
import { deliver, notification } from '../support/notifications';
import { redisPayoutModule } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';
import { type ReplicaProcess, spawnReplica } from './replica-process';

/** Short, so the test waits little; long enough to see the claim alive before it expires. */
const CLAIM_TTL_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithRedis('a replica that dies while its listener runs', () => {
  let server: RedisServer;
  let doomed: ReplicaProcess | undefined;
  let survivor: {
    app: INestApplication;
    url: string;
    listener: RecordingListener;
  };
  let store: PayoutStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    [doomed, survivor] = await Promise.all([
      spawnReplica(server.port, CLAIM_TTL_MS),
      // claimWaitMs well under the TTL: a retry while the claim is alive answers 503 instead of waiting it out.
      startHostApp(
        'fastify',
        redisPayoutModule(server.port, {
          claimTtlMs: CLAIM_TTL_MS,
          claimWaitMs: 100,
        }),
      ),
    ]);
    store = survivor.app.get(PAYOUT_STORE);
  });
  afterAll(async () => {
    await doomed?.kill();
    await survivor?.app.close();
    await server?.dispose();
  });

  it('leaves a claim that expires after claimTtlMs; a retry on the other replica then runs the listeners, once', async () => {
    const body = notification();
    const orderNo = body.orderNo as string;
    const unanswered = deliver(`${doomed!.url}/payout/webhook`, body).then(
      (response) => `answered ${response.status}`,
      (error: Error) => error.message,
    );
    expect(await doomed!.next('entered')).toEqual({ entered: orderNo });

    const claimed = await store.get(orderNo);
    expect(claimed).toMatchObject({
      processed: [],
      claim: { status: 'SUCCESS' },
    });
    await doomed!.kill();
    // Cashy sees the connection drop without an answer, so it retries later.
    expect(await unanswered).toBe('fetch failed');

    // Too early: the dead replica's claim still looks alive, so the retry is turned away with 503.
    expect(claimed!.claim!.expiresAt - Date.now()).toBeGreaterThan(300);
    expect((await deliver(`${survivor.url}/payout/webhook`, body)).status).toBe(503);
    expect(survivor.listener.events).toHaveLength(0);

    // Once the claim has expired the retry takes it over and runs the listeners.
    await sleep(claimed!.claim!.expiresAt - Date.now() + 20);
    expect(await deliver(`${survivor.url}/payout/webhook`, body)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    expect(survivor.listener.events.map((e) => [e.name, e.payload.orderNo])).toEqual([
      ['payout.succeeded', orderNo],
    ]);
    const settled = await store.get(orderNo);
    expect(settled).toMatchObject({
      status: 'SUCCESS',
      processed: ['SUCCESS'],
    });
    expect(settled!.claim).toBeUndefined();

    // Later copies are duplicates.
    expect(await deliver(`${survivor.url}/payout/webhook`, body)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    expect(survivor.listener.events).toHaveLength(1);
  });
});

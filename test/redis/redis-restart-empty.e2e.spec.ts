import type { INestApplication } from '@nestjs/common';
import { PAYOUT_STORE, type PayoutStore } from '../../lib';
import { type RecordingListener, startHostApp } from '../support/host-app';
import { deliver, notification } from '../support/notifications';
import { redisPayoutModule } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';

/**
 * SUCCESS means recorded: Redis restarts empty (no persistence) while a listener runs. The webhook
 * answers SUCCESS only once the outcome is written again from what the delivery holds, so Cashy's
 * next copy is a duplicate and the outcome is emitted once.
 */
describeWithRedis('Redis restarted empty while a listener runs', () => {
  let server: RedisServer;
  let app: INestApplication;
  let url: string;
  let listener: RecordingListener;
  let store: PayoutStore;

  beforeAll(async () => {
    server = await RedisServer.start();
    ({ app, url, listener } = await startHostApp(
      'express',
      redisPayoutModule(
        server.port,
        { claimTtlMs: 5_000, claimWaitMs: 100 },
        { reconciliation: false },
      ),
    ));
    url += '/payout/webhook';
    store = app.get(PAYOUT_STORE);
  });
  afterAll(async () => {
    await app?.close();
    await server?.dispose();
  });

  it('writes the outcome again before it answers SUCCESS, and a copy emits nothing', async () => {
    const body = notification();
    listener.delayMs = 500;
    const answered = deliver(url, body);
    while (listener.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    await server.stop();
    await server.restart(); // empty: nothing of the claim is left
    const answer = await answered;
    listener.delayMs = 0;

    if (answer.status === 200) {
      // Acknowledged: then it must be recorded.
      expect(answer.text).toBe('SUCCESS');
      expect(await store.get(String(body.orderNo))).toMatchObject({
        processed: ['SUCCESS'],
      });
    } else {
      // Not acknowledged (the store was still coming back): Cashy retries.
      expect(answer.status).toBe(503);
    }
    // Cashy's next copy, once Redis answers again.
    let copy = await deliver(url, body);
    for (let i = 0; i < 100 && copy.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      copy = await deliver(url, body);
    }
    expect(copy).toMatchObject({ status: 200, text: 'SUCCESS' });
    expect(listener.events.map((e) => e.payload.orderNo)).toEqual([body.orderNo]);
  });
});

import type { Redis } from 'ioredis';
import { ADAPTERS, startHostApp } from '../support/host-app';
import { deliver, notification } from '../support/notifications';
import { REDIS_CLIENT, redisPayoutModule } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';
import { waitFor } from '../../lib/testing';

describeWithRedis('Redis briefly unavailable', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(() => server?.dispose());

  it.each(ADAPTERS)(
    'answers 503 and emits nothing while Redis is down, then 200 once it is back (%s)',
    async (adapter) => {
      const { app, url, listener } = await startHostApp(adapter, redisPayoutModule(server.port));
      const webhook = `${url}/payout/webhook`;
      const client = app.get<Redis>(REDIS_CLIENT);
      try {
        expect(await deliver(webhook, notification())).toMatchObject({
          status: 200,
          text: 'SUCCESS',
        });
        expect(listener.events).toHaveLength(1);

        await server.stop();
        const body = notification();
        const down = await deliver(webhook, body);
        expect(down.status).toBe(503);
        expect(down.text).toMatch(/payout state is unavailable/);
        expect(listener.events).toHaveLength(1);

        await server.restart();
        await waitFor(() => client.status === 'ready');
        expect(await deliver(webhook, body)).toMatchObject({
          status: 200,
          text: 'SUCCESS',
        });
        expect(await deliver(webhook, body)).toMatchObject({
          status: 200,
          text: 'SUCCESS',
        });
        expect(listener.events.map((e) => e.payload.orderNo)).toEqual([
          expect.any(String),
          body.orderNo,
        ]);
      } finally {
        await app.close();
      }
    },
  );
});

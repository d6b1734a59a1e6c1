import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { startHostApp } from '../support/host-app';
import { deliver, notification } from '../support/notifications';
import { REDIS_CLIENT, redisPayoutModule } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';

/**
 * What a webhook costs on RedisPayoutStore, counted as commands the app sends (each one round trip;
 * a script is one): one read of everything a report is judged on, the claim, and the outcome written
 * with the end of its tracking. A duplicate is answered from the first read alone.
 */
describeWithRedis('RedisPayoutStore round trips per notification', () => {
  let server: RedisServer;
  let app: INestApplication;
  let url: string;
  let sent: string[] = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    ({ app, url } = await startHostApp('fastify', redisPayoutModule(server.port)));
    const client = app.get<Redis>(REDIS_CLIENT);
    const send = client.sendCommand.bind(client);
    client.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
      sent.push(args[0].name);
      return send(...args);
    };
    // Each script's first run loads it into Redis (EVALSHA, then EVAL): once per server, not per notification.
    await commandsFor(notification());
    await commandsFor(notification({ orderStatus: 'PAYING', fee: null }));
  });

  afterAll(async () => {
    await app?.close();
    await server?.dispose();
  });

  /** Delivers `body` and resolves with the commands the app sent for it. */
  async function commandsFor(body: Record<string, unknown>): Promise<string[]> {
    sent = [];
    expect((await deliver(`${url}/payout/webhook`, body)).status).toBe(200);
    return sent;
  }

  it('a new outcome: 3 round trips (read, claim, outcome and tracking written together)', async () => {
    const body = notification();
    expect(await commandsFor(body)).toHaveLength(3);
  });

  it('a duplicate: 1 round trip', async () => {
    const body = notification();
    await commandsFor(body);
    expect(await commandsFor(body)).toHaveLength(1);
  });

  it('an in-progress status: 2 round trips (read, write)', async () => {
    expect(await commandsFor(notification({ orderStatus: 'PAYING', fee: null }))).toHaveLength(2);
  });
});

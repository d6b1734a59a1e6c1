import type { INestApplication } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { OnPayoutSucceeded, type PayoutSucceededEvent } from '../../lib';
import { startHostApp } from '../support/host-app';
import { deliver, notification } from '../support/notifications';
import { redisPayoutModule } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';

/** Fills Redis while its listener runs: the order is claimed when there was room, and Redis is full before it is confirmed. */
@Injectable()
class FillingListener {
  admin?: Redis;
  readonly seen: string[] = [];
  @OnPayoutSucceeded()
  async succeeded(event: PayoutSucceededEvent): Promise<void> {
    this.seen.push(event.orderNo);
    if (this.admin) await this.admin.config('SET', 'maxmemory', '1');
  }
}

describeWithRedis('a full Redis (maxmemory, noeviction)', () => {
  let server: RedisServer;
  let admin: Redis;
  let app: INestApplication;
  let url: string;
  let listener: FillingListener;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis({ host: '127.0.0.1', port: server.port });
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    ({ app, url } = await startHostApp(
      'express',
      redisPayoutModule(
        server.port,
        { claimTtlMs: 300, claimWaitMs: 100 },
        { reconciliation: false },
      ),
      { providers: [FillingListener] },
    ));
    url += '/payout/webhook';
    listener = app.get(FillingListener);
    listener.admin = admin;
  });
  afterAll(async () => {
    await app?.close();
    admin?.disconnect();
    await server?.dispose();
  });

  it('records an outcome whose listeners ran even when Redis filled up meanwhile, so it is never emitted again', async () => {
    const body = notification();
    expect(await deliver(url, body)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    expect(listener.seen).toEqual([body.orderNo]);
    listener.admin = undefined;
    // Still full: a copy of the same notification is a duplicate, whatever the claim's age.
    await new Promise((r) => setTimeout(r, 400));
    expect(await deliver(url, body)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    // A new order cannot be claimed while Redis is full: 503, nothing runs, Cashy retries.
    const other = notification();
    expect((await deliver(url, other)).status).toBe(503);
    // Nor is a record of any new order stored: progress reports are refused too, and Redis does not grow.
    const keysWhenFull = await admin.dbsize();
    for (let i = 0; i < 20; i++)
      expect((await deliver(url, notification({ orderStatus: 'PAYING' }))).status).toBe(503);
    expect(await admin.dbsize()).toBe(keysWhenFull);
    // Room again: the copy is still a duplicate, and the new order goes through once.
    await admin.config('SET', 'maxmemory', '0');
    expect(await deliver(url, body)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    expect(await deliver(url, other)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    expect(listener.seen).toEqual([body.orderNo, other.orderNo]);
  });
});

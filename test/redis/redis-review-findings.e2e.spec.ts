import type { TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { PayoutConfigurationError } from '../../lib';
import { RedisPayoutStore } from '../../lib/redis';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';
import { FAIL_FAST } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';

const TIMEOUT = 300;
const W = 60_000;
/** How long a createPayout call's lease on its attempt lasts (CREATE_LEASE_MS). */
const CREATE_LEASE = 30_000;

/**
 * Regression tests of the Redis findings of an adversarial review: a Redis store that forgets an
 * ambiguous create's attempt while that create may still land would let it be sent again, so such
 * a store is refused at startup.
 */
describeWithRedis('Redis: review findings', () => {
  let server: RedisServer;
  let client: Redis;
  const apps: TestingModule[] = [];
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
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  function compileWithTtl(ttlMs: number): Promise<TestingModule> {
    return compileScriptedPayoutModule(
      'http://127.0.0.1:9',
      {
        store: new RedisPayoutStore({
          client,
          keyPrefix: `review-ttl-${++run}:`,
          ttlMs,
        }),
        timeoutMs: TIMEOUT,
        resendWindowMs: W,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        reconciliation: false,
        delivery: { claimTtlMs: 1_000 },
      },
      { init: true },
    );
  }

  it('a RedisPayoutStore whose ttlMs is not above timeoutMs + resendWindowMs + the create lease is refused at startup', async () => {
    const attemptLife = TIMEOUT + W + CREATE_LEASE;
    for (const ttlMs of [1_500, TIMEOUT + W, attemptLife]) {
      const started = compileWithTtl(ttlMs);
      await expect(started).rejects.toBeInstanceOf(PayoutConfigurationError);
      await expect(started).rejects.toThrow(/timeoutMs/);
      await expect(started).rejects.toThrow(/resendWindowMs/);
      await expect(started).rejects.toThrow(/ttlMs/);
    }
    // Just above it, the store outlives every attempt that may still land: accepted.
    apps.push(await compileWithTtl(attemptLife + 1));
  });
});

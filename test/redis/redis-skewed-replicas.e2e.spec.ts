import type { INestApplication } from '@nestjs/common';
import { PayoutOutcomeUnknownError, PayoutService } from '../../lib';
import { type RecordingListener, startHostApp } from '../support/host-app';
import { LateCommitGateway } from '../support/late-commit-gateway';
import { deliver, notification, PEN_ACCOUNT } from '../support/notifications';
import { penPayout } from '../support/payouts';
import { redisPayoutModule } from './redis-host';
import { type ReplicaProcess, spawnReplica } from './replica-process';
import { describeWithRedis, RedisServer } from './redis-server';

const CLAIM_TTL_MS = 1_000;
const RESEND_WINDOW_MS = 60_000;

/**
 * Two real replicas on one Redis, the second in a process of its own whose wall clock runs 121 s
 * ahead and steps by 5 minutes back and forth every 50 ms. Every window, claim and lease is read on
 * Redis's clock, so neither the create path nor the webhook's claims notice.
 */
describeWithRedis('two replicas whose wall clocks disagree', () => {
  let server: RedisServer;
  let gateway: LateCommitGateway;
  let skewed: ReplicaProcess;
  let local: {
    app: INestApplication;
    url: string;
    listener: RecordingListener;
  };

  beforeAll(async () => {
    server = await RedisServer.start();
    gateway = new LateCommitGateway();
    const baseUrl = await gateway.start();
    const extra = {
      baseUrl,
      notifyUrl: 'https://merchant.example.com/payout/webhook',
      resendWindowMs: RESEND_WINDOW_MS,
      timeoutMs: 2_000,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      reconciliation: false as const,
    };
    [skewed, local] = await Promise.all([
      spawnReplica(server.port, CLAIM_TTL_MS, {
        fixture: 'skewed-replica.fixture.ts',
        preload: ['wall-skew.js'],
        env: {
          GATEWAY_URL: baseUrl,
          RESEND_WINDOW_MS: String(RESEND_WINDOW_MS),
          LISTENER_MS: '200',
          WALL_SKEW_MS: '121000',
          WALL_STEP_MS: '300000',
          WALL_STEP_EVERY_MS: '50',
        },
      }),
      startHostApp(
        'fastify',
        redisPayoutModule(server.port, { claimTtlMs: CLAIM_TTL_MS, claimWaitMs: 5_000 }, extra),
      ),
    ]);
  });
  afterAll(async () => {
    await skewed?.kill();
    await local?.app.close();
    await gateway?.stop();
    await server?.dispose();
  });

  it('a create left unknown on one replica is not sent again from a replica 121 s ahead', async () => {
    gateway.dropNextCreates(1);
    await expect(
      local.app.get(PayoutService).createPayout(penPayout('SKEW-CREATE')),
    ).rejects.toBeInstanceOf(PayoutOutcomeUnknownError);
    const answer = await fetch(`${skewed.url}/create`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(penPayout('SKEW-CREATE')),
    });
    expect(await answer.json()).toEqual({
      error: 'PayoutOutcomeUnknownError',
    });
    expect(gateway.payOuts).toBe(1);
  });

  it('copies of each notification reaching the skewed replica while the other runs its listeners emit each outcome once', async () => {
    local.listener.delayMs = 500;
    const bodies = Array.from({ length: 20 }, () => notification());
    const first = Promise.all(
      bodies.map((body) => deliver(`${local.url}/payout/webhook`, body, PEN_ACCOUNT)),
    );
    // Every order claimed by the first replica, its listener running: now the copies.
    while (local.listener.inFlight < bodies.length) await new Promise((r) => setTimeout(r, 5));
    const copies = await Promise.all(
      bodies.map((body) => deliver(`${skewed.url}/payout/webhook`, body, PEN_ACCOUNT)),
    );
    const answers = [...(await first), ...copies];
    // A copy waits for the holder (then it is a duplicate), or answers 503 so Cashy retries.
    expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    const emitted = [
      ...local.listener.events.map((e) => e.payload.orderNo),
      ...skewed.messages
        .filter((m) => m.event === 'payout.succeeded')
        .map((m) => String(m.orderNo)),
    ].sort();
    expect(emitted).toEqual(bodies.map((b) => String(b.orderNo)).sort());
  });
});

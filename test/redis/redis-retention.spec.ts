import { Redis } from 'ioredis';
import { PayoutConfigurationError } from '../../lib';
import { RedisPayoutStore } from '../../lib/redis';
import { compileScriptedPayoutModule } from '../support/scripted-payout-module';

/** Rule 10 on a store whose keys expire: options that would let a live or open record expire are refused at startup. */
describe('RedisPayoutStore retention against the module options', () => {
  // Never connected: the check runs before any command.
  const client = new Redis({ lazyConnect: true });
  afterAll(() => client.disconnect());

  it('refuses a ttlMs shorter than a claim', async () => {
    await expect(
      compileScriptedPayoutModule('http://127.0.0.1:9', {
        store: new RedisPayoutStore({ client, ttlMs: 160_000 }),
        delivery: { claimTtlMs: 200_000 },
        reconciliation: false,
      }),
    ).rejects.toThrow(
      new PayoutConfigurationError(
        "Invalid PayoutModule options: delivery.claimTtlMs (200000) must not exceed RedisPayoutStore's ttlMs (160000): a record could vanish while its listeners run, and a copy would emit again",
      ),
    );
  });

  it('refuses a ttlMs a create of unknown outcome could outlive', async () => {
    await expect(
      compileScriptedPayoutModule('http://127.0.0.1:9', {
        store: new RedisPayoutStore({ client, ttlMs: 120_000 }),
        delivery: { claimTtlMs: 60_000 },
        reconciliation: false,
      }),
    ).rejects.toThrow(
      /timeoutMs \+ resendWindowMs \+ the create lease \(150300\) must be below RedisPayoutStore's ttlMs \(120000\)/,
    );
  });

  it("refuses a ttlMs the sweep's horizon outlives", async () => {
    await expect(
      compileScriptedPayoutModule('http://127.0.0.1:9', {
        store: new RedisPayoutStore({ client, ttlMs: 24 * 60 * 60_000 }),
      }),
    ).rejects.toThrow(
      /reconciliation\.horizonMs \+ maxIntervalMs \+ leaseMs \(93720000\) must be below RedisPayoutStore's ttlMs \(86400000\)/,
    );
  });

  it('accepts the defaults', async () => {
    const app = await compileScriptedPayoutModule('http://127.0.0.1:9', {
      store: new RedisPayoutStore({ client }),
      reconciliation: false,
    });
    await app.close();
  });
});

/**
 * Attacks on the money path, kept as regression tests. Each attacks one money-safety rule (the
 * README's "What the library guarantees") with real sockets: a scripted gateway that lies, lags or
 * fails (test/support/scripted-gateway.ts) and, wherever webhooks are involved, a real Nest app.
 * "FINDING n" tests reproduce holes an adversarial review found, now closed; "HELD" tests cover
 * attacks that never broke it and that no other suite covers.
 */
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  CashyApiError,
  CashyTransportError,
  MemoryPayoutStore,
  type PayoutAttempt,
  PayoutConfigurationError,
  PayoutModule,
  type PayoutModuleOptions,
  PayoutOutcomeUnknownError,
  type PayoutRecord,
  PayoutService,
} from '../../lib';
import { CashyHttpClient } from '../../lib/client/cashy-http.client';
import { RedisPayoutStore } from '../../lib/redis';
import { type RecordingListener, startHostApp } from '../support/host-app';
import { deliver, MXN_ACCOUNT, notification, PEN_ACCOUNT } from '../support/notifications';
import { type ReceivedRequest, ScriptedGateway } from '../support/scripted-gateway';
import { describeWithRedis, RedisServer } from '../redis/redis-server';
import { envelope, penPayout } from '../support/payouts';

jest.setTimeout(30_000);

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const PEN_PAYOUT = penPayout('ADV-1');

const orderData = (extra: Record<string, unknown> = {}) => ({
  merchantId: PEN_ACCOUNT.merchantId,
  mchOrderNo: PEN_PAYOUT.mchOrderNo,
  orderNo: 'PAYOUT8600000000000000001',
  amount: '150.50',
  fee: '1.50',
  orderStatus: 'PROCESSING',
  ...extra,
});
const created = (extra: Record<string, unknown> = {}) => envelope(200, 'SUCCESS', orderData(extra));
const NOT_FOUND = envelope(400, 'Order_not_exist');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isCreate = (r: ReceivedRequest) => r.path === '/api/payOut';
const isLookup = (r: ReceivedRequest) => r.path === '/api/payOutQuery';

/** A scripted gateway plus a real Nest host (Express, rawBody) wired to it. */
interface Rig {
  gateway: ScriptedGateway;
  app: INestApplication;
  webhook: string;
  listener: RecordingListener;
  payouts: PayoutService;
  creates(): number;
  close(): Promise<void>;
}

async function rig(
  options: Partial<PayoutModuleOptions> = {},
  gateway?: ScriptedGateway,
  gatewayUrl?: string,
): Promise<Rig> {
  const gw = gateway ?? new ScriptedGateway();
  const baseUrl = gatewayUrl ?? (await gw.start());
  gw.fallback = () => NOT_FOUND;
  const { app, url, listener } = await startHostApp(
    'express',
    PayoutModule.forRoot({
      baseUrl,
      accounts: [PEN_ACCOUNT, MXN_ACCOUNT],
      notifyUrl: 'https://merchant.example.com/payout/webhook',
      timeoutMs: 200,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
      resendWindowMs: 300,
      ...options,
    }),
  );
  return {
    gateway: gw,
    app,
    webhook: `${url}/payout/webhook`,
    listener,
    payouts: app.get(PayoutService),
    creates: () => gw.requests.filter(isCreate).length,
    async close() {
      await app.close();
      if (!gateway) await gw.stop();
    },
  };
}

/** A signed PEN notification for PEN_PAYOUT's mchOrderNo. */
const penNotice = (overrides: Record<string, unknown>) =>
  notification({
    mchOrderNo: PEN_PAYOUT.mchOrderNo,
    merchantId: PEN_ACCOUNT.merchantId,
    amount: '150.50',
    fee: '1.50',
    ...overrides,
  });

/** Cashy's report that ADV-1's first order, PAYOUT8600000000000000001, was paid. */
const paidNotice = () =>
  penNotice({ orderNo: 'PAYOUT8600000000000000001', orderStatus: 'SUCCESS' });

async function acknowledged(r: Rig, body: Record<string, unknown>): Promise<void> {
  const response = await deliver(r.webhook, body, PEN_ACCOUNT);
  expect(response).toMatchObject({ status: 200, text: 'SUCCESS' });
}

/** Two acknowledged reports for ADV-1: order ...001 paid, then another order, ...002, failed. */
async function reportTwoOrders(r: Rig): Promise<void> {
  await acknowledged(r, paidNotice());
  await acknowledged(
    r,
    penNotice({
      orderNo: 'PAYOUT8600000000000000002',
      orderStatus: 'FAIL',
      resultDesc: 'ACCOUNT_NOT_EXIST',
    }),
  );
}

const outcomesFor = (r: Rig, mchOrderNo: string) =>
  r.listener.events
    .filter((e) => e.payload.mchOrderNo === mchOrderNo)
    .map((e) => [e.name, e.payload.orderNo]);

// ---------------------------------------------------------------------------------------------
// Findings (these tests fail against the current library)
// ---------------------------------------------------------------------------------------------

describe('adversarial: the create path: re-sending and "not created"', () => {
  let r: Rig;
  afterEach(async () => {
    jest.restoreAllMocks();
    await r?.close();
  });

  it('FINDING 1 (rules 3/4): never re-sends a create whose order the store already knows from a webhook, whatever a lagging lookup says', async () => {
    r = await rig();
    // The create is lost in transit; the gateway's query replica lags and keeps saying "not found".
    r.gateway.then({ drop: true });
    r.gateway.fallback = (req) =>
      isCreate(req) ? created({ orderNo: 'PAYOUT8600000000000000002' }) : NOT_FOUND;
    await expect(r.payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    expect(r.creates()).toBe(1);

    // The first create did land: Cashy reports it paid, and the module emits payout.succeeded.
    await acknowledged(r, paidNotice());
    expect(outcomesFor(r, PEN_PAYOUT.mchOrderNo)).toEqual([
      ['payout.succeeded', 'PAYOUT8600000000000000001'],
    ]);
    // reconcile knows better than to call it absent ...
    await expect(r.payouts.reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo })).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );

    // ... but once the re-send window is over, the host's retry sends the paid payout a second time.
    await sleep(400);
    const again = await r.payouts.createPayout(PEN_PAYOUT).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(PayoutOutcomeUnknownError);
    expect(r.creates()).toBe(1);
  });

  it('FINDING 2 (rules 3/5): reconcile never says null while a createPayout call is backing off after System_busy and will send again', async () => {
    r = await rig({
      retry: { attempts: 2, baseDelayMs: 1000, maxDelayMs: 1000 },
    });
    // The backoff is random in [0, ceiling): pin it near the ceiling so the race is deterministic.
    // (After compiling: Nest's provider ids use Math.random too.)
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    r.gateway.then(envelope(500, 'System_busy'));
    r.gateway.fallback = (req) => (isCreate(req) ? created() : NOT_FOUND);

    const creating = r.payouts.createPayout(PEN_PAYOUT);
    // The first create has been answered busy; the call is now backing off for about a second.
    for (const until = Date.now() + 2_000; r.creates() < 1 && Date.now() < until;) await sleep(5);
    await sleep(100);
    // The host (or the built-in sweep) asks while the call is still retrying.
    const verdict = await r.payouts
      .reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo })
      .catch((e: unknown) => e);
    // Then the same call sends the create again and it is created.
    await expect(creating).resolves.toMatchObject({
      orderNo: 'PAYOUT8600000000000000001',
    });
    expect(r.creates()).toBe(2);
    // "null" told the host the payout definitely does not exist and no create of it may still land.
    expect(verdict).toBeInstanceOf(PayoutOutcomeUnknownError);
  });

  it('FINDING 3 (rules 3/5): a "not found" from another merchant account makes reconcile say null for a PEN payout that exists, and the next createPayout re-sends it blind', async () => {
    r = await rig();
    r.gateway.then({ drop: true });
    await expect(r.payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    await sleep(400); // past the re-send window
    // The PEN merchant has the order; the MXN merchant, naturally, does not. The gateway does not dedupe.
    r.gateway.fallback = (req) =>
      req.headers.merchantid === PEN_ACCOUNT.merchantId
        ? isLookup(req)
          ? created()
          : created({ orderNo: 'PAYOUT8600000000000000002' })
        : NOT_FOUND;
    // The host names another account: its "not found" proves nothing about a payout sent from 1002001.
    const named = await r.payouts
      .reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo }, { account: 'mexico' })
      .catch((e: unknown) => e);
    expect(named).toBeInstanceOf(PayoutConfigurationError);
    expect((named as Error).message).toMatch(/does not serve PEN/);
    // The host passes the wrong currency: the merchant the store knows wins, and finds the order.
    const byCurrency = await r.payouts
      .reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo, currency: 'MXN' })
      .catch((e: unknown) => e);
    expect(byCurrency).toMatchObject({ orderNo: 'PAYOUT8600000000000000001' });
    const again = await r.payouts.createPayout(PEN_PAYOUT).catch((e: unknown) => e);
    expect(again).toMatchObject({ orderNo: 'PAYOUT8600000000000000001' });
    expect(r.creates()).toBe(1);
  });
});

describe('adversarial: one mchOrderNo, one order', () => {
  let r: Rig;
  afterEach(async () => {
    jest.restoreAllMocks();
    await r?.close();
  });

  it('FINDING 4 (rule 7 / outcome emitted twice): after a timed-out create, SUCCESS of one orderNo and FAIL of another under the same mchOrderNo both become outcomes', async () => {
    r = await rig();
    r.gateway.then({ hang: true });
    await expect(r.payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // A gateway that does not dedupe (or lies) reports two orders for ADV-1.
    await reportTwoOrders(r);
    // ADV-1 is reported paid and then failed (reversed: false): the host refunds a paid payout.
    expect(outcomesFor(r, PEN_PAYOUT.mchOrderNo)).toEqual([
      ['payout.succeeded', 'PAYOUT8600000000000000001'],
    ]);
    expect(r.listener.anomalies.map((a) => a.kind)).toEqual(['mchOrderNo']);
  });

  it("FINDING 5 (rules 4/7): a later lookup that shows a second orderNo under the same mchOrderNo is returned as the order, and both orders' outcomes are emitted", async () => {
    r = await rig();
    r.gateway.then(
      created({ orderNo: 'PAYOUT8600000000000000001' }),
      created({ orderNo: 'PAYOUT8600000000000000002' }),
    );
    await expect(r.payouts.createPayout(PEN_PAYOUT)).resolves.toMatchObject({
      orderNo: 'PAYOUT8600000000000000001',
    });
    // The host asks again (same input: the idempotent way to fetch it). The gateway now shows another order.
    const second = await r.payouts.createPayout(PEN_PAYOUT).catch((e: unknown) => e);
    await reportTwoOrders(r);
    // One mchOrderNo, one outcome: the first order was paid; "failed" for ADV-1 would make the host refund a paid payout.
    expect(outcomesFor(r, PEN_PAYOUT.mchOrderNo)).toEqual([
      ['payout.succeeded', 'PAYOUT8600000000000000001'],
    ]);
    // A lookup answering with another order than the one the gateway gave is no answer: unknown, not O2.
    expect(second).toBeInstanceOf(PayoutOutcomeUnknownError);
  });

  it("FINDING 6 (rules 5/7): reconcile({ mchOrderNo }) answered with another mchOrderNo's FAILED order resolves with it and emits payout.failed", async () => {
    r = await rig();
    r.gateway.then({ drop: true });
    await expect(r.payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // The gateway answers the lookup of ADV-1 with some other order that failed.
    r.gateway.fallback = () =>
      created({
        mchOrderNo: 'SOMEONE-ELSE',
        orderNo: 'PAYOUT9999999999999999999',
        orderStatus: 'FAIL',
        resultDesc: 'ACCOUNT_NOT_EXIST',
      });
    const answer = await r.payouts
      .reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo })
      .catch((e: unknown) => e);
    // Actual: resolves { mchOrderNo: 'SOMEONE-ELSE', orderStatus: 'FAIL' } and emits payout.failed for it. A host
    // that checks `order?.orderStatus` of the payout it asked about refunds ADV-1, which may well be paid.
    // The foreign answer is no answer about ADV-1: an ambiguous transport failure, never the order.
    expect(answer).toBeInstanceOf(CashyTransportError);
    expect((answer as Error).message).toMatch(/answer names mchOrderNo SOMEONE-ELSE, not ADV-1/);
    expect(r.listener.events.map((e) => [e.name, e.payload.mchOrderNo])).toEqual([]);
  });

  it("FINDING 7 (rule 7 / lost outcome): a lookup answered with ANOTHER order is recorded as ours, and the real order's outcome is then swallowed as an anomaly", async () => {
    r = await rig();
    r.gateway.then(
      { drop: true },
      created({
        mchOrderNo: 'SOMEONE-ELSE',
        orderNo: 'PAYOUT9999999999999999999',
      }),
    );
    // A lookup answering with another mchOrderNo's order is no answer about ADV-1: still unknown, nothing recorded.
    await expect(r.payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    // The real order of ADV-1 then reports SUCCESS:
    await acknowledged(r, paidNotice());
    // Actual: no outcome at all for the payout that was made, only a 'mchOrderNo' anomaly blaming the real order.
    expect(outcomesFor(r, PEN_PAYOUT.mchOrderNo)).toEqual([
      ['payout.succeeded', 'PAYOUT8600000000000000001'],
    ]);
    expect(r.listener.anomalies.map((a) => a.kind)).toEqual(['answer']);
  });
});

describe('adversarial: exactly-once delivery', () => {
  let r: Rig;
  afterEach(async () => {
    jest.restoreAllMocks();
    await r?.close();
  });

  it('FINDING 8 (exactly once): the confirm write fails for ~1 s: the delivery is not acknowledged, and the next report of the same status after the claim expires emits nothing', async () => {
    class ConfirmOutage extends MemoryPayoutStore {
      down = false;
      override async compareAndSet(record: PayoutRecord, expected: number) {
        // Only the write that records the processed status (no claim) fails; the claim write goes through.
        if (this.down && !record.claim && record.processed.includes('SUCCESS'))
          throw new Error("READONLY You can't write against a read only replica");
        return super.compareAndSet(record, expected);
      }
    }
    const store = new ConfirmOutage();
    r = await rig({ store, delivery: { claimTtlMs: 1_500, claimWaitMs: 100 } });
    const success = paidNotice();
    store.down = true;
    // Listeners ran; recording failed 5 times in ~0.6 s: 503, so Cashy retries (it goes on in the background).
    expect((await deliver(r.webhook, success, PEN_ACCOUNT)).status).toBe(503);
    store.down = false; // the store is back a moment later
    await sleep(1_600); // the claim (not the processed status) is all that was left, and it expires
    await acknowledged(r, success); // Cashy's duplicate delivery, or the sweep's reconcile
    expect(outcomesFor(r, PEN_PAYOUT.mchOrderNo)).toEqual([
      ['payout.succeeded', 'PAYOUT8600000000000000001'],
    ]);
  });

  it('FINDING 9 (concurrent deliveries emit once): a listener still running when its claim expires lets a concurrent copy emit the same outcome', async () => {
    r = await rig({ delivery: { claimTtlMs: 300, claimWaitMs: 2_000 } });
    r.listener.delayMs = 700; // e.g. a ledger write stuck behind a lock; nothing renews the claim meanwhile
    const success = paidNotice();
    const first = deliver(r.webhook, success, PEN_ACCOUNT);
    await sleep(400);
    const second = deliver(r.webhook, success, PEN_ACCOUNT); // Cashy's retry after its own timeout
    await Promise.all([first, second]);
    expect(outcomesFor(r, PEN_PAYOUT.mchOrderNo)).toEqual([
      ['payout.succeeded', 'PAYOUT8600000000000000001'],
    ]);
  });
});

describe('adversarial: numbers vs strings', () => {
  let r: Rig;
  afterEach(async () => {
    jest.restoreAllMocks();
    await r?.close();
  });

  it('FINDING 10a (rule 4, numbers vs strings): a create answered 200 with the digit-only mchOrderNo echoed as a JSON number is the order, not a conflict', async () => {
    r = await rig();
    const input = { ...PEN_PAYOUT, mchOrderNo: '20250101000001' };
    r.gateway.then(created({ mchOrderNo: Number(input.mchOrderNo) }));
    // Actual: PayoutOrderConflictError ("the gateway holds another payout under this mchOrderNo"),
    // which invites the host to pay again under a new number, for a payout that was created.
    await expect(r.payouts.createPayout(input)).resolves.toMatchObject({
      orderNo: 'PAYOUT8600000000000000001',
      mchOrderNo: input.mchOrderNo,
    });
  });

  it('FINDING 10b (rule 8): a notification whose mchOrderNo is a JSON number is refused with 400 (Cashy retries ~17 h, then the outcome is lost)', async () => {
    r = await rig();
    const input = { ...PEN_PAYOUT, mchOrderNo: '20250101000002' };
    r.gateway.then(created({ mchOrderNo: input.mchOrderNo }));
    await r.payouts.createPayout(input);
    const body = penNotice({
      mchOrderNo: 20250101000002,
      orderNo: 'PAYOUT8600000000000000001',
      orderStatus: 'SUCCESS',
    });
    const response = await deliver(r.webhook, body, PEN_ACCOUNT);
    expect(response).toMatchObject({ status: 200, text: 'SUCCESS' });
    expect(outcomesFor(r, input.mchOrderNo)).toEqual([
      ['payout.succeeded', 'PAYOUT8600000000000000001'],
    ]);
  });
});

describe('adversarial: rule 2 and rule 1 at the edges', () => {
  let r: Rig;
  afterEach(async () => {
    jest.restoreAllMocks();
    await r?.close();
  });

  it('FINDING 11 (rule 2): a store failure after an ambiguous attempt ends in PayoutStoreError, not PayoutOutcomeUnknownError', async () => {
    class BreakingStore extends MemoryPayoutStore {
      broken = false;
      override async getAttempt(mchOrderNo: string) {
        if (this.broken) throw new Error('ECONNRESET');
        return super.getAttempt(mchOrderNo);
      }
      override async compareAndSetAttempt(attempt: PayoutAttempt, expected: number) {
        const written = await super.compareAndSetAttempt(attempt, expected);
        if (attempt.state === 'unknown') this.broken = true; // the store goes down right after the timeout was recorded
        return written;
      }
    }
    r = await rig({ store: new BreakingStore(), resendWindowMs: 0 });
    r.gateway.then({ drop: true });
    const error = await r.payouts.createPayout(PEN_PAYOUT).catch((e: unknown) => e);
    // The dropped create may have been created: rule 2 allows only the order or PayoutOutcomeUnknownError.
    expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
  });

  it('FINDING 12 (rule 1): a Params_ answer naming mchOrderNo that the duplicate pattern misses is read as "definitely not created" after a restart lost the store', async () => {
    // A restarted process (fresh MemoryPayoutStore) is asked to send ADV-1 again; the gateway has it.
    r = await rig();
    r.gateway.then(envelope(400, 'Params_mchOrderNo_error'));
    r.gateway.fallback = (req) => (isLookup(req) ? created() : NOT_FOUND);
    const error = await r.payouts.createPayout(PEN_PAYOUT).catch((e: unknown) => e);
    // The library validated mchOrderNo itself, so "mchOrderNo invalid" from the gateway is most plausibly a duplicate.
    expect(error).not.toBeInstanceOf(CashyApiError);
    expect(error).toMatchObject({ orderNo: 'PAYOUT8600000000000000001' });
    expect(r.gateway.requests.some(isLookup)).toBe(true);
  });

  it('FINDING 13 (rule 2, transport contract): a transport that rejects with anything but CashyTransportError after the bytes left escapes createPayout as is', async () => {
    // Models the @nestjs/axios rewrite letting one error type through (an AxiosError, a TypeError in
    // a response interceptor...): the request really reaches the gateway, which creates the order.
    r = await rig();
    r.gateway.then(created());
    const post = CashyHttpClient.prototype.post;
    jest.spyOn(CashyHttpClient.prototype, 'post').mockImplementation(async function (
      this: CashyHttpClient,
      ...args: Parameters<typeof post>
    ) {
      await post.apply(this, args);
      throw new TypeError("Cannot read properties of undefined (reading 'data')");
    });
    const error = await r.payouts.createPayout(PEN_PAYOUT).catch((e: unknown) => e);
    expect(r.creates()).toBe(1);
    expect(error).toBeInstanceOf(PayoutOutcomeUnknownError);
  });
});

// ---------------------------------------------------------------------------------------------
// Attacks that held (kept because no other suite covers them)
// ---------------------------------------------------------------------------------------------

describe('adversarial: attacks that held', () => {
  let r: Rig;
  afterEach(async () => r?.close());

  it('HELD: two module instances sharing one MemoryPayoutStore send one create for concurrent calls, against a gateway that never dedupes and never answers', async () => {
    const gateway = new ScriptedGateway();
    const url = await gateway.start();
    const store = new MemoryPayoutStore();
    r = await rig({ store }, gateway, url);
    const other = await rig({ store }, gateway, url);
    try {
      gateway.fallback = (req) => (isCreate(req) ? { hang: true } : NOT_FOUND);
      const calls = [r.payouts, other.payouts, r.payouts, other.payouts].map((p) =>
        p.createPayout(PEN_PAYOUT).catch((e: unknown) => e),
      );
      const results = await Promise.all(calls);
      for (const result of results) expect(result).toBeInstanceOf(PayoutOutcomeUnknownError);
      // Again, from both instances, right after PayoutOutcomeUnknownError, still inside the window.
      await Promise.all([
        r.payouts.createPayout(PEN_PAYOUT).catch(() => undefined),
        other.payouts.createPayout(PEN_PAYOUT).catch(() => undefined),
      ]);
      expect(gateway.requests.filter(isCreate)).toHaveLength(1);
    } finally {
      await other.close();
      await gateway.stop();
    }
  });

  it('HELD: a crash between recording "sending" and sending leaves a record that stops a restarted instance from re-sending inside the window', async () => {
    const store = new MemoryPayoutStore();
    // The "crashed" process recorded the attempt and died before the bytes left.
    await store.compareAndSetAttempt(
      {
        mchOrderNo: PEN_PAYOUT.mchOrderNo,
        merchantId: PEN_ACCOUNT.merchantId,
        currency: 'PEN',
        amount: '150.50',
        state: 'sending',
        resendAfter: Date.now() + 5_000,
        revision: 1,
        updatedAt: Date.now(),
      },
      0,
    );
    r = await rig({ store });
    await expect(r.payouts.createPayout(PEN_PAYOUT)).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    await expect(r.payouts.reconcile({ mchOrderNo: PEN_PAYOUT.mchOrderNo })).rejects.toBeInstanceOf(
      PayoutOutcomeUnknownError,
    );
    expect(r.creates()).toBe(0);
  });

  it('HELD: hostile notification bodies: prototype keys are refused and pollute nothing, malformed amounts are refused, odd spellings of the right amount are accepted', async () => {
    r = await rig();
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    // Prototype keys: 400 on both adapters (Fastify's parser refuses them too), nothing emitted.
    expect(
      (
        await deliver(
          r.webhook,
          `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"orderStatus":"SUCCESS","amount":"150.50","fee":"1.50","mchOrderNo":"HOSTILE-1","merchantId":"${PEN_ACCOUNT.merchantId}","orderNo":"__proto__"}`,
          PEN_ACCOUNT,
        )
      ).status,
    ).toBe(400);
    // Values that name prototype members are only values.
    expect(
      (
        await deliver(
          r.webhook,
          `{"orderStatus":"constructor","amount":"150.50","mchOrderNo":"constructor","merchantId":"${PEN_ACCOUNT.merchantId}","orderNo":"hasOwnProperty"}`,
          PEN_ACCOUNT,
        )
      ).status,
    ).toBe(200);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(r.listener.anomalies.map((a) => [a.kind, a.status])).toEqual([
      ['status', 'constructor'],
    ]);

    for (const amount of [
      '1e3',
      '0x10',
      '\u0661\u0665\u0660.\u0665\u0660',
      '150,50',
      'NaN',
      'Infinity',
      '-0.01',
      '1'.repeat(70),
    ]) {
      const response = await deliver(
        r.webhook,
        penNotice({ mchOrderNo: 'HOSTILE-AMT', amount }),
        PEN_ACCOUNT,
      );
      expect([amount, response.status]).toEqual([amount, 400]);
    }
    expect(
      (
        await deliver(
          r.webhook,
          `{"orderStatus":"SUCCESS","amount":1e400,"mchOrderNo":"HOSTILE-BIG","merchantId":"${PEN_ACCOUNT.merchantId}","orderNo":"PAYOUT-BIG"}`,
          PEN_ACCOUNT,
        )
      ).status,
    ).toBe(400);
    // A huge nested body is refused by the body parser before anything is read.
    const nested = `{"orderStatus":"SUCCESS","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    expect((await deliver(r.webhook, nested, PEN_ACCOUNT)).status).toBe(413);
    // Lenient, not unsafe: the signed amount, padded or as a number, is the recorded amount.
    r.gateway.then(created());
    await r.payouts.createPayout(PEN_PAYOUT);
    await acknowledged(
      r,
      penNotice({
        orderNo: 'PAYOUT8600000000000000001',
        orderStatus: 'PAYING',
        amount: ' 150.50 ',
      }),
    );
    await acknowledged(
      r,
      penNotice({
        orderNo: 'PAYOUT8600000000000000001',
        orderStatus: 'SUCCESS',
        amount: '150.5\n',
      }),
    );
    await acknowledged(
      r,
      penNotice({
        orderNo: 'PAYOUT8600000000000000001',
        orderStatus: 'SUCCESS',
        amount: 150.5,
      }),
    );
    expect(r.listener.events.map((e) => [e.payload.mchOrderNo, e.payload.amount])).toEqual([
      [PEN_PAYOUT.mchOrderNo, '150.50'],
    ]);
    // A different amount written with padding is still a different amount.
    await acknowledged(
      r,
      penNotice({
        orderNo: 'PAYOUT8600000000000000001',
        orderStatus: 'FAIL',
        amount: ' 1505.0 ',
      }),
    );
    expect(r.listener.anomalies.map((a) => a.kind)).toEqual(['status', 'amount']);
  });

  it('HELD: a webhook for an order created under another merchant, or recorded under another mchOrderNo, emits an anomaly and no outcome', async () => {
    r = await rig();
    r.gateway.then(created());
    await r.payouts.createPayout(PEN_PAYOUT);
    const wrongMerchant = {
      ...paidNotice(),
      merchantId: MXN_ACCOUNT.merchantId,
    };
    expect(await deliver(r.webhook, wrongMerchant, MXN_ACCOUNT)).toMatchObject({
      status: 200,
      text: 'SUCCESS',
    });
    await acknowledged(
      r,
      penNotice({
        orderNo: 'PAYOUT8600000000000000001',
        mchOrderNo: 'ADV-OTHER',
        orderStatus: 'FAIL',
      }),
    );
    expect(r.listener.events).toEqual([]);
    expect(r.listener.anomalies.map((a) => a.kind)).toEqual(['merchant', 'mchOrderNo']);
  });

  it('HELD: an anomaly listener that throws makes the delivery fail (500) and the anomaly is emitted again on the retry, never as an outcome', async () => {
    r = await rig();
    const fail = penNotice({
      orderNo: 'PAYOUT8600000000000000003',
      orderStatus: 'FAIL',
      resultDesc: 'X',
    });
    await acknowledged(r, fail);
    const original = r.listener.anomaly.bind(r.listener);
    let throws = 1;
    r.listener.anomaly = (event) => {
      if (throws-- > 0) throw new Error('pager down');
      original(event);
    };
    // FAIL → SUCCESS is an anomaly; its listener throws once.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await deliver(r.webhook, { ...fail, orderStatus: 'SUCCESS' }, PEN_ACCOUNT);
      statuses.push(response.status);
    }
    expect(statuses).toEqual([500, 200, 200]);
    expect(r.listener.anomalies.map((a) => [a.kind, a.status])).toEqual([
      ['transition', 'SUCCESS'],
    ]);
    expect(outcomesFor(r, PEN_PAYOUT.mchOrderNo)).toEqual([
      ['payout.failed', 'PAYOUT8600000000000000003'],
    ]);
  });
});

describeWithRedis('adversarial: two replicas over Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis.dispose());

  it('HELD: concurrent createPayout of one mchOrderNo on two replicas sharing Redis sends one create to a non-deduping gateway', async () => {
    const gateway = new ScriptedGateway();
    const url = await gateway.start();
    const clients = [
      new Redis({ port: redis.port, host: '127.0.0.1' }),
      new Redis({ port: redis.port, host: '127.0.0.1' }),
    ];
    const rigs: Rig[] = [];
    try {
      for (const client of clients)
        rigs.push(await rig({ store: new RedisPayoutStore({ client }) }, gateway, url));
      // Every create is committed by a gateway that does not dedupe, but the answer is lost.
      gateway.fallback = (req) => (isCreate(req) ? { drop: true } : NOT_FOUND);
      const calls = Array.from({ length: 6 }, (_, i) =>
        rigs[i % 2].payouts.createPayout(PEN_PAYOUT).catch((e: unknown) => e),
      );
      for (const result of await Promise.all(calls))
        expect(result).toBeInstanceOf(PayoutOutcomeUnknownError);
      expect(gateway.requests.filter(isCreate)).toHaveLength(1);
    } finally {
      for (const x of rigs) await x.app.close();
      for (const client of clients) client.disconnect();
      await gateway.stop();
    }
  });
});

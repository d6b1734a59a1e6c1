import type { Server } from 'node:http';
import { MemoryPayoutStore, PAYOUT_STORE } from '../../lib';
import { PostgresPayoutStore } from '../../lib/postgres';
import { RedisPayoutStore } from '../../lib/redis';
import { PayoutEventsLog } from '../../sample/payout-events.log';
import { sampleStoreFor } from '../../sample/payout-store.module';
import { type RunningSample, startSampleApp } from '../../sample/sample-app';

const PEN = {
  accountName: 'Maria Quispe',
  accountNo: '03810110700064503226',
  cciAccountNo: '03810110700064503226',
  accountType: 1,
  currency: 'PEN',
  amount: '250.00',
  bankId: 6,
  idType: '1',
  idCard: '45671234',
  remark: 'withdrawal',
};
const MXN = {
  accountName: 'Jose Hernandez',
  accountNo: '002010077777777771',
  accountType: 40,
  currency: 'MXN',
  amount: 1500,
  bankId: 80,
  remark: 'retiro',
};

describe('sample app on the embedded sandbox', () => {
  let sample: RunningSample;
  const post = (body: unknown) =>
    fetch(`${sample.url}/payouts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const get = async (path: string) => (await fetch(sample.url + path)).json();
  const eventsFor = async (mchOrderNo: string) =>
    (
      (await get('/events')) as {
        name: string;
        payload: Record<string, unknown>;
      }[]
    ).filter((e) => e.payload.mchOrderNo === mchOrderNo);
  const waitForEvents = async (mchOrderNo: string, count: number) => {
    const until = Date.now() + 8000;
    for (;;) {
      const events = await eventsFor(mchOrderNo);
      if (events.length >= count) return events;
      if (Date.now() > until)
        throw new Error(
          `expected ${count} events for ${mchOrderNo}, got ${JSON.stringify(events)}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  beforeAll(async () => {
    sample = await startSampleApp({
      env: {},
      port: 0,
      logger: false,
      sandbox: { processingMs: 10, payingMs: 20, timeScale: 0.001 },
    });
  });
  afterAll(() => sample.close());

  it('starts an embedded sandbox when no gateway is configured', () => {
    expect(sample.sandbox).toBeDefined();
  });

  it('keeps payout state in memory when PAYOUT_STORE_URL is unset', () => {
    expect(sample.app.get(PAYOUT_STORE)).toBeInstanceOf(MemoryPayoutStore);
  });

  it('cuts slow clients off: server timeouts fit for a webhook facing the internet', () => {
    const server = sample.app.getHttpServer() as Server & {
      connectionsCheckingInterval: number;
    };
    const { requestTimeout, headersTimeout, keepAliveTimeout, connectionsCheckingInterval } =
      server;
    // The whole request in 10 s, its headers in 5 s, idle keep-alive 5 s, checked every second (npm run stress proves the effect).
    expect({
      requestTimeout,
      headersTimeout,
      keepAliveTimeout,
      connectionsCheckingInterval,
    }).toEqual({
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1_000,
    });
  });

  it('creates a PEN and an MXN payout, which settle and reach the listeners as payout.succeeded', async () => {
    const pe = await post({ ...PEN, mchOrderNo: 'SAMPLE-PE-1' });
    expect(pe.status).toBe(201);
    expect(await pe.json()).toMatchObject({
      mchOrderNo: 'SAMPLE-PE-1',
      amount: '250.00',
      orderStatus: 'PROCESSING',
      currency: 'PEN',
    });
    const mx = await post(MXN); // mchOrderNo generated
    expect(mx.status).toBe(201);
    const mxOrder = (await mx.json()) as { mchOrderNo: string };
    expect(mxOrder.mchOrderNo).toMatch(/^S[0-9a-f]{20}$/);

    expect(await waitForEvents('SAMPLE-PE-1', 1)).toEqual([
      {
        name: 'payout.succeeded',
        payload: expect.objectContaining({
          amount: '250.00',
          fee: '1.50',
          status: 'SUCCESS',
          merchantId: sample.sandbox!.account('PEN').merchantId,
        }),
      },
    ]);
    expect(await waitForEvents(mxOrder.mchOrderNo, 1)).toEqual([
      {
        name: 'payout.succeeded',
        payload: expect.objectContaining({ amount: '1500', status: 'SUCCESS' }),
      },
    ]);
    expect(await get('/payouts/SAMPLE-PE-1')).toMatchObject({
      orderStatus: 'SUCCESS',
      amount: '250.00',
    });
  });

  it('reports a failure as payout.failed with the reason', async () => {
    expect(
      (
        await post({
          ...MXN,
          mchOrderNo: 'SAMPLE-MX-FAIL',
          remark: 'FAIL ACCOUNT_BLOCKED',
        })
      ).status,
    ).toBe(201);
    expect(await waitForEvents('SAMPLE-MX-FAIL', 1)).toEqual([
      {
        name: 'payout.failed',
        payload: expect.objectContaining({
          status: 'FAIL',
          reason: 'ACCOUNT_BLOCKED',
          reversed: false,
        }),
      },
    ]);
  });

  it('reports a Mexican reversal as payout.succeeded then payout.failed with reversed: true', async () => {
    expect((await post({ ...MXN, mchOrderNo: 'SAMPLE-MX-REV', remark: 'REVERSE' })).status).toBe(
      201,
    );
    const events = await waitForEvents('SAMPLE-MX-REV', 2);
    expect(events.map((e) => [e.name, e.payload.reversed ?? null])).toEqual([
      ['payout.succeeded', null],
      ['payout.failed', true],
    ]);
  });

  it("answers 500 when a listener fails, and the sandbox's retry then succeeds with one event", async () => {
    sample.app.get(PayoutEventsLog).failNext = 1;
    const created = (await (await post({ ...PEN, mchOrderNo: 'SAMPLE-PE-RETRY' })).json()) as {
      orderNo: string;
    };
    const events = await waitForEvents('SAMPLE-PE-RETRY', 1);
    expect(events).toHaveLength(1);
    const attempts = sample.sandbox!.deliveries.filter(
      (d) => d.orderNo === created.orderNo && d.orderStatus === 'SUCCESS',
    );
    expect(attempts.map((d) => [d.attempt, d.httpStatus, d.acknowledged])).toEqual([
      [1, 500, false],
      [2, 200, true],
    ]);
  });

  it('answers 400 with the rule each field broke, and sends nothing to the gateway', async () => {
    const before = sample.sandbox!.requests.length;
    const response = await post({
      ...MXN,
      accountNo: '002010077777777779',
      amount: '100.50',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: unknown[] };
    expect(body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          field: 'accountNo',
          rule: 'clabeCheckDigit',
        }),
        expect.objectContaining({ field: 'amount', rule: 'scale' }),
      ]),
    );
    expect(sample.sandbox!.requests.length).toBe(before);
  });

  it('passes banks and balance through', async () => {
    const banks = (await get('/banks?currency=MXN')) as { bankId: number }[];
    expect(banks).toEqual(
      expect.arrayContaining([{ bankId: 24, bankCode: '90646', bankName: 'STP' }]),
    );
    expect(await get('/balance?currency=PEN')).toMatchObject({
      merchantId: sample.sandbox!.account('PEN').merchantId,
      balance: expect.stringMatching(/^\d+\.\d{2}$/),
    });
  });
});

describe("the sample's PAYOUT_STORE_URL", () => {
  it.each([
    ['postgres://app:secret@db.internal:5432/payouts', PostgresPayoutStore],
    ['postgresql://app@db.internal/payouts', PostgresPayoutStore],
    ['redis://:secret@cache.internal:6379', RedisPayoutStore],
    ['rediss://cache.internal:6380', RedisPayoutStore],
  ])('picks the store for %s, connecting nothing until started', async (url, type) => {
    const picked = sampleStoreFor(url);
    expect(picked.store).toBeInstanceOf(type);
    await picked.close();
  });

  it('keeps the default memory store when unset', () => {
    expect(sampleStoreFor(undefined).store).toBeUndefined();
    expect(sampleStoreFor('').store).toBeUndefined();
  });

  it('refuses another scheme without repeating the URL, which may hold a password', () => {
    expect(() => sampleStoreFor('mysql://app:s3cret@db/payouts')).toThrow(
      /^PAYOUT_STORE_URL must start with postgres:\/\/, postgresql:\/\/, redis:\/\/ or rediss:\/\//,
    );
    expect(() => sampleStoreFor('mysql://app:s3cret@db/payouts')).not.toThrow(/s3cret/);
  });
});

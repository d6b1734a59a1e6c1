import type { INestApplication } from '@nestjs/common';
import { ADAPTERS, type RecordingListener, startHostApp } from '../support/host-app';
import { deliver, MXN_ACCOUNT, notification, PEN_ACCOUNT } from '../support/notifications';
import { redisPayoutModule } from './redis-host';
import { describeWithRedis, RedisServer } from './redis-server';

interface Replica {
  app: INestApplication;
  url: string;
  listener: RecordingListener;
}

type Delivery = {
  body: Record<string, unknown>;
  account: typeof PEN_ACCOUNT | typeof MXN_ACCOUNT;
};

const COPIES = 4;

/** Fisher–Yates, so copies of one order reach the replicas interleaved with other orders. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

describeWithRedis('two replicas sharing one Redis', () => {
  let server: RedisServer;
  let replicas: Replica[];

  beforeAll(async () => {
    server = await RedisServer.start();
    // One replica on each adapter: the store, not the HTTP layer, is what they share.
    replicas = await Promise.all(
      ADAPTERS.map(async (adapter) => {
        const replica = await startHostApp(adapter, redisPayoutModule(server.port));
        replica.listener.delayMs = 25;
        return { ...replica, url: `${replica.url}/payout/webhook` };
      }),
    );
  });
  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.app.close()));
    await server?.dispose();
  });

  /** Sends every delivery at once, copy `i` of each to replica `i % 2`, and expects all acknowledged. */
  async function deliverConcurrently(deliveries: Delivery[][]): Promise<void> {
    const sends = shuffle(
      deliveries.flatMap((copies, order) =>
        copies.map((copy, i) => ({
          ...copy,
          replica: replicas[(order + i) % replicas.length],
        })),
      ),
    );
    const responses = await Promise.all(
      sends.map(({ replica, body, account }) => deliver(replica.url, body, account)),
    );
    expect(responses.map((r) => `${r.status} ${r.text}`)).toEqual(
      Array(sends.length).fill('200 SUCCESS'),
    );
  }

  const allEvents = () => replicas.flatMap((r) => r.listener.events);

  /** `event name (reversed)` per orderNo, over both replicas, sorted (replicas keep separate logs). */
  function eventsByOrder(): Record<string, string[]> {
    const byOrder: Record<string, string[]> = {};
    for (const { name, payload } of allEvents()) {
      const reversed = 'reversed' in payload && payload.reversed ? ' (reversed)' : '';
      (byOrder[payload.orderNo] ??= []).push(`${name}${reversed}`);
    }
    for (const names of Object.values(byOrder)) names.sort();
    return byOrder;
  }

  it('emits exactly one event per outcome across both replicas for 30 orders × 4 concurrent copies, reversals included', async () => {
    const pen = (orderStatus: string, resultDesc: string) =>
      notification({ orderStatus, resultDesc });
    const mxn = () =>
      notification({
        merchantId: MXN_ACCOUNT.merchantId,
        amount: '1500',
        fee: '5',
      });
    const orders: Delivery[] = [
      ...Array.from({ length: 10 }, () => ({
        body: pen('SUCCESS', 'SUCCESS'),
        account: PEN_ACCOUNT,
      })),
      ...Array.from({ length: 5 }, () => ({
        body: pen('FAIL', 'INVALID_CCI'),
        account: PEN_ACCOUNT,
      })),
      ...Array.from({ length: 5 }, () => ({
        body: pen('CANCEL', 'COMPLIANCE_REJECT'),
        account: PEN_ACCOUNT,
      })),
      ...Array.from({ length: 10 }, () => ({
        body: mxn(),
        account: MXN_ACCOUNT,
      })),
    ];
    const inProgress = (order: Delivery): Delivery => ({
      ...order,
      body: {
        ...order.body,
        orderStatus: 'PAYING',
        fee: null,
        completionTime: null,
      },
    });

    // Four copies of each outcome plus an in-progress report racing them (ignored or remembered, never emitted).
    await deliverConcurrently(
      orders.map((order) => [...Array(COPIES).fill(order), inProgress(order)]),
    );

    const expected: Record<string, string[]> = {};
    for (const { body } of orders)
      expected[body.orderNo as string] = [
        body.orderStatus === 'SUCCESS' ? 'payout.succeeded' : 'payout.failed',
      ];
    expect(eventsByOrder()).toEqual(expected);
    expect(allEvents()).toHaveLength(30);
    // Both replicas did part of the work: neither just waited on the other.
    for (const replica of replicas) expect(replica.listener.events.length).toBeGreaterThan(0);

    // SPEI returns of the ten Mexican payouts, four copies each, raced by late copies of the original SUCCESS.
    const mexican = orders.slice(20);
    const reversal = (order: Delivery): Delivery => ({
      ...order,
      body: {
        ...order.body,
        orderStatus: 'FAIL',
        resultDesc: 'ACCOUNT_NOT_EXIST',
      },
    });
    await deliverConcurrently(
      mexican.map((order) => [...Array(COPIES).fill(reversal(order)), order]),
    );

    for (const { body } of mexican)
      expected[body.orderNo as string] = [
        ...expected[body.orderNo as string],
        'payout.failed (reversed)',
      ].sort();
    expect(eventsByOrder()).toEqual(expected);
    expect(allEvents()).toHaveLength(40);
    for (const { payload } of allEvents().filter(
      (e) => 'reversed' in e.payload && e.payload.reversed,
    )) {
      expect(payload).toMatchObject({
        status: 'FAIL',
        reason: 'ACCOUNT_NOT_EXIST',
        amount: '1500',
        merchantId: MXN_ACCOUNT.merchantId,
      });
    }

    // Everything again, one copy to each replica in turn: all duplicates now.
    await deliverConcurrently([...orders, ...mexican.map(reversal)].map((order) => [order, order]));
    expect(allEvents()).toHaveLength(40);
  });
});

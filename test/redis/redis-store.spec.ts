import { Cluster, Redis } from 'ioredis';
import { RedisPayoutStore } from '../../lib/redis';
import { describeStoreContract, record as rec } from '../support/store.contract';
import { describeWithRedis, RedisServer } from './redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithRedis('RedisPayoutStore', () => {
  let server: RedisServer;
  let client: Redis;
  let store: RedisPayoutStore;
  const clients: Redis[] = [];
  const connect = (options: { keyPrefix?: string } = {}) => {
    const c = new Redis({
      host: '127.0.0.1',
      port: server.port,
      maxRetriesPerRequest: 1,
      ...options,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await RedisServer.start();
    client = connect();
    store = new RedisPayoutStore({ client });
  });
  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await server?.dispose();
  });

  let contractPrefix = 0;
  describeStoreContract({
    fresh: () =>
      new RedisPayoutStore({
        client,
        keyPrefix: `contract-${process.pid}-${++contractPrefix}:`,
      }),
    serverTime: async () => {
      const [seconds, micros] = await client.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    },
  });

  describe('options', () => {
    it('defaults to the prefix cashy-payout: and 48 h', () => {
      expect(store.keyPrefix).toBe('cashy-payout:');
      expect(store.ttlMs).toBe(48 * 60 * 60 * 1000);
      expect(store.recordKey('P1')).toBe('cashy-payout:{payout}:order:P1');
      expect(store.indexKey('M1')).toBe('cashy-payout:{payout}:mch:M1');
    });

    it.each<[string, object, RegExp]>([
      ['no client', { client: undefined }, /client must be an ioredis/],
      ['a client that is not ioredis', { client: {} }, /client must be an ioredis/],
      ['a prefix with a brace', { keyPrefix: 'a{b}:' }, /keyPrefix must be a string without/],
      ['ttlMs 0', { ttlMs: 0 }, /ttlMs must be a whole number/],
      ['ttlMs fractional', { ttlMs: 1.5 }, /ttlMs must be a whole number/],
    ])('rejects %s', (_case, options, message) => {
      expect(() => new RedisPayoutStore({ client, ...options })).toThrow(message);
    });
  });

  // What every store must do is in the shared contract (test/support/store.contract.ts); here only Redis's own.
  describe('compareAndSet', () => {
    it('writes a record without mchOrderNo, and no index for it', async () => {
      const record = rec(1, { mchOrderNo: undefined });
      expect(await store.compareAndSet(record, 0)).toBe(true);
      expect(await store.get(record.orderNo)).toEqual({
        ...record,
        mchOrderNo: undefined,
      });
      expect(await client.keys(store.indexKey('*'))).not.toContain(
        store.indexKey(`M-${record.orderNo}`),
      );
    });

    it('lets exactly one of 50 concurrent writers over five connections win', async () => {
      const connections = Array.from(
        { length: 5 },
        () => new RedisPayoutStore({ client: connect() }),
      );
      const { orderNo } = rec(1);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          connections[i % 5].compareAndSet(rec(1, { orderNo, updatedAt: i }), 0),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.get(orderNo))?.updatedAt).toBe(results.indexOf(true));
    });

    it('loads its scripts again after SCRIPT FLUSH (NOSCRIPT)', async () => {
      const record = rec(1);
      await store.compareAndSet(record, 0);
      await client.script('FLUSH');
      expect(await store.compareAndSet(rec(2, { orderNo: record.orderNo }), 1)).toBe(true);
      await client.script('FLUSH');
      expect((await store.findByMchOrderNo(record.mchOrderNo!))?.revision).toBe(2);
    });
  });

  describe('findByMchOrderNo', () => {
    it('ignores an index left behind by an order rewritten under another mchOrderNo', async () => {
      const record = rec(1, { mchOrderNo: 'OLD-MCH' });
      await store.compareAndSet(record, 0);
      await store.compareAndSet(rec(2, { orderNo: record.orderNo, mchOrderNo: 'NEW-MCH' }), 1);
      expect(await store.findByMchOrderNo('OLD-MCH')).toBeUndefined();
      expect((await store.findByMchOrderNo('NEW-MCH'))?.orderNo).toBe(record.orderNo);
    });
  });

  describe('expiry', () => {
    it('gives the record and its index the same TTL, renewed by every write, then forgets both', async () => {
      const short = new RedisPayoutStore({ client, ttlMs: 500 });
      const record = rec(1);
      await short.compareAndSet(record, 0);
      await sleep(200);
      await short.compareAndSet(rec(2, { orderNo: record.orderNo }), 1);
      for (const key of [short.recordKey(record.orderNo), short.indexKey(record.mchOrderNo!)]) {
        expect(await client.pttl(key)).toBeGreaterThan(400);
        expect(await client.pttl(key)).toBeLessThanOrEqual(500);
      }
      // Past the first write's expiry, kept alive by the second.
      await sleep(320);
      expect((await short.get(record.orderNo))?.revision).toBe(2);
      expect((await short.findByMchOrderNo(record.mchOrderNo!))?.revision).toBe(2);
      await sleep(300);
      expect(await short.get(record.orderNo)).toBeUndefined();
      expect(await short.findByMchOrderNo(record.mchOrderNo!)).toBeUndefined();
      expect(
        await client.exists(short.recordKey(record.orderNo), short.indexKey(record.mchOrderNo!)),
      ).toBe(0);
      // Forgotten means new: the next write starts from revision 0 again.
      expect(await short.compareAndSet(rec(1, { orderNo: record.orderNo }), 0)).toBe(true);
    });
  });

  describe('keys', () => {
    it('isolates stores with different prefixes on one Redis', async () => {
      const a = new RedisPayoutStore({ client, keyPrefix: 'tenant-a:' });
      const b = new RedisPayoutStore({ client, keyPrefix: 'tenant-b:' });
      const record = rec(1);
      expect(await a.compareAndSet(record, 0)).toBe(true);
      expect(await b.get(record.orderNo)).toBeUndefined();
      expect(await b.findByMchOrderNo(record.mchOrderNo!)).toBeUndefined();
      expect(await b.compareAndSet(rec(1, { orderNo: record.orderNo, status: 'FAIL' }), 0)).toBe(
        true,
      );
      expect((await a.get(record.orderNo))?.status).toBe('PROCESSING');
      expect((await client.keys(`tenant-a:*${record.orderNo}`)).sort()).toEqual([
        `tenant-a:{payout}:mch:M-${record.orderNo}`,
        `tenant-a:{payout}:order:${record.orderNo}`,
      ]);
    });

    it("works under the client's own keyPrefix", async () => {
      const prefixed = new RedisPayoutStore({
        client: connect({ keyPrefix: 'host-app:' }),
      });
      const record = rec(1);
      await prefixed.compareAndSet(record, 0);
      expect(await prefixed.get(record.orderNo)).toEqual(record);
      expect(await prefixed.findByMchOrderNo(record.mchOrderNo!)).toEqual(record);
      expect(
        await client.exists(
          `host-app:${prefixed.recordKey(record.orderNo)}`,
          `host-app:${prefixed.indexKey(record.mchOrderNo!)}`,
        ),
      ).toBe(2);
      expect(await store.get(record.orderNo)).toBeUndefined();
    });
  });

  describe('errors', () => {
    it('rejects with the Redis error when Redis cannot be reached', async () => {
      // Not connected, and told not to queue: every command fails at once, as while Redis is down.
      const closed = new Redis({
        host: '127.0.0.1',
        port: server.port,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      const offline = new RedisPayoutStore({ client: closed });
      try {
        await expect(offline.get('P1')).rejects.toThrow(/enableOfflineQueue/);
        await expect(offline.compareAndSet(rec(1), 0)).rejects.toThrow(/enableOfflineQueue/);
        await expect(offline.findByMchOrderNo('M1')).rejects.toThrow(/enableOfflineQueue/);
      } finally {
        closed.disconnect();
      }
    });

    it('rejects when a stored record is not JSON', async () => {
      await client.hset(store.recordKey('CORRUPT'), 'revision', '1', 'record', '{oops');
      await expect(store.get('CORRUPT')).rejects.toThrow(SyntaxError);
    });
  });
});

describeWithRedis('RedisPayoutStore on Redis Cluster', () => {
  let server: RedisServer;
  let cluster: Cluster;

  beforeAll(async () => {
    server = await RedisServer.start({ cluster: true });
    cluster = new Cluster([{ host: '127.0.0.1', port: server.port }], {
      redisOptions: { maxRetriesPerRequest: 1 },
    });
  });
  afterAll(async () => {
    cluster?.disconnect();
    await server?.dispose();
  });

  it("keeps an order's record and index in one slot, so the scripts pass the cluster's checks", async () => {
    const store = new RedisPayoutStore({ client: cluster });
    const record = rec(1);
    expect(await store.compareAndSet(record, 0)).toBe(true);
    expect(await store.compareAndSet(rec(2, { orderNo: record.orderNo }), 1)).toBe(true);
    expect(await store.compareAndSet(rec(2, { orderNo: record.orderNo }), 1)).toBe(false);
    expect((await store.get(record.orderNo))?.revision).toBe(2);
    expect((await store.findByMchOrderNo(record.mchOrderNo!))?.revision).toBe(2);
    const slots = await Promise.all(
      [store.recordKey(record.orderNo), store.indexKey(record.mchOrderNo!)].map((key) =>
        cluster.cluster('KEYSLOT', key),
      ),
    );
    expect(slots[0]).toBe(slots[1]);
  });

  it('gets the CROSSSLOT error this layout avoids when keys of different slots meet in one script', async () => {
    // The control experiment: without the shared hash tag, the cluster rejects the write.
    await expect(
      cluster.eval(
        "return redis.call('SET', KEYS[2], KEYS[1])",
        2,
        'cashy-payout:order:P1',
        'cashy-payout:mch:M1',
      ),
    ).rejects.toThrow(/CROSSSLOT/);
  });
});

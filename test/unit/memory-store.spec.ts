import { Logger } from '@nestjs/common';
import { MemoryPayoutStore } from '../../lib/store/memory-payout.store';
import { TestPayoutClock } from '../../lib/testing/test-payout.clock';
import { describeStoreContract } from '../support/store.contract';
import type { PayoutRecord } from '../../lib/store/payout-store.interface';

function rec(orderNo: string, revision: number, extra: Partial<PayoutRecord> = {}): PayoutRecord {
  return {
    orderNo,
    mchOrderNo: `M-${orderNo}`,
    status: 'PROCESSING',
    processed: ['PROCESSING'],
    reversed: false,
    revision,
    updatedAt: Date.now(),
    ...extra,
  };
}

describe('MemoryPayoutStore', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    warn.mockRestore();
    jest.useRealTimers();
  });

  describe('options', () => {
    it('defaults to 100,000 orders kept 48 h', () => {
      const store = new MemoryPayoutStore();
      expect(store.maxEntries).toBe(100_000);
      expect(store.ttlMs).toBe(48 * 60 * 60 * 1000);
      expect(store.size).toBe(0);
    });

    it.each<[string, object]>([
      ['maxEntries 0', { maxEntries: 0 }],
      ['maxEntries negative', { maxEntries: -1 }],
      ['maxEntries fractional', { maxEntries: 1.5 }],
      ['ttlMs 0', { ttlMs: 0 }],
      ['ttlMs NaN', { ttlMs: NaN }],
    ])('rejects %s', (_label, options) => {
      expect(() => new MemoryPayoutStore(options)).toThrow(RangeError);
    });
  });

  describe('compareAndSet', () => {
    it('creates a record only when none exists (expected revision 0)', async () => {
      const store = new MemoryPayoutStore();
      expect(await store.get('A')).toBeUndefined();
      expect(await store.compareAndSet(rec('A', 1), 0)).toBe(true);
      expect(await store.get('A')).toEqual(rec('A', 1, { updatedAt: expect.any(Number) }));
      // A second creation loses.
      expect(await store.compareAndSet(rec('A', 1, { status: 'SUCCESS' }), 0)).toBe(false);
      expect((await store.get('A'))?.status).toBe('PROCESSING');
    });

    it('refuses an expected revision for an order that does not exist', async () => {
      const store = new MemoryPayoutStore();
      expect(await store.compareAndSet(rec('A', 2), 1)).toBe(false);
      expect(await store.get('A')).toBeUndefined();
      expect(store.size).toBe(0);
    });

    it('updates only from the current revision, and a stale writer writes nothing', async () => {
      const store = new MemoryPayoutStore();
      await store.compareAndSet(rec('A', 1), 0);
      expect(
        await store.compareAndSet(
          rec('A', 2, {
            status: 'PAYING',
            processed: ['PROCESSING', 'PAYING'],
          }),
          1,
        ),
      ).toBe(true);
      expect(await store.compareAndSet(rec('A', 2, { status: 'SUCCESS' }), 1)).toBe(false);
      expect(await store.compareAndSet(rec('A', 3, { status: 'SUCCESS' }), 3)).toBe(false);
      expect((await store.get('A'))?.status).toBe('PAYING');
      expect(await store.compareAndSet(rec('A', 3, { status: 'SUCCESS' }), 2)).toBe(true);
      expect(await store.get('A')).toMatchObject({
        status: 'SUCCESS',
        revision: 3,
      });
    });

    it('lets exactly one of many concurrent writers of the same revision win', async () => {
      const store = new MemoryPayoutStore();
      await store.compareAndSet(rec('A', 1), 0);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.compareAndSet(rec('A', 2, { updatedAt: i }), 1)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await store.get('A')).toMatchObject({
        revision: 2,
        updatedAt: winner,
      });
    });

    it('keeps orders apart', async () => {
      const store = new MemoryPayoutStore();
      await store.compareAndSet(rec('A', 1), 0);
      expect(await store.compareAndSet(rec('B', 1), 0)).toBe(true);
      expect(store.size).toBe(2);
      expect((await store.get('B'))?.orderNo).toBe('B');
    });
  });

  describe('findByMchOrderNo', () => {
    it('finds a record by the merchant order number', async () => {
      const store = new MemoryPayoutStore();
      await store.compareAndSet(rec('A', 1, { mchOrderNo: 'PE-1' }), 0);
      expect((await store.findByMchOrderNo('PE-1'))?.orderNo).toBe('A');
      expect(await store.findByMchOrderNo('PE-2')).toBeUndefined();
    });

    it('follows the latest write of the record', async () => {
      const store = new MemoryPayoutStore();
      await store.compareAndSet(rec('A', 1, { mchOrderNo: 'PE-1' }), 0);
      await store.compareAndSet(rec('A', 2, { mchOrderNo: 'PE-1', status: 'SUCCESS' }), 1);
      expect(await store.findByMchOrderNo('PE-1')).toMatchObject({
        orderNo: 'A',
        status: 'SUCCESS',
        revision: 2,
      });
    });

    it('ignores records without mchOrderNo', async () => {
      const store = new MemoryPayoutStore();
      await store.compareAndSet(rec('A', 1, { mchOrderNo: undefined }), 0);
      expect(await store.findByMchOrderNo('undefined')).toBeUndefined();
      expect(await store.get('A')).toBeDefined();
    });

    it('points to the newest order when an mchOrderNo is reused, and survives the old one expiring', async () => {
      const clock = new TestPayoutClock(1_000_000);
      const store = new MemoryPayoutStore({ ttlMs: 1000, clock });
      await store.compareAndSet(rec('OLD', 1, { mchOrderNo: 'PE-1' }), 0);
      clock.advance(500);
      await store.compareAndSet(rec('NEW', 1, { mchOrderNo: 'PE-1' }), 0);
      expect((await store.findByMchOrderNo('PE-1'))?.orderNo).toBe('NEW');
      clock.advance(600); // OLD expired, NEW has 400 ms left
      expect(await store.get('OLD')).toBeUndefined();
      expect((await store.findByMchOrderNo('PE-1'))?.orderNo).toBe('NEW');
    });
  });

  describe('bound (maxEntries)', () => {
    it('never holds more than maxEntries and drops the least recently written', async () => {
      const store = new MemoryPayoutStore({ maxEntries: 3 });
      const sizes: number[] = [];
      for (const orderNo of ['A', 'B', 'C', 'D', 'E']) {
        await store.compareAndSet(rec(orderNo, 1), 0);
        sizes.push(store.size);
      }
      expect(sizes).toEqual([1, 2, 3, 3, 3]);
      expect(await store.get('A')).toBeUndefined();
      expect(await store.get('B')).toBeUndefined();
      expect((await Promise.all(['C', 'D', 'E'].map((o) => store.get(o)))).every(Boolean)).toBe(
        true,
      );
      expect(await store.findByMchOrderNo('M-A')).toBeUndefined();
      expect(await store.findByMchOrderNo('M-B')).toBeUndefined();
      expect((await store.findByMchOrderNo('M-E'))?.orderNo).toBe('E');
    });

    it('counts a rewrite as recent: the order written least recently goes first, not the one created first', async () => {
      const store = new MemoryPayoutStore({ maxEntries: 3 });
      await store.compareAndSet(rec('A', 1), 0);
      await store.compareAndSet(rec('B', 1), 0);
      await store.compareAndSet(rec('C', 1), 0);
      await store.compareAndSet(rec('A', 2), 1); // A is now the most recently written
      await store.compareAndSet(rec('D', 1), 0);
      expect(await store.get('B')).toBeUndefined();
      expect(await store.get('A')).toMatchObject({ revision: 2 });
      expect(await store.get('C')).toBeDefined();
      expect(await store.get('D')).toBeDefined();
      expect(store.size).toBe(3);
    });

    it('does not count reads as writes', async () => {
      const store = new MemoryPayoutStore({ maxEntries: 2 });
      await store.compareAndSet(rec('A', 1), 0);
      await store.compareAndSet(rec('B', 1), 0);
      await store.get('A');
      await store.findByMchOrderNo('M-A');
      await store.compareAndSet(rec('C', 1), 0);
      expect(await store.get('A')).toBeUndefined();
      expect(await store.get('B')).toBeDefined();
    });

    it('a failed compareAndSet does not touch the order', async () => {
      const store = new MemoryPayoutStore({ maxEntries: 2 });
      await store.compareAndSet(rec('A', 1), 0);
      await store.compareAndSet(rec('B', 1), 0);
      expect(await store.compareAndSet(rec('A', 2), 5)).toBe(false);
      await store.compareAndSet(rec('C', 1), 0);
      expect(await store.get('A')).toBeUndefined();
    });

    it('stays bounded under many writes, with maxEntries 1', async () => {
      const store = new MemoryPayoutStore({ maxEntries: 1 });
      for (let i = 0; i < 200; i++) {
        await store.compareAndSet(rec(`O${i}`, 1), 0);
        expect(store.size).toBeLessThanOrEqual(1);
      }
      expect((await store.get('O199'))?.orderNo).toBe('O199');
    });

    it('warns once when it drops live orders early', async () => {
      const store = new MemoryPayoutStore({ maxEntries: 1 });
      for (const orderNo of ['A', 'B', 'C']) await store.compareAndSet(rec(orderNo, 1), 0);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/maxEntries/);
    });
  });

  describe('ttl', () => {
    it('forgets an order ttlMs after its last write (test clock)', async () => {
      const clock = new TestPayoutClock(1_000_000);
      const store = new MemoryPayoutStore({ ttlMs: 1000, clock });
      await store.compareAndSet(rec('A', 1), 0);
      clock.advance(999);
      expect(await store.get('A')).toBeDefined();
      expect((await store.findByMchOrderNo('M-A'))?.orderNo).toBe('A');
      clock.advance(1);
      expect(await store.get('A')).toBeUndefined();
      expect(await store.findByMchOrderNo('M-A')).toBeUndefined();
    });

    it('extends the life of an order on each write', async () => {
      const clock = new TestPayoutClock(1_000_000);
      const store = new MemoryPayoutStore({ ttlMs: 1000, clock });
      await store.compareAndSet(rec('A', 1), 0);
      clock.advance(800);
      await store.compareAndSet(rec('A', 2), 1);
      clock.advance(800);
      expect(await store.get('A')).toMatchObject({ revision: 2 });
      clock.advance(200);
      expect(await store.get('A')).toBeUndefined();
    });

    it('treats an expired order as absent for compareAndSet', async () => {
      const clock = new TestPayoutClock(1_000_000);
      const store = new MemoryPayoutStore({ ttlMs: 1000, clock });
      await store.compareAndSet(rec('A', 5), 4);
      expect(await store.get('A')).toBeUndefined(); // expected 4 on a missing order: refused
      await store.compareAndSet(rec('A', 1), 0);
      clock.advance(1000);
      expect(await store.compareAndSet(rec('A', 2), 1)).toBe(false);
      expect(await store.compareAndSet(rec('A', 1, { status: 'SUCCESS' }), 0)).toBe(true);
      expect((await store.get('A'))?.status).toBe('SUCCESS');
    });

    it('drops expired orders when writing, without counting them against the bound', async () => {
      const clock = new TestPayoutClock(1_000_000);
      const store = new MemoryPayoutStore({
        ttlMs: 1000,
        maxEntries: 10,
        clock,
      });
      for (const orderNo of ['A', 'B', 'C']) await store.compareAndSet(rec(orderNo, 1), 0);
      clock.advance(1500);
      await store.compareAndSet(rec('D', 1), 0);
      expect(store.size).toBe(1);
      expect(warn).not.toHaveBeenCalled();
    });

    it('ignores a step of the wall clock: a day forward forgets nothing', async () => {
      const store = new MemoryPayoutStore({ ttlMs: 60_000 });
      await store.compareAndSet(rec('A', 1), 0);
      const wall = Date.now();
      jest.spyOn(Date, 'now').mockReturnValue(wall + 86_400_000);
      expect(await store.get('A')).toBeDefined();
      jest.restoreAllMocks();
    });

    it('expires with the real clock too', async () => {
      const store = new MemoryPayoutStore({ ttlMs: 100 });
      await store.compareAndSet(rec('A', 1), 0);
      expect(await store.get('A')).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await store.get('A')).toBeUndefined();
    });
  });
});

describe('MemoryPayoutStore write queue', () => {
  it('keeps eviction in write order across many rewrites of the same orders, and its queue bounded', async () => {
    const store = new MemoryPayoutStore({ maxEntries: 3 });
    const revisions = new Map<string, number>();
    const write = async (orderNo: string) => {
      const revision = revisions.get(orderNo) ?? 0;
      expect(
        await store.compareAndSet(
          {
            orderNo,
            processed: [],
            reversed: false,
            revision: revision + 1,
            updatedAt: 0,
          },
          revision,
        ),
      ).toBe(true);
      revisions.set(orderNo, revision + 1);
    };
    for (let i = 0; i < 5000; i++) await write(`A${i % 3}`); // 5000 writes, 3 orders: stale slots pile up
    await write('B'); // a 4th order: the least recently written goes
    const oldest = `A${(5000 - 3) % 3}`;
    expect(await store.get(oldest)).toBeUndefined();
    expect(store.size).toBe(3);
    const queue = (store as unknown as { orders: { queue: { value?: unknown }[] } }).orders.queue;
    expect(queue.length).toBeLessThan(4 * 3 + 1024 + 2);
    // Slots of superseded writes hold no record alive: only the stored orders' latest records remain.
    expect(queue.filter((slot) => slot.value !== undefined)).toHaveLength(store.size);
  });
});

describe('MemoryPayoutStore when full (money-safety rule 10)', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('never evicts an order whose delivery claim is live; it goes once the claim is released', async () => {
    const store = new MemoryPayoutStore({ maxEntries: 2 });
    const claimed = rec('CLAIMED', 1, {
      claim: { status: 'SUCCESS', token: 't', expiresAt: Date.now() + 60_000 },
    });
    await store.compareAndSet(claimed, 0);
    for (let i = 0; i < 10; i++) await store.compareAndSet(rec(`FILL${i}`, 1), 0);
    expect(await store.get('CLAIMED')).toEqual(claimed);
    expect(store.size).toBe(2);

    await store.compareAndSet({ ...claimed, claim: undefined, revision: 2 }, 1);
    for (let i = 10; i < 13; i++) await store.compareAndSet(rec(`FILL${i}`, 1), 0);
    expect(await store.get('CLAIMED')).toBeUndefined();
  });

  it('evicts an order whose claim has expired like any other', async () => {
    const store = new MemoryPayoutStore({ maxEntries: 1 });
    await store.compareAndSet(
      rec('STALE', 1, {
        // Expired on the store's clock, the one claims are judged on.
        claim: {
          status: 'SUCCESS',
          token: 't',
          expiresAt: store.clock.now() - 1,
        },
      }),
      0,
    );
    await store.compareAndSet(rec('NEW', 1), 0);
    expect(await store.get('STALE')).toBeUndefined();
    expect(await store.get('NEW')).toBeDefined();
  });

  it('keeps every entry when all of them are claimed, over its bound, rather than drop one', async () => {
    const store = new MemoryPayoutStore({ maxEntries: 2 });
    const claim = {
      status: 'SUCCESS' as const,
      token: 't',
      expiresAt: Date.now() + 60_000,
    };
    for (let i = 0; i < 4; i++) await store.compareAndSet(rec(`C${i}`, 1, { claim }), 0);
    expect(store.size).toBe(4);
    for (let i = 0; i < 4; i++) expect(await store.get(`C${i}`)).toBeDefined();
  });

  it('full of open orders, keeps all of them and goes back under its bound once they settle', async () => {
    const store = new MemoryPayoutStore({ maxEntries: 100 });
    // 1,000 orders still open (watched for a return): none may be dropped (rule 10).
    for (let i = 0; i < 1_000; i++) {
      await store.trackOpen(`M-O${i}`, 0, Date.now() + 60_000);
      await store.compareAndSet(rec(`O${i}`, 1), 0);
    }
    expect(store.size).toBe(1_000);
    for (let i = 0; i < 1_000; i += 111) expect(await store.get(`O${i}`)).toBeDefined();
    // They settle; later writes make room again.
    for (let i = 0; i < 1_000; i++) await store.untrackOpen(`M-O${i}`);
    for (let i = 0; i < 1_000; i++) await store.compareAndSet(rec(`N${i}`, 1), 0);
    expect(store.size).toBeLessThanOrEqual(100);
    expect(await store.get('N999')).toBeDefined();
  });

  it('never evicts a create attempt that is sending or unknown; settled ones go first', async () => {
    const store = new MemoryPayoutStore({ maxEntries: 2 });
    const attempt = (
      mchOrderNo: string,
      state: 'sending' | 'unknown' | 'created' | 'rejected',
    ) => ({
      mchOrderNo,
      merchantId: '1',
      currency: 'PEN' as const,
      amount: '10.00',
      state,
      resendAfter: Date.now() + 60_000,
      revision: 1,
      updatedAt: Date.now(),
    });
    await store.compareAndSetAttempt(attempt('UNKNOWN', 'unknown'), 0);
    await store.compareAndSetAttempt(attempt('SENDING', 'sending'), 0);
    for (let i = 0; i < 5; i++) await store.compareAndSetAttempt(attempt(`DONE${i}`, 'created'), 0);
    expect(await store.getAttempt('UNKNOWN')).toMatchObject({
      state: 'unknown',
    });
    expect(await store.getAttempt('SENDING')).toMatchObject({
      state: 'sending',
    });
    expect(await store.getAttempt('DONE0')).toBeUndefined();
  });

  it('compare-and-sets attempts by revision', async () => {
    const store = new MemoryPayoutStore();
    const first = {
      mchOrderNo: 'M',
      merchantId: '1',
      currency: 'PEN' as const,
      amount: '10.00',
      state: 'sending' as const,
      resendAfter: 0,
      revision: 1,
      updatedAt: 0,
    };
    expect(await store.compareAndSetAttempt(first, 0)).toBe(true);
    expect(await store.compareAndSetAttempt({ ...first, revision: 2 }, 0)).toBe(false);
    expect(await store.compareAndSetAttempt({ ...first, state: 'created', revision: 2 }, 1)).toBe(
      true,
    );
    expect(await store.getAttempt('M')).toMatchObject({
      state: 'created',
      revision: 2,
    });
  });
});

describe('MemoryPayoutStore', () => {
  describeStoreContract({
    fresh: () => new MemoryPayoutStore(),
    retention: {
      ttlMs: 1_000,
      fresh: async (ttlMs) => new MemoryPayoutStore({ ttlMs, clock: new TestPayoutClock() }),
      expire: async (store) => (store.clock as TestPayoutClock).advance(1_001),
    },
  });

  it('keeps its due heap bounded under constant rescheduling', async () => {
    const store = new MemoryPayoutStore();
    for (let i = 0; i < 100; i++) await store.trackOpen(`H${i}`, 0, 1_000_000);
    for (let round = 1; round <= 200; round++)
      for (let i = 0; i < 100; i++) await store.trackOpen(`H${i}`, 0, 1_000_000 + round);
    const heap = (store as unknown as { open: { heap: unknown[] } }).open.heap;
    expect(heap.length).toBeLessThanOrEqual(2 * 100 + 1024 + 1);
    expect(await store.takeDueOpen(2_000_000, 1_000, 1)).toHaveLength(100);
  });
});

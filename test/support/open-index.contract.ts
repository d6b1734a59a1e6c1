import type { PayoutStore } from '../../lib';

/**
 * The open-payout index contract every `PayoutStore` must meet (built-in reconciliation): run by the
 * memory and Redis store suites. `fresh()` gives a store with nothing tracked.
 */
export function describeOpenIndexContract(fresh: () => PayoutStore | Promise<PayoutStore>): void {
  describe('open-payout index', () => {
    let store: PayoutStore;
    beforeEach(async () => {
      store = await fresh();
    });

    it('takes only what is due, earliest first, and leases it', async () => {
      await store.trackOpen('C', 1_000, 300);
      await store.trackOpen('A', 1_001, 100);
      await store.trackOpen('B', 1_002, 200);
      await store.trackOpen('LATER', 1_003, 10_000);
      const taken = await store.takeDueOpen(500, 10, 1_000);
      expect(taken).toEqual([
        { mchOrderNo: 'A', openedAt: 1_001, dueAt: 100 },
        { mchOrderNo: 'B', openedAt: 1_002, dueAt: 200 },
        { mchOrderNo: 'C', openedAt: 1_000, dueAt: 300 },
      ]);
      // Leased until 1500: nobody takes them again before then, and they come back after.
      expect(await store.takeDueOpen(1_499, 10, 1_000)).toEqual([]);
      expect((await store.takeDueOpen(1_500, 10, 1_000)).map((e) => e.mchOrderNo)).toEqual([
        'A',
        'B',
        'C',
      ]);
    });

    it('takes at most limit entries', async () => {
      for (let i = 0; i < 5; i++) await store.trackOpen(`L${i}`, i, i);
      expect((await store.takeDueOpen(100, 2, 1_000)).map((e) => e.mchOrderNo)).toEqual([
        'L0',
        'L1',
      ]);
      expect((await store.takeDueOpen(100, 10, 1_000)).map((e) => e.mchOrderNo)).toEqual([
        'L2',
        'L3',
        'L4',
      ]);
    });

    it('reschedules, keeps the first openedAt, and forgets untracked entries', async () => {
      await store.trackOpen('R', 5, 50);
      await store.trackOpen('R', 99, 500);
      await store.trackOpen('U', 6, 60);
      await store.untrackOpen('U');
      await store.untrackOpen('NEVER');
      expect(await store.takeDueOpen(100, 10, 1_000)).toEqual([]);
      expect(await store.takeDueOpen(500, 10, 1_000)).toEqual([
        { mchOrderNo: 'R', openedAt: 5, dueAt: 500 },
      ]);
      expect(await store.listOpen(10)).toEqual([{ mchOrderNo: 'R', openedAt: 5, dueAt: 1_500 }]);
    });

    it('gives two concurrent takers disjoint entries', async () => {
      for (let i = 0; i < 50; i++) await store.trackOpen(`D${i}`, i, i);
      const [a, b] = await Promise.all([
        store.takeDueOpen(1_000, 30, 60_000),
        store.takeDueOpen(1_000, 30, 60_000),
      ]);
      const all = [...a, ...b].map((e) => e.mchOrderNo);
      expect(all).toHaveLength(50);
      expect(new Set(all).size).toBe(50);
    });

    it('lists oldest opened first, a page at a time', async () => {
      await store.trackOpen('P1', 10, 900);
      await store.trackOpen('P2', 20, 100);
      await store.trackOpen('P3', 30, 500);
      expect((await store.listOpen(2)).map((e) => e.mchOrderNo)).toEqual(['P1', 'P2']);
      expect(await store.listOpen(2, { openedAt: 20, mchOrderNo: 'P2' })).toEqual([
        { mchOrderNo: 'P3', openedAt: 30, dueAt: 500 },
      ]);
      expect(await store.listOpen(2, { openedAt: 30, mchOrderNo: 'P3' })).toEqual([]);
    });

    it('continues a listing whose cursor entry settled between pages, ties by mchOrderNo', async () => {
      await store.trackOpen('T-B', 10, 900);
      await store.trackOpen('T-A', 10, 900);
      await store.trackOpen('T-C', 10, 900);
      await store.trackOpen('T-D', 11, 900);
      const first = await store.listOpen(2);
      expect(first.map((e) => e.mchOrderNo)).toEqual(['T-A', 'T-B']);
      await store.untrackOpen('T-B');
      expect((await store.listOpen(10, first[1])).map((e) => e.mchOrderNo)).toEqual(['T-C', 'T-D']);
    });

    it('counts open payouts apart from those watched for a return, keeping the first watch end', async () => {
      await store.trackOpen('C1', 1, 100);
      await store.trackOpen('C2', 2, 100);
      await store.trackOpen('W1', 3, 100, { watchUntil: 5_000 });
      await store.trackOpen('W1', 3, 200, { watchUntil: 9_000 });
      expect(await store.countOpen?.()).toEqual({ open: 2, watching: 1 });
      expect((await store.listOpen(10)).find((e) => e.mchOrderNo === 'W1')).toEqual({
        mchOrderNo: 'W1',
        openedAt: 3,
        dueAt: 200,
        watchUntil: 5_000,
      });
      await store.untrackOpen('W1');
      expect(await store.countOpen?.()).toEqual({ open: 2, watching: 0 });
    });

    it('orders ties by the bytes of mchOrderNo, whatever the locale', async () => {
      await store.trackOpen('Tb', 10, 900);
      await store.trackOpen('TB', 10, 900);
      await store.trackOpen('T_', 10, 900);
      const [first] = await store.listOpen(1);
      expect(first.mchOrderNo).toBe('TB');
      await store.untrackOpen('TB');
      expect((await store.listOpen(10, first)).map((e) => e.mchOrderNo)).toEqual(['T_', 'Tb']);
    });

    it('keeps the merchant of an open payout, and the first one when a later call names none', async () => {
      await store.trackOpen('M1', 1, 100, { merchantId: '1002001' });
      await store.trackOpen('M1', 2, 200);
      expect(await store.takeDueOpen(300, 10, 1_000)).toEqual([
        { mchOrderNo: 'M1', openedAt: 1, dueAt: 200, merchantId: '1002001' },
      ]);
      await store.untrackOpen('M1');
      await store.trackOpen('M1', 5, 100);
      expect(await store.listOpen(10)).toEqual([{ mchOrderNo: 'M1', openedAt: 5, dueAt: 100 }]);
    });
  });
}

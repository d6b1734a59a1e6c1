import type { PayoutAttempt, PayoutRecord, PayoutStore } from '../../lib';
import { PayoutStoreError } from '../../lib';
import { describeOpenIndexContract } from './open-index.contract';

/** How a store under test is made, and what it can show beyond the interface. */
export interface StoreContractSubject {
  /** A store with nothing in it. */
  fresh(): PayoutStore | Promise<PayoutStore>;
  /**
   * For a store that drops finished rows by itself after `ttlMs`: a store keeping them `ttlMs`, and
   * a way to let that time pass and have the store drop what it may. (Redis expires keys on its own
   * and proves rule 10 by refusing, at startup, a ttlMs shorter than a claim or the sweep's horizon.)
   */
  retention?: {
    ttlMs: number;
    fresh(ttlMs: number): Promise<PayoutStore>;
    expire(store: PayoutStore): Promise<void>;
  };
  /** For a store whose clock is its server's: that server's time now, in epoch ms. */
  serverTime?(store: PayoutStore): Promise<number>;
}

let sequence = 0;
const unique = (label: string) => `${label}-${process.pid}-${++sequence}`;

/** A record of a fresh order at `revision`, unless `extra` names its `orderNo`. */
export function record(revision: number, extra: Partial<PayoutRecord> = {}): PayoutRecord {
  const orderNo = extra.orderNo ?? unique('PAYOUT');
  return {
    orderNo,
    mchOrderNo: `M-${orderNo}`,
    status: 'PROCESSING',
    processed: ['PROCESSING'],
    reversed: false,
    revision,
    updatedAt: 1_700_000_000_000 + revision,
    ...extra,
  };
}

function attempt(revision: number, extra: Partial<PayoutAttempt> = {}): PayoutAttempt {
  return {
    mchOrderNo: extra.mchOrderNo ?? unique('MCH'),
    merchantId: '1002001',
    currency: 'PEN',
    amount: '150.50',
    state: 'sending',
    resendAfter: 1_700_000_120_000,
    sentAt: 1_700_000_000_000,
    revision,
    updatedAt: 1_700_000_000_000 + revision,
    ...extra,
  };
}

/** The store's time, read on its own clock (synced first when it follows a server). */
async function storeNow(store: PayoutStore): Promise<number> {
  await store.clock?.sync?.();
  return store.clock?.now() ?? Date.now();
}

/**
 * The `PayoutStore` contract, written once and run against every store (memory, Redis,
 * PostgreSQL): compare-and-set of records and attempts, the mchOrderNo index, the open-payout index
 * with its leases and pages, and, where the store drops rows by itself, money-safety rule 10.
 */
export function describeStoreContract(subject: StoreContractSubject): void {
  describe('PayoutStore contract', () => {
    let store: PayoutStore;
    beforeEach(async () => {
      store = await subject.fresh();
    });

    describe('records', () => {
      it('creates only when absent (revision 0), then writes only over the expected revision', async () => {
        const first = record(1);
        expect(await store.get(first.orderNo)).toBeUndefined();
        expect(await store.compareAndSet(first, 0)).toBe(true);
        expect(await store.compareAndSet(record(1, { orderNo: first.orderNo }), 0)).toBe(false);
        expect(await store.compareAndSet(record(2, { orderNo: 'NEVER-WRITTEN' }), 1)).toBe(false);
        expect(await store.get('NEVER-WRITTEN')).toBeUndefined();
        const second = record(2, {
          orderNo: first.orderNo,
          status: 'SUCCESS',
          processed: ['PROCESSING', 'SUCCESS'],
        });
        expect(await store.compareAndSet(second, 1)).toBe(true);
        // A stale writer (it read revision 1) and a writer from the future both write nothing.
        expect(await store.compareAndSet(record(2, { orderNo: first.orderNo }), 1)).toBe(false);
        expect(await store.compareAndSet(record(9, { orderNo: first.orderNo }), 8)).toBe(false);
        expect(await store.get(first.orderNo)).toEqual(second);
      });

      it('keeps every field, a claim, anomalies and a decimal amount included', async () => {
        const full = record(1, {
          merchantId: '1002002',
          currency: 'MXN',
          amount: '1500',
          status: 'SUCCESS',
          processed: ['PROCESSING', 'SUCCESS'],
          anomalies: ['merchant:SUCCESS'],
          reversed: true,
          claim: { status: 'FAIL', token: 'token-1', expiresAt: 1_700_000_060_000 },
        });
        expect(await store.compareAndSet(full, 0)).toBe(true);
        const read = await store.get(full.orderNo);
        expect(read).toEqual(full);
        expect(read?.amount).toBe('1500');
      });

      it('lets exactly one of 50 concurrent creators win, and then one of 50 concurrent updaters', async () => {
        const orderNo = unique('RACE');
        const created = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.compareAndSet(record(1, { orderNo, updatedAt: i }), 0),
          ),
        );
        expect(created.filter(Boolean)).toHaveLength(1);
        expect((await store.get(orderNo))?.updatedAt).toBe(created.indexOf(true));
        const updated = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.compareAndSet(record(2, { orderNo, updatedAt: 100 + i }), 1),
          ),
        );
        expect(updated.filter(Boolean)).toHaveLength(1);
        expect(await store.get(orderNo)).toMatchObject({
          revision: 2,
          updatedAt: 100 + updated.indexOf(true),
        });
      });

      it('finds the latest record of an mchOrderNo, following every write', async () => {
        const first = record(1);
        await store.compareAndSet(first, 0);
        const latest = record(2, {
          orderNo: first.orderNo,
          status: 'FAIL',
          processed: ['PROCESSING', 'FAIL'],
        });
        await store.compareAndSet(latest, 1);
        expect(await store.findByMchOrderNo(first.mchOrderNo!)).toEqual(latest);
        expect(await store.findByMchOrderNo('NO-SUCH-ORDER')).toBeUndefined();
      });

      it('finds the order written last when two orders share an mchOrderNo', async () => {
        const mchOrderNo = unique('SHARED');
        const a = record(1, { mchOrderNo });
        const b = record(1, { mchOrderNo });
        await store.compareAndSet(a, 0);
        await store.compareAndSet(b, 0);
        expect((await store.findByMchOrderNo(mchOrderNo))?.orderNo).toBe(b.orderNo);
        await store.compareAndSet(record(2, { orderNo: a.orderNo, mchOrderNo }), 1);
        expect((await store.findByMchOrderNo(mchOrderNo))?.orderNo).toBe(a.orderNo);
      });

      it('changes the open index with a write, and only when the write succeeds', async () => {
        const tracked = record(1);
        await store.trackOpen(tracked.mchOrderNo!, 5, 50, { merchantId: '1002001' });
        expect(await store.compareAndSet(tracked, 0, { untrack: tracked.mchOrderNo! })).toBe(true);
        expect(await store.listOpen(10)).toEqual([]);
        // A write refused (stale revision) changes nothing in the index either.
        await store.trackOpen(tracked.mchOrderNo!, 6, 60);
        expect(
          await store.compareAndSet(record(2, { orderNo: tracked.orderNo }), 7, {
            untrack: tracked.mchOrderNo!,
          }),
        ).toBe(false);
        expect((await store.listOpen(10)).map((e) => e.mchOrderNo)).toEqual([tracked.mchOrderNo]);
        // A Mexican success turns into a return watch: trackOpen's rules, first openedAt kept.
        const watched = record(2, { orderNo: tracked.orderNo, status: 'SUCCESS' });
        const open = {
          track: tracked.mchOrderNo!,
          openedAt: 99,
          dueAt: 700,
          details: { watchUntil: 9_000 },
        };
        expect(await store.compareAndSet(watched, 1, open)).toBe(true);
        expect(await store.listOpen(10)).toEqual([
          { mchOrderNo: tracked.mchOrderNo, openedAt: 6, dueAt: 700, watchUntil: 9_000 },
        ]);
        const fresh = record(1);
        expect(
          await store.compareAndSet(fresh, 0, { ...open, track: fresh.mchOrderNo!, openedAt: 3 }),
        ).toBe(true);
        expect(await store.countOpen?.()).toEqual({ open: 0, watching: 2 });
        expect(await store.get(fresh.orderNo)).toEqual(fresh);
      });

      it('reads what a report is judged on in one step: record, attempt and the order of its mchOrderNo', async () => {
        const mchOrderNo = unique('CTX');
        const a = attempt(1, { mchOrderNo, state: 'created', orderNo: 'CTX-ORDER' });
        const r = record(1, { orderNo: 'CTX-ORDER', mchOrderNo });
        expect(await store.getReportContext?.('CTX-ORDER', mchOrderNo)).toEqual({
          record: undefined,
          attempt: undefined,
          sibling: undefined,
        });
        await store.compareAndSetAttempt(a, 0);
        await store.compareAndSet(r, 0);
        expect(await store.getReportContext?.('CTX-ORDER', mchOrderNo)).toEqual({
          record: r,
          attempt: a,
          sibling: r,
        });
        expect(await store.getReportContext?.('OTHER-ORDER', mchOrderNo)).toEqual({
          record: undefined,
          attempt: a,
          sibling: r,
        });
      });

      it('writes a record without mchOrderNo, found by orderNo only', async () => {
        const bare = record(1, { mchOrderNo: undefined });
        expect(await store.compareAndSet(bare, 0)).toBe(true);
        expect(await store.get(bare.orderNo)).toEqual(bare);
        expect(await store.findByMchOrderNo(`M-${bare.orderNo}`)).toBeUndefined();
      });
    });

    describe('attempts', () => {
      it('creates only when absent, then writes only over the expected revision', async () => {
        const sending = attempt(1, { leaseUntil: 1_700_000_030_000, leaseToken: 'lease-1' });
        expect(await store.getAttempt(sending.mchOrderNo)).toBeUndefined();
        expect(await store.compareAndSetAttempt(sending, 0)).toBe(true);
        expect(await store.compareAndSetAttempt({ ...sending, state: 'unknown' }, 0)).toBe(false);
        const rejected = attempt(2, {
          mchOrderNo: sending.mchOrderNo,
          state: 'rejected',
          orderNo: undefined,
          notice: { state: 'pending', claim: { token: 'sweep-1', expiresAt: 1_700_000_090_000 } },
        });
        expect(await store.compareAndSetAttempt(rejected, 1)).toBe(true);
        expect(await store.compareAndSetAttempt({ ...rejected, revision: 3 }, 1)).toBe(false);
        expect(await store.getAttempt(sending.mchOrderNo)).toEqual(rejected);
        expect(await store.getAttempt('NO-SUCH-ATTEMPT')).toBeUndefined();
      });

      it('lets exactly one of 50 concurrent writers of one revision win (rule 13 rests on it)', async () => {
        const base = attempt(1);
        await store.compareAndSetAttempt(base, 0);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.compareAndSetAttempt(
              {
                ...base,
                state: 'rejected',
                notice: { state: 'pending' },
                revision: 2,
                updatedAt: i,
              },
              1,
            ),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.getAttempt(base.mchOrderNo)).toMatchObject({
          revision: 2,
          updatedAt: results.indexOf(true),
        });
      });

      it('keeps attempts and records apart: an mchOrderNo names one of each', async () => {
        const a = attempt(1, { state: 'created', orderNo: 'PAYOUT-OF-ATTEMPT' });
        await store.compareAndSetAttempt(a, 0);
        expect(await store.findByMchOrderNo(a.mchOrderNo)).toBeUndefined();
        const r = record(1, { orderNo: 'PAYOUT-OF-ATTEMPT', mchOrderNo: a.mchOrderNo });
        expect(await store.compareAndSet(r, 0)).toBe(true);
        expect(await store.getAttempt(a.mchOrderNo)).toEqual(a);
      });
    });

    describe('open index beyond the basics', () => {
      it('returns each entry taken with the due time it had, its merchant and its watch', async () => {
        await store.trackOpen('W-1', 10, 100, { merchantId: '1002002', watchUntil: 9_000 });
        await store.trackOpen('W-2', 11, 100);
        expect(await store.takeDueOpen(150, 10, 500)).toEqual([
          { mchOrderNo: 'W-1', openedAt: 10, dueAt: 100, merchantId: '1002002', watchUntil: 9_000 },
          { mchOrderNo: 'W-2', openedAt: 11, dueAt: 100 },
        ]);
        expect((await store.listOpen(10)).map((e) => e.dueAt)).toEqual([650, 650]);
      });

      it('orders by number, not by digits: 9 before 10', async () => {
        await store.trackOpen('N-TEN', 10, 40);
        await store.trackOpen('N-NINE', 9, 5);
        expect((await store.listOpen(10)).map((e) => e.mchOrderNo)).toEqual(['N-NINE', 'N-TEN']);
        expect((await store.listOpen(10, { openedAt: 9, mchOrderNo: 'N-NINE' }))[0]).toMatchObject({
          mchOrderNo: 'N-TEN',
        });
        expect((await store.takeDueOpen(100, 10, 1)).map((e) => e.dueAt)).toEqual([5, 40]);
      });

      it('never hands one entry to two of five concurrent takers', async () => {
        for (let i = 0; i < 60; i++) await store.trackOpen(`K-${String(i).padStart(2, '0')}`, i, i);
        const batches = await Promise.all(
          Array.from({ length: 5 }, () => store.takeDueOpen(1_000, 15, 60_000)),
        );
        const taken = batches.flat().map((e) => e.mchOrderNo);
        expect(taken).toHaveLength(60);
        expect(new Set(taken).size).toBe(60);
        for (const batch of batches)
          expect(batch.map((e) => e.dueAt)).toEqual(
            [...batch.map((e) => e.dueAt)].sort((a, b) => a - b),
          );
        expect(await store.takeDueOpen(60_999, 100, 1)).toEqual([]);
      });

      it('pages through every entry exactly once while entries settle between pages', async () => {
        const names = Array.from({ length: 25 }, (_, i) => `PG-${String(i).padStart(2, '0')}`);
        // Five per millisecond, so pages end inside runs of ties.
        for (const [i, name] of names.entries()) await store.trackOpen(name, Math.floor(i / 5), 0);
        const seen: string[] = [];
        let page = await store.listOpen(4);
        while (page.length > 0) {
          seen.push(...page.map((e) => e.mchOrderNo));
          await store.untrackOpen(page[page.length - 1].mchOrderNo);
          page = await store.listOpen(4, page[page.length - 1]);
        }
        expect(seen).toEqual(names);
        expect(await store.countOpen?.()).toEqual({ open: 25 - Math.ceil(25 / 4), watching: 0 });
      });
    });

    if (subject.retention) {
      const { ttlMs, fresh, expire } = subject.retention;
      it('drops finished rows after the retention, never a live claim, an open payout or an unsettled create (rule 10)', async () => {
        const aging = await fresh(ttlMs);
        const now = await storeNow(aging);
        const rows = {
          finished: record(2, { status: 'SUCCESS', processed: ['SUCCESS'] }),
          claimed: record(1, {
            claim: { status: 'SUCCESS', token: 't', expiresAt: now + 600_000 },
          }),
          claimEnded: record(1, { claim: { status: 'SUCCESS', token: 't', expiresAt: now - 1 } }),
          open: record(1, { mchOrderNo: unique('OPEN') }),
        };
        for (const row of Object.values(rows)) expect(await aging.compareAndSet(row, 0)).toBe(true);
        const attempts = {
          created: attempt(1, { state: 'created', orderNo: 'P-1' }),
          emitted: attempt(1, { state: 'rejected', notice: { state: 'emitted' } }),
          sending: attempt(1, { state: 'sending' }),
          unknown: attempt(1, { state: 'unknown' }),
          pending: attempt(1, { state: 'rejected', notice: { state: 'pending' } }),
          open: attempt(1, { state: 'created', mchOrderNo: rows.open.mchOrderNo }),
        };
        for (const a of Object.values(attempts))
          expect(await aging.compareAndSetAttempt(a, 0)).toBe(true);
        await aging.trackOpen(rows.open.mchOrderNo!, now, now + 600_000);

        await expire(aging);
        expect(await aging.get(rows.finished.orderNo)).toBeUndefined();
        expect(await aging.get(rows.claimEnded.orderNo)).toBeUndefined();
        expect(await aging.get(rows.claimed.orderNo)).toEqual(rows.claimed);
        expect(await aging.get(rows.open.orderNo)).toEqual(rows.open);
        expect(await aging.findByMchOrderNo(rows.open.mchOrderNo!)).toEqual(rows.open);
        expect(await aging.getAttempt(attempts.created.mchOrderNo)).toBeUndefined();
        expect(await aging.getAttempt(attempts.emitted.mchOrderNo)).toBeUndefined();
        for (const kept of [attempts.sending, attempts.unknown, attempts.pending, attempts.open])
          expect(await aging.getAttempt(kept.mchOrderNo)).toEqual(kept);

        // Settled and no longer watched: now it may go.
        await aging.untrackOpen(rows.open.mchOrderNo!);
        await expire(aging);
        expect(await aging.get(rows.open.orderNo)).toBeUndefined();
        expect(await aging.getAttempt(attempts.open.mchOrderNo)).toBeUndefined();
        // Forgotten means new: the next write starts from revision 0 again.
        expect(await aging.compareAndSet(rows.finished, 0)).toBe(true);
      });
    }

    if (subject.serverTime) {
      const serverTime = subject.serverTime;
      it("decides on the server's clock, read at sync, whatever this machine's wall clock says (rule 11)", async () => {
        const synced = await subject.fresh();
        expect(() => synced.clock!.now()).toThrow(PayoutStoreError);
        const wall = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
        try {
          await synced.clock!.sync!();
          const before = await serverTime(synced);
          const now = synced.clock!.now();
          const after = await serverTime(synced);
          expect(now).toBeGreaterThanOrEqual(before - 50);
          expect(now).toBeLessThanOrEqual(after + 50);
        } finally {
          wall.mockRestore();
        }
      });
    }
  });

  describeOpenIndexContract(() => subject.fresh());
}

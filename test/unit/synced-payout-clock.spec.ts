import { performance } from 'node:perf_hooks';
import { PayoutStoreError, SyncedPayoutClock } from '../../lib';

/**
 * `SyncedPayoutClock` over a source the test drives: `elapsed` is time passing (it moves this
 * process's monotonic clock and the source alike), `step` a step of the source's clock alone, and
 * `answerAfter` how long the source takes to answer (its round trip).
 */
describe('SyncedPayoutClock', () => {
  let elapsed: number;
  let step: number;
  let answerAfter: number;
  let reads: number;
  const epoch = Date.UTC(2026, 11, 5, 12);

  beforeEach(() => {
    elapsed = 0;
    step = 0;
    answerAfter = 0;
    reads = 0;
    jest.spyOn(performance, 'now').mockImplementation(() => elapsed);
  });
  afterEach(() => jest.restoreAllMocks());

  /** A clock whose source answers at the end of its round trip, as a store under load does. */
  function clock(): SyncedPayoutClock {
    return new SyncedPayoutClock(async () => {
      reads++;
      await Promise.resolve();
      elapsed += answerAfter;
      return epoch + elapsed + step;
    });
  }

  it('refuses to tell the time before its first reading', () => {
    expect(() => clock().now()).toThrow(PayoutStoreError);
  });

  it('counts from the source between readings, and sees no step in steady readings', async () => {
    const c = clock();
    await c.sync();
    elapsed += 30_000;
    await c.sync();
    expect(c.now()).toBe(epoch + 30_000);
    expect(c.stepMargin()).toBe(0);
  });

  it.each([
    ['forward', 10_000],
    ['backward', -10_000],
  ])(
    'a step %s moves every judgment later by its size, until the replicas read again and the longest hold passed',
    async (_, size) => {
      const c = clock();
      c.holdsLastUpTo(60_000);
      await c.sync();
      step = size;
      await c.sync();
      expect(c.stepMargin()).toBeGreaterThanOrEqual(Math.abs(size));
      elapsed += 35_000 + 60_000 - 1;
      expect(c.stepMargin()).toBeGreaterThanOrEqual(Math.abs(size));
      // A window another replica wrote for longer than this one's options still counts it.
      elapsed += 2;
      expect(c.stepMargin()).toBe(0);
      expect(c.stepMargin(120_000)).toBeGreaterThanOrEqual(Math.abs(size));
    },
  );

  it('sees a step made of moves under a second each, read in between', async () => {
    const c = clock();
    await c.sync();
    for (let i = 0; i < 5; i++) {
      step += 600;
      elapsed += 200;
      await c.sync();
    }
    expect(c.stepMargin()).toBeGreaterThanOrEqual(2_400);
  });

  it('takes a slow answer for no step, and keeps the surer reading', async () => {
    const c = clock();
    await c.sync();
    const before = c.now();
    answerAfter = 3_000; // the source answers at the end of a 3 s round trip
    await c.sync();
    expect(c.stepMargin()).toBe(0);
    expect(c.now() - before).toBe(3_000);
  });

  it('reads the source once for calls made while a reading is under way', async () => {
    const c = clock();
    await Promise.all([c.sync(), c.refresh(), c.freshStepMargin()]);
    expect(reads).toBe(1);
  });

  it('judges a claim that ran out as still held while a step larger than its lateness counts, and run out beyond it', async () => {
    const c = clock();
    c.holdsLastUpTo(60_000);
    await c.sync();
    const expiresAt = c.now() + 1_000;
    step = 10_000;
    elapsed += 500; // 0.5 s left of its second; the source's clock now says 9.5 s past it
    expect(await c.stillHeld(expiresAt, 1_000)).toBe(true);
    elapsed += 600; // its second is over
    expect(await c.stillHeld(expiresAt, 1_000)).toBe(false);
  });

  it('fails a fresh judgment with PayoutStoreError when the source cannot be read', async () => {
    let failing = false;
    const c = new SyncedPayoutClock(async () => {
      if (failing) throw new Error('no answer');
      return epoch + elapsed;
    });
    await c.sync();
    failing = true;
    elapsed += 5_000;
    await expect(c.stillHeld(epoch + 1_000)).rejects.toBeInstanceOf(PayoutStoreError);
  });
});

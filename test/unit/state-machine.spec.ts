import type { PayoutStatus } from '../../lib/payout.types';
import { decidePayoutTransition } from '../../lib/outcome/payout-state-machine';
import type { PayoutRecord } from '../../lib/store/payout-store.interface';

const MX = true; // Mexico: SPEI returns allowed
const PE = false; // Peru: no reversal

const IN_PROGRESS: PayoutStatus[] = ['PROCESSING', 'WAITING', 'PAYING'];
const FINAL: PayoutStatus[] = ['SUCCESS', 'FAIL', 'CANCEL'];
const ALL: PayoutStatus[] = [...IN_PROGRESS, ...FINAL];

/** A record as the module writes it after handling `processed` in that order. */
function record(processed: PayoutStatus[], overrides: Partial<PayoutRecord> = {}): PayoutRecord {
  const final = processed.filter((s) => FINAL.includes(s));
  const status =
    overrides.status ??
    (final.length > 0 ? final[final.length - 1] : processed[processed.length - 1]);
  return {
    orderNo: 'PAYOUT8600000000000000001',
    mchOrderNo: 'MX-2025-000045',
    merchantId: '1002001',
    status,
    processed,
    reversed: false,
    revision: processed.length,
    updatedAt: 0,
    ...overrides,
  };
}

describe('decidePayoutTransition', () => {
  describe('unknown order', () => {
    it.each(IN_PROGRESS)('%s is progress', (status) => {
      expect(decidePayoutTransition(undefined, status, MX)).toEqual({
        kind: 'progress',
      });
      expect(decidePayoutTransition(undefined, status, PE)).toEqual({
        kind: 'progress',
      });
    });

    it('SUCCESS emits succeeded', () => {
      expect(decidePayoutTransition(undefined, 'SUCCESS', PE)).toEqual({
        kind: 'outcome',
        event: 'succeeded',
        reversed: false,
      });
      expect(decidePayoutTransition(undefined, 'SUCCESS', MX)).toEqual({
        kind: 'outcome',
        event: 'succeeded',
        reversed: false,
      });
    });

    it.each(['FAIL', 'CANCEL'] as PayoutStatus[])('%s emits failed (not reversed)', (status) => {
      expect(decidePayoutTransition(undefined, status, PE)).toEqual({
        kind: 'outcome',
        event: 'failed',
        reversed: false,
      });
      expect(decidePayoutTransition(undefined, status, MX)).toEqual({
        kind: 'outcome',
        event: 'failed',
        reversed: false,
      });
    });
  });

  describe('in progress', () => {
    it.each(
      IN_PROGRESS.flatMap((from) =>
        IN_PROGRESS.filter((to) => to !== from).map((to) => [from, to]),
      ),
    )('%s -> %s is progress', (from, to) => {
      expect(decidePayoutTransition(record([from]), to, MX)).toEqual({
        kind: 'progress',
      });
    });

    it.each(IN_PROGRESS.flatMap((from) => FINAL.map((to) => [from, to])))(
      '%s -> %s is the outcome',
      (from, to) => {
        const decision = decidePayoutTransition(record([from]), to, PE);
        expect(decision).toEqual({
          kind: 'outcome',
          event: to === 'SUCCESS' ? 'succeeded' : 'failed',
          reversed: false,
        });
      },
    );

    it('an order known only by a record without status behaves like a new one', () => {
      const bare = record([], { status: undefined });
      expect(decidePayoutTransition(bare, 'PAYING', PE)).toEqual({
        kind: 'progress',
      });
      expect(decidePayoutTransition(bare, 'SUCCESS', PE)).toEqual({
        kind: 'outcome',
        event: 'succeeded',
        reversed: false,
      });
    });
  });

  describe('duplicates (same orderNo and orderStatus already handled)', () => {
    it.each(ALL)('%s again is a duplicate', (status) => {
      const seen = FINAL.includes(status) ? record(['PROCESSING', status]) : record([status]);
      expect(decidePayoutTransition(seen, status, MX)).toEqual({
        kind: 'duplicate',
      });
      expect(decidePayoutTransition(seen, status, PE)).toEqual({
        kind: 'duplicate',
      });
    });

    it('an earlier in-progress status repeated after the final one is a duplicate, not stale', () => {
      expect(decidePayoutTransition(record(['PROCESSING', 'SUCCESS']), 'PROCESSING', PE)).toEqual({
        kind: 'duplicate',
      });
    });

    it('the FAIL of a Mexican reversal delivered again is a duplicate', () => {
      const reversed = record(['PROCESSING', 'SUCCESS', 'FAIL'], {
        status: 'FAIL',
        reversed: true,
      });
      expect(decidePayoutTransition(reversed, 'FAIL', MX)).toEqual({
        kind: 'duplicate',
      });
      expect(decidePayoutTransition(reversed, 'SUCCESS', MX)).toEqual({
        kind: 'duplicate',
      });
    });
  });

  describe('stale: in progress after final', () => {
    it.each(FINAL.flatMap((from) => IN_PROGRESS.map((to) => [from, to])))(
      '%s then %s is ignored',
      (from, to) => {
        const done = record([from]);
        expect(decidePayoutTransition(done, to, PE)).toEqual({
          kind: 'stale',
        });
        expect(decidePayoutTransition(done, to, MX)).toEqual({
          kind: 'stale',
        });
      },
    );

    it('in progress after a Mexican reversal is stale', () => {
      const reversed = record(['SUCCESS', 'FAIL'], {
        status: 'FAIL',
        reversed: true,
      });
      expect(decidePayoutTransition(reversed, 'PAYING', MX)).toEqual({
        kind: 'stale',
      });
    });
  });

  describe('Mexico: one SUCCESS -> FAIL reversal (SPEI return)', () => {
    it('emits failed with reversed: true', () => {
      const paid = record(['PROCESSING', 'SUCCESS']);
      expect(decidePayoutTransition(paid, 'FAIL', MX)).toEqual({
        kind: 'outcome',
        event: 'failed',
        reversed: true,
      });
    });

    it('only once: a record already reversed turns a further FAIL into an anomaly', () => {
      // A store that lost the FAIL from `processed` but kept reversed: true.
      const alreadyReversed = record(['SUCCESS'], {
        status: 'SUCCESS',
        reversed: true,
      });
      expect(decidePayoutTransition(alreadyReversed, 'FAIL', MX)).toEqual({
        kind: 'anomaly',
        from: 'SUCCESS',
      });
    });

    it('SUCCESS -> CANCEL is an anomaly even in Mexico', () => {
      expect(decidePayoutTransition(record(['SUCCESS']), 'CANCEL', MX)).toEqual({
        kind: 'anomaly',
        from: 'SUCCESS',
      });
    });
  });

  describe('anomalies: any other change out of a final status emits nothing', () => {
    it('Peru SUCCESS -> FAIL', () => {
      expect(decidePayoutTransition(record(['PROCESSING', 'SUCCESS']), 'FAIL', PE)).toEqual({
        kind: 'anomaly',
        from: 'SUCCESS',
      });
    });

    it('Peru SUCCESS -> CANCEL', () => {
      expect(decidePayoutTransition(record(['SUCCESS']), 'CANCEL', PE)).toEqual({
        kind: 'anomaly',
        from: 'SUCCESS',
      });
    });

    it.each([PE, MX])('FAIL -> SUCCESS (reversal allowed: %p)', (allows) => {
      expect(decidePayoutTransition(record(['PROCESSING', 'FAIL']), 'SUCCESS', allows)).toEqual({
        kind: 'anomaly',
        from: 'FAIL',
      });
    });

    it.each([PE, MX])('FAIL -> CANCEL (reversal allowed: %p)', (allows) => {
      expect(decidePayoutTransition(record(['FAIL']), 'CANCEL', allows)).toEqual({
        kind: 'anomaly',
        from: 'FAIL',
      });
    });

    it.each(['SUCCESS', 'FAIL'] as PayoutStatus[])('CANCEL -> %s, in both markets', (to) => {
      expect(decidePayoutTransition(record(['CANCEL']), to, PE)).toEqual({
        kind: 'anomaly',
        from: 'CANCEL',
      });
      expect(decidePayoutTransition(record(['CANCEL']), to, MX)).toEqual({
        kind: 'anomaly',
        from: 'CANCEL',
      });
    });

    it('CANCEL -> anything in progress is stale (ignored), never an outcome', () => {
      for (const to of IN_PROGRESS)
        expect(decidePayoutTransition(record(['CANCEL']), to, MX)).toEqual({
          kind: 'stale',
        });
    });

    it('after a Mexican reversal, a new SUCCESS never emits', () => {
      const reversed = record(['SUCCESS', 'FAIL'], {
        status: 'FAIL',
        reversed: true,
        processed: ['FAIL'],
      });
      expect(decidePayoutTransition(reversed, 'SUCCESS', MX)).toEqual({
        kind: 'anomaly',
        from: 'FAIL',
      });
    });
  });

  it('never emits twice for any sequence of reports (exhaustive over 3-step sequences)', () => {
    // Replays every sequence as the module would apply it, and checks the design's rules.
    const problems: string[] = [];
    for (const allows of [PE, MX]) {
      for (const a of ALL) {
        for (const b of ALL) {
          for (const c of ALL) {
            let current: PayoutRecord | undefined;
            const emitted: string[] = [];
            for (const status of [a, b, c]) {
              const decision = decidePayoutTransition(current, status, allows);
              const processed = [
                ...(current?.processed ?? []),
                ...(decision.kind === 'duplicate' ? [] : [status]),
              ];
              if (decision.kind === 'outcome') {
                emitted.push(`${decision.event}${decision.reversed ? ':reversed' : ''}`);
                current = {
                  ...(current ?? record([])),
                  status,
                  processed,
                  reversed: (current?.reversed ?? false) || decision.reversed,
                };
              } else if (decision.kind === 'progress') {
                current = { ...(current ?? record([])), status, processed };
              } else if (decision.kind !== 'duplicate') {
                current = { ...current!, processed };
              }
            }
            const seq = `${allows ? 'MX' : 'PE'} ${a},${b},${c} -> ${emitted.join(',')}`;
            const plain = emitted.filter((e) => !e.endsWith(':reversed'));
            const reversals = emitted.filter((e) => e.endsWith(':reversed'));
            if (plain.length > 1) problems.push(`two outcomes: ${seq}`);
            if (reversals.length > 1) problems.push(`two reversals: ${seq}`);
            if (reversals.length > 0 && (!allows || plain[0] !== 'succeeded'))
              problems.push(`bad reversal: ${seq}`);
            if (FINAL.some((s) => [a, b, c].includes(s)) && plain.length === 0)
              problems.push(`final not emitted: ${seq}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

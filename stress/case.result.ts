import type { CountingListener } from './counting.listener';
import type { SignedNotification } from './notifications.fixture';

/** One row of the final table. */
export interface CaseRow {
  case: string;
  adapter: string;
  store: string;
  /** The figures the verdict rests on, short. */
  figures: string;
  verdict: 'PASS' | 'FAIL';
  /** What failed, one sentence each (empty on PASS). */
  failures: string[];
  /** Seconds the case took. */
  seconds: number;
  /** Every figure, for results.json. */
  details: Record<string, unknown>;
}

/** Collects the checks of one case and turns them into a row. */
export class CaseChecks {
  private readonly failures: string[] = [];
  private readonly started = Date.now();
  readonly details: Record<string, unknown> = {};

  constructor(
    readonly name: string,
    readonly adapter: string,
    readonly store: string,
  ) {}

  /** Records a failure saying `why` unless `ok`. */
  expect(ok: boolean, why: string): void {
    if (!ok) this.failures.push(why);
  }

  /** The case could not be carried out (a thrown error, a timeout). */
  broke(error: unknown): void {
    this.failures.push(
      `the case did not complete: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  /** The row, with `figures` as shown in the table. */
  row(figures: string): CaseRow {
    return {
      case: this.name,
      adapter: this.adapter,
      store: this.store,
      figures,
      verdict: this.failures.length === 0 ? 'PASS' : 'FAIL',
      failures: [...this.failures],
      seconds: Math.round((Date.now() - this.started) / 100) / 10,
      details: this.details,
    };
  }
}

/** How the events of a set of notifications came out. */
export interface EventTally {
  /** Notifications with exactly one event, the expected one. */
  once: number;
  /** Notifications with more than one event (an outcome emitted twice). */
  doubled: number;
  /** Notifications with no event. */
  lost: number;
  /** Notifications whose single event was not the expected one. */
  wrong: number;
  /** Up to three orderNos of each problem, for the failure message. */
  examples: string[];
}

/** Counts, for each notification, the events the listener received for its order. */
export function tallyEvents(
  listener: Pick<CountingListener, 'events'>,
  notifications: readonly SignedNotification[],
): EventTally {
  const tally: EventTally = {
    once: 0,
    doubled: 0,
    lost: 0,
    wrong: 0,
    examples: [],
  };
  const example = (text: string) => {
    if (tally.examples.length < 3) tally.examples.push(text);
  };
  for (const n of notifications) {
    const events = listener.events.get(n.orderNo) ?? [];
    if (events.length === 0) {
      tally.lost++;
      example(`${n.orderNo}: no event`);
    } else if (events.length > 1) {
      tally.doubled++;
      example(`${n.orderNo}: ${events.join(', ')}`);
    } else if (events[0] !== n.expected) {
      tally.wrong++;
      example(`${n.orderNo}: ${events[0]} instead of ${n.expected}`);
    } else {
      tally.once++;
    }
  }
  return tally;
}

/** Adds the checks "exactly one event each" to `checks`. */
export function expectOneEventEach(checks: CaseChecks, tally: EventTally, total: number): void {
  checks.details.events = tally;
  checks.expect(
    tally.doubled === 0,
    `${tally.doubled} outcome(s) emitted more than once (${tally.examples.join('; ')})`,
  );
  checks.expect(
    tally.lost === 0,
    `${tally.lost} outcome(s) never emitted (${tally.examples.join('; ')})`,
  );
  checks.expect(tally.wrong === 0, `${tally.wrong} outcome(s) emitted as the wrong event`);
  checks.expect(
    tally.once === total,
    `${tally.once} of ${total} notifications had exactly one event`,
  );
}

/** `1234567` as `1,234,567`. */
export const fmt = (value: number): string => value.toLocaleString('en-US');

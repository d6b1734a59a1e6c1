import type { Agent } from 'node:http';
import { type CaseChecks, type EventTally, expectOneEventEach, tallyEvents } from './case.result';
import {
  type Delivered,
  deliverTracked,
  expectStatuses,
  resendUntilAcknowledged,
} from './delivery.util';
import type { CapturingLogger } from './capturing.logger';
import type { StressHost } from './host.app';
import type { PostAnswer } from './http.client';
import type { SignedNotification } from './notifications.fixture';
import { withTimeout } from './stress.resources';

/** How a store-outage case loads its host. */
export interface OutageLoad {
  notifications: number;
  connections: number;
  /** Offered load, so that the load goes on after the store is back. */
  ratePerSecond: number;
}

/**
 * Counters of the module's own account of outcomes whose listeners ran while the store was gone:
 * not recorded at first, recorded after all, never recorded (before shutdown).
 */
export function watchRecording(logger: CapturingLogger) {
  return {
    unrecorded: logger.watch(/emitted but not recorded yet/),
    recordedLater: logger.watch(/recorded after all/),
    neverRecorded: logger.watch(/not recorded before shutdown/),
  };
}

/** What happens to the store a third of the way through the load. */
export interface Outage {
  /** As the failure message names it: `Redis was killed`, `the pool was taken`. */
  what: string;
  /** Takes the store away and gives it back. */
  run: () => Promise<void>;
  timeoutMs: number;
}

/**
 * Delivers `notifications` at the case's pace and, once a third of them are answered, runs
 * `outage`; waits for it, then checks that nothing but 200 and 503 was answered. `onAnswer` sees
 * every answer as it arrives.
 */
export async function deliverThroughOutage(
  checks: CaseChecks,
  host: StressHost,
  agent: Agent,
  notifications: readonly SignedNotification[],
  load: OutageLoad,
  outage: Outage,
  onAnswer?: (answer: PostAnswer) => void,
): Promise<Delivered> {
  let running: Promise<void> | undefined;
  const delivered = await deliverTracked(host, agent, notifications, {
    concurrency: load.connections,
    ratePerSecond: load.ratePerSecond,
    onAnswer: (answer, answered) => {
      onAnswer?.(answer);
      if (running || answered < load.notifications / 3) return;
      running = outage.run();
    },
  });
  await withTimeout(
    running ?? Promise.reject(new Error(`the load ended before ${outage.what}`)),
    outage.timeoutMs,
    outage.what,
  );
  expectStatuses(checks, delivered.answers, [200, 503], 'under load');
  return delivered;
}

/**
 * Sends `again` until every one is acknowledged, as Cashy retries, then checks the promise: no
 * `SUCCESS` answered before its event was recorded, exactly one event per notification, and no
 * outcome the module says it never recorded (`neverRecorded`, from its log).
 */
export async function expectOnceAfterResending(
  checks: CaseChecks,
  host: StressHost,
  agent: Agent,
  notifications: readonly SignedNotification[],
  again: readonly SignedNotification[],
  load: Delivered,
  connections: number,
  neverRecorded: () => number,
): Promise<{
  resent: Awaited<ReturnType<typeof resendUntilAcknowledged>>;
  ackedWithoutEvent: string[];
  tally: EventTally;
}> {
  const resent = await resendUntilAcknowledged(host, agent, again, connections, 40_000);
  checks.expect(
    resent.unacknowledged.length === 0,
    `${resent.unacknowledged.length} notification(s) still unacknowledged after re-sending for 40 s`,
  );
  const ackedWithoutEvent = [...load.ackedWithoutEvent, ...resent.ackedWithoutEvent];
  checks.expect(
    ackedWithoutEvent.length === 0,
    `${ackedWithoutEvent.length} SUCCESS answer(s) before the event was recorded (${ackedWithoutEvent.slice(0, 3).join(', ')})`,
  );
  const tally = tallyEvents(host.listener, notifications);
  expectOneEventEach(checks, tally, notifications.length);
  checks.expect(
    neverRecorded() === 0,
    `${neverRecorded()} outcome(s) the module says it never recorded (a duplicate may emit them again)`,
  );
  return { resent, ackedWithoutEvent, tally };
}

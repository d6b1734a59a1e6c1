import { CaseChecks, type CaseRow, expectOneEventEach, fmt, tallyEvents } from './case.result';
import {
  deliverTracked,
  expectStatuses,
  resendUntilAcknowledged,
  unacknowledgedCopies,
  withCopies,
} from './delivery.util';
import type { StressHost } from './host.app';
import { keepAliveAgent, statusTally } from './http.client';
import { signedNotifications } from './notifications.fixture';

/** Options of the duplicate-storm case. */
export interface DuplicateStormOptions {
  notifications: number;
  copies: number;
  /** Notifications whose copies are in flight at once. */
  parallel: number;
}

/**
 * Every notification sent `copies` times at once (its copies side by side in the queue, with
 * `copies × parallel` requests in flight): one event each, copies answered 200 (or 503 while the
 * order is held, then acknowledged on a retry).
 */
export async function duplicateStormCase(
  host: StressHost,
  options: DuplicateStormOptions,
): Promise<CaseRow> {
  const checks = new CaseChecks('duplicate storm', host.adapter, host.store);
  const notifications = signedNotifications(
    `D${host.adapter[0]}${host.store[0]}`.toUpperCase(),
    options.notifications,
  );
  const queue = withCopies(notifications, options.copies);
  const inFlight = options.copies * options.parallel;
  const agent = keepAliveAgent(inFlight);
  try {
    const started = Date.now();
    const storm = await deliverTracked(host, agent, queue, inFlight);
    const stormMs = Date.now() - started;
    expectStatuses(checks, storm.answers, [200, 503], 'storm');
    const retried = await resendUntilAcknowledged(
      host,
      agent,
      unacknowledgedCopies(notifications, storm.answers, options.copies),
      inFlight,
      20_000,
    );
    checks.expect(
      retried.unacknowledged.length === 0,
      `${retried.unacknowledged.length} notification(s) never acknowledged`,
    );
    const ackedWithoutEvent = [...storm.ackedWithoutEvent, ...retried.ackedWithoutEvent];
    checks.expect(
      ackedWithoutEvent.length === 0,
      `${ackedWithoutEvent.length} SUCCESS answer(s) before the event was recorded (${ackedWithoutEvent.slice(0, 3).join(', ')})`,
    );
    const tally = tallyEvents(host.listener, notifications);
    expectOneEventEach(checks, tally, notifications.length);
    const statuses = statusTally(storm.answers);
    Object.assign(checks.details, {
      ...options,
      requests: queue.length,
      statuses,
      stormMs,
      retryRounds: retried.rounds,
    });
    return checks.row(
      `${fmt(options.notifications)} × ${options.copies} copies (${fmt(queue.length)} req, ${inFlight} in flight) in ${(stormMs / 1000).toFixed(1)} s: ${statuses}; events: ${fmt(tally.once)} once, ${tally.doubled} double, ${tally.lost} lost`,
    );
  } finally {
    agent.destroy();
  }
}

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

/** Options of the slow-listener case. */
export interface SlowListenerOptions {
  notifications: number;
  copies: number;
  listenerMs: number;
}

/**
 * A listener that takes `listenerMs` per event while every copy of every notification arrives at
 * once: the first delivery of each order holds it while its listener runs, the copies wait for it
 * and are acknowledged as duplicates. One event each.
 */
export async function slowListenerCase(
  host: StressHost,
  options: SlowListenerOptions,
): Promise<CaseRow> {
  const checks = new CaseChecks(
    `slow listener (${options.listenerMs / 1000} s)`,
    host.adapter,
    host.store,
  );
  const notifications = signedNotifications(
    `S${host.adapter[0]}${host.store[0]}`.toUpperCase(),
    options.notifications,
  );
  const queue = withCopies(notifications, options.copies);
  const agent = keepAliveAgent(queue.length);
  host.listener.delayMs = options.listenerMs;
  try {
    const started = Date.now();
    const burst = await deliverTracked(host, agent, queue, queue.length);
    const burstMs = Date.now() - started;
    expectStatuses(checks, burst.answers, [200, 503], 'burst');
    const retried = await resendUntilAcknowledged(
      host,
      agent,
      unacknowledgedCopies(notifications, burst.answers, options.copies),
      64,
      20_000,
    );
    checks.expect(
      retried.unacknowledged.length === 0,
      `${retried.unacknowledged.length} notification(s) never acknowledged`,
    );
    const ackedWithoutEvent = [...burst.ackedWithoutEvent, ...retried.ackedWithoutEvent];
    checks.expect(
      ackedWithoutEvent.length === 0,
      `${ackedWithoutEvent.length} SUCCESS answer(s) before the event was recorded`,
    );
    const tally = tallyEvents(host.listener, notifications);
    expectOneEventEach(checks, tally, notifications.length);
    const statuses = statusTally(burst.answers);
    Object.assign(checks.details, {
      ...options,
      requests: queue.length,
      statuses,
      burstMs,
    });
    return checks.row(
      `${options.notifications} × ${options.copies} copies at once (${queue.length} conn), all answered in ${(burstMs / 1000).toFixed(1)} s: ${statuses}; events: ${fmt(tally.once)} once, ${tally.doubled} double, ${tally.lost} lost`,
    );
  } finally {
    host.listener.delayMs = 0;
    agent.destroy();
  }
}

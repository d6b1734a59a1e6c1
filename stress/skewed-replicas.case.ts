import { freePort } from 'nestjs-cashy-payout/testing';
import { ReplicaProcess, type ReplicaWallClock } from '../soak/replica.process';
import { type ReplicaStoreKind, startReplicaStore } from '../soak/replica.store';
import { CaseChecks, type CaseRow, expectOneEventEach, fmt, tallyEvents } from './case.result';
import {
  deliverTracked,
  expectStatuses,
  resendUntilAcknowledged,
  unacknowledgedCopies,
  type WebhookTarget,
  withCopies,
} from './delivery.util';
import { STRESS_DELIVERY } from './host.app';
import { keepAliveAgent, statusTally } from './http.client';
import { signedNotifications, STRESS_ACCOUNTS } from './notifications.fixture';
import { StressResources } from './stress.resources';

/** Options of the skewed-replicas case. */
export interface SkewedReplicasOptions {
  notifications: number;
  /** Copies of each notification, half to each replica, all at once. */
  copies: number;
  /** Notifications whose copies are in flight at once. */
  parallel: number;
  /** How long the listener takes per event, so that copies meet a live claim. */
  listenerMs: number;
  /** How far replica B's clock runs ahead of A's; both are also stepped by this much. */
  skewMs: number;
}

/** The events the parent recorded per orderNo: each before the replica's listener returned. */
class RecordedEvents {
  readonly events = new Map<string, string[]>();

  add(orderNo: string, name: string): void {
    this.events.set(orderNo, [...(this.events.get(orderNo) ?? []), name]);
  }

  count(orderNo: string): number {
    return this.events.get(orderNo)?.length ?? 0;
  }
}

/**
 * Two replicas in their own processes on one Redis (or one PostgreSQL database), replica A on
 * Express and B on Fastify, B's
 * clock `skewMs` ahead of A's (more than `claimTtlMs`) and both clocks stepped by `skewMs` back and
 * forth during the storm. Every notification is sent `copies` times at once, half to each replica,
 * with a slow listener: one event each, no `SUCCESS` before its event was recorded.
 */
export async function skewedReplicasCase(
  options: SkewedReplicasOptions,
  storeKind: ReplicaStoreKind,
): Promise<CaseRow> {
  const checks = new CaseChecks('two replicas, clocks 2 min apart', 'express + fastify', storeKind);
  const resources = new StressResources('skewed replicas');
  const recorded = new RecordedEvents();
  const clocks: Record<'A' | 'B', ReplicaWallClock> = {
    A: { skewMs: 0, stepMs: options.skewMs, stepEveryMs: 1_300 },
    B: { skewMs: options.skewMs, stepMs: options.skewMs, stepEveryMs: 1_000 },
  };
  try {
    const store = await startReplicaStore(storeKind, 'cashy_stress_skew', resources);
    const targets: WebhookTarget[] = [];
    for (const [name, adapter] of [
      ['A', 'express'],
      ['B', 'fastify'],
    ] as const) {
      const replica = await ReplicaProcess.start(
        name,
        {
          port: await freePort(),
          store,
          adapter,
          listenerMs: options.listenerMs,
          module: {
            baseUrl: 'http://127.0.0.1:9',
            accounts: STRESS_ACCOUNTS,
            reconciliation: false,
            delivery: STRESS_DELIVERY,
          },
        },
        clocks[name],
        (event) => recorded.add(event.orderNo, event.name),
      );
      resources.add(`replica ${name}`, () => replica.stop());
      targets.push({ webhookUrl: new URL(replica.url), listener: recorded });
    }

    const notifications = signedNotifications('SKW', options.notifications);
    const perTarget = [Math.ceil(options.copies / 2), Math.floor(options.copies / 2)];
    const inFlight = perTarget[0] * options.parallel;
    const agent = keepAliveAgent(2 * inFlight);
    resources.add('HTTP agent', async () => agent.destroy());
    const started = Date.now();
    // Copies of one notification reach both replicas at about the same moment.
    const storms = await Promise.all(
      targets.map((target, t) =>
        deliverTracked(target, agent, withCopies(notifications, perTarget[t]), inFlight),
      ),
    );
    const stormMs = Date.now() - started;
    const answers = storms.flatMap((s) => s.answers);
    expectStatuses(checks, answers, [200, 503], 'storm');
    const unacknowledgedByA = new Set(
      unacknowledgedCopies(notifications, storms[0].answers, perTarget[0]),
    );
    const unacknowledged = unacknowledgedCopies(
      notifications,
      storms[1].answers,
      perTarget[1],
    ).filter((n) => unacknowledgedByA.has(n));
    const retried = await resendUntilAcknowledged(
      targets[1],
      agent,
      unacknowledged,
      inFlight,
      30_000,
    );
    checks.expect(
      retried.unacknowledged.length === 0,
      `${retried.unacknowledged.length} notification(s) never acknowledged`,
    );
    const ackedWithoutEvent = [
      ...storms.flatMap((s) => s.ackedWithoutEvent),
      ...retried.ackedWithoutEvent,
    ];
    checks.expect(
      ackedWithoutEvent.length === 0,
      `${ackedWithoutEvent.length} SUCCESS answer(s) before the event was recorded`,
    );
    const tally = tallyEvents(recorded, notifications);
    expectOneEventEach(checks, tally, notifications.length);
    const statuses = statusTally(answers);
    Object.assign(checks.details, { ...options, stormMs, statuses, retryRounds: retried.rounds });
    return checks.row(
      `${fmt(options.notifications)} × ${options.copies} copies split over 2 replicas, B's clock ${options.skewMs / 1000} s ahead, both stepped ±${options.skewMs / 1000} s, listener ${options.listenerMs} ms, claimTtlMs ${STRESS_DELIVERY.claimTtlMs}: ${statuses}; events: ${fmt(tally.once)} once, ${tally.doubled} double, ${tally.lost} lost`,
    );
  } finally {
    await resources.closeAll();
  }
}

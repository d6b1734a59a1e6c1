import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import { payoutDiagnostics } from '../payout.diagnostics';
import { PayoutOutcomeUnknownError } from '../payout.errors';
import {
  PAYOUT_NOT_CREATED,
  PayoutNotCreatedEvent,
} from '../events/payout.events';
import { isFinalPayoutStatus, type PayoutStatus } from '../payout.types';
import { PayoutConfig } from '../options/payout-config';
import { PayoutClock } from '../clock/payout.clock';
import { PayoutOutcomeProcessor } from '../outcome/payout-outcome.processor';
import { PAYOUT_EVENT_BUS, PAYOUT_STORE } from '../payout.constants';
import { PayoutService } from '../payout.service';
import type {
  PayoutOpenEntry,
  PayoutStore,
} from '../store/payout-store.interface';
import {
  RECONCILIATION_DEFAULTS,
  type ResolvedReconciliationPolicy,
} from './payout-reconciliation.options';

/** What one check of an open payout found. */
export type PayoutCheckResult =
  /** A final status: emitted (once, whoever saw it first) and no longer tracked. */
  | 'settled'
  /** Still in progress: checked again later. */
  | 'open'
  /** The gateway does not have it and no create can land any more: `payout.not_created` emitted. */
  | 'not_created'
  /** Inside the re-send window, or the gateway could not say: checked again later. */
  | 'unknown'
  /** The check failed (gateway, store or a listener): checked again later. */
  | 'failed'
  /** Open past the horizon: `payout.anomaly` (`unresolved`) emitted and no longer tracked. */
  | 'abandoned';

/** What one sweep did: how many payouts it checked, by result. */
export type PayoutSweepSummary = Record<PayoutCheckResult, number>;

/** Sweeps never take more than this many batches in a row, so one sweep always ends. */
const MAX_BATCHES_PER_SWEEP = 20;

/**
 * The built-in reconciliation (module option `reconciliation`): on an unref'd timer, takes the open
 * payouts whose check is due from the store (leased, so replicas sharing a store never query the
 * same one at once), asks the gateway about each through `PayoutService.reconcile` (the same state
 * machine, dedupe and events as webhooks), and reschedules each with a wait that grows with its age.
 * A payout of unknown outcome that does not exist once the re-send window is over gets
 * `payout.not_created`, once; the module never sends it again by itself.
 */
@Injectable()
export class PayoutReconciliationService
  implements OnApplicationBootstrap, OnModuleDestroy
{
  private readonly logger = new Logger('PayoutReconciliation');
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<PayoutSweepSummary>;
  private stopped = false;

  constructor(
    private readonly config: PayoutConfig,
    private readonly payouts: PayoutService,
    private readonly outcomes: PayoutOutcomeProcessor,
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    @Inject(PAYOUT_EVENT_BUS) private readonly events: EventEmitter2,
    private readonly clock: PayoutClock,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.reconciliation)
      this.schedule(this.config.reconciliation.intervalMs);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  /**
   * Runs one sweep now (also when the timer is off: tests and hosts that drive it themselves) and
   * resolves with what it did. A sweep already running is joined, not doubled.
   */
  sweep(): Promise<PayoutSweepSummary> {
    if (!this.sweeping) {
      const started = Date.now();
      this.sweeping = this.runSweep()
        .then((summary) => {
          payoutDiagnostics.sweep(() => ({
            durationMs: Date.now() - started,
            ...summary,
          }));
          return summary;
        })
        .finally(() => (this.sweeping = undefined));
    }
    return this.sweeping;
  }

  /** Checks one open payout now: what a sweep does for each due entry. */
  async check(entry: PayoutOpenEntry): Promise<PayoutCheckResult> {
    const policy = this.policy();
    const now = this.clock.now();
    const { mchOrderNo } = entry;
    if (now - entry.openedAt > policy.horizonMs) return this.abandon(entry);
    const attempt = await this.store.getAttempt(mchOrderNo);
    try {
      const order = await this.payouts.reconcile(
        { mchOrderNo },
        attempt ? { account: attempt.merchantId } : undefined,
      );
      if (order === null) {
        if (!attempt) return this.abandon(entry);
        // A create sent again meanwhile (by the host, on another replica) is watched on its own.
        const current = await this.store.getAttempt(mchOrderNo);
        if (current && current.state !== 'rejected') {
          await this.reschedule(entry, now, current.resendAfter);
          return 'unknown';
        }
        await this.events.emitAsync(
          PAYOUT_NOT_CREATED,
          new PayoutNotCreatedEvent(attempt),
        );
        // A listener may have sent it again at once: that create tracks itself, so leave it be.
        const after = await this.store.getAttempt(mchOrderNo);
        if (!after || after.state === 'rejected')
          await this.store.untrackOpen(mchOrderNo);
        this.logger.log(
          `payout ${mchOrderNo}: not created (payout.not_created emitted)`,
        );
        return 'not_created';
      }
      if (isFinalPayoutStatus(order.orderStatus as PayoutStatus)) {
        await this.store.untrackOpen(mchOrderNo);
        return 'settled';
      }
      await this.reschedule(entry, now);
      return 'open';
    } catch (error) {
      if (error instanceof PayoutOutcomeUnknownError) {
        const current = await this.store
          .getAttempt(mchOrderNo)
          .catch(() => undefined);
        await this.reschedule(entry, now, current?.resendAfter);
        return 'unknown';
      }
      this.logger.warn(
        `payout ${mchOrderNo}: check failed, trying again later (${(error as Error).message})`,
      );
      await this.reschedule(entry, now).catch(() => undefined);
      return 'failed';
    }
  }

  private async runSweep(): Promise<PayoutSweepSummary> {
    const policy = this.policy();
    const summary: PayoutSweepSummary = {
      settled: 0,
      open: 0,
      not_created: 0,
      unknown: 0,
      failed: 0,
      abandoned: 0,
    };
    for (
      let batch = 0;
      batch < MAX_BATCHES_PER_SWEEP && !this.stopped;
      batch++
    ) {
      const due = await this.store.takeDueOpen(
        this.clock.now(),
        policy.batchSize,
        policy.leaseMs,
      );
      await runPool(due, policy.concurrency, async (entry) => {
        const result = await this.check(entry).catch((error: unknown) => {
          this.logger.warn(
            `payout ${entry.mchOrderNo}: check failed (${(error as Error).message}); its lease ends in ${policy.leaseMs} ms`,
          );
          return 'failed' as const;
        });
        summary[result]++;
      });
      if (due.length < policy.batchSize) break;
    }
    return summary;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((error: unknown) =>
          this.logger.error(
            `sweep failed (${(error as Error).message}); next one in ${delayMs} ms`,
            (error as Error).stack,
          ),
        )
        .finally(() => this.schedule(this.policy().intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  /** Next check: after a wait that grows with the payout's age (half of it, within bounds), or at `notBefore`. */
  private async reschedule(
    entry: PayoutOpenEntry,
    now: number,
    notBefore?: number,
  ): Promise<void> {
    const { firstCheckMs, maxIntervalMs } = this.policy();
    const wait = Math.min(
      maxIntervalMs,
      Math.max(firstCheckMs, Math.floor((now - entry.openedAt) / 2)),
    );
    // A little jitter so payouts opened together do not stay in lockstep.
    const dueAt = Math.max(
      notBefore ?? 0,
      now + wait + Math.floor(Math.random() * Math.min(wait, 1000) * 0.1),
    );
    await this.store.trackOpen(entry.mchOrderNo, entry.openedAt, dueAt);
  }

  private async abandon(entry: PayoutOpenEntry): Promise<PayoutCheckResult> {
    const attempt = await this.store
      .getAttempt(entry.mchOrderNo)
      .catch(() => undefined);
    const order = await this.store
      .findByMchOrderNo(entry.mchOrderNo)
      .catch(() => undefined);
    await this.outcomes.reportAnomaly({
      kind: 'unresolved',
      merchantId: attempt?.merchantId ?? order?.merchantId ?? '',
      mchOrderNo: entry.mchOrderNo,
      orderNo: attempt?.orderNo ?? order?.orderNo ?? '',
      status: order?.status ?? attempt?.state ?? 'unknown',
      reason: `still open ${Math.round((this.clock.now() - entry.openedAt) / 60_000)} minutes after its create; the built-in reconciliation stops checking it`,
      raw: {},
    });
    await this.store.untrackOpen(entry.mchOrderNo);
    return 'abandoned';
  }

  private policy(): ResolvedReconciliationPolicy {
    // `sweep()` works with the timer off too, on the defaults.
    return this.config.reconciliation || RECONCILIATION_DEFAULTS;
  }
}

/** Runs `work` over `items` with at most `concurrency` at once. */
async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, worker),
  );
}

import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import { PayoutClock } from '../clock/payout.clock';
import { withinDeadline } from '../clock/deadline';
import { PAYOUT_NOT_CREATED, PayoutNotCreatedEvent } from '../events/payout.events';
import { emitToEveryListener } from '../events/payout-event.emitter';
import { PayoutConfig } from '../options/payout-config';
import {
  PayoutAttemptLedger,
  retryInBackground,
  writeQuickly,
} from '../outcome/payout-attempt.ledger';
import { PayoutOutcomeProcessor } from '../outcome/payout-outcome.processor';
import { PAYOUT_EVENT_BUS, PAYOUT_STORE } from '../payout.constants';
import { payoutDiagnostics } from '../payout.diagnostics';
import { PayoutOutcomeUnknownError } from '../payout.errors';
import {
  IN_PROGRESS_PAYOUT_STATUSES,
  isFinalPayoutStatus,
  type PayoutStatus,
} from '../payout.types';
import type { PayoutAttempt, PayoutOpenEntry, PayoutStore } from '../store/payout-store.interface';
import type { ResolvedReconciliationPolicy } from './payout-reconciliation.options';
import { PayoutReconciler } from './payout-reconciler';
import type { PayoutReportResult } from '../outcome/payout-status-report.interface';

/** What one check of an open payout found. */
export type PayoutCheckResult =
  /** A final status: emitted (once, whoever saw it first) and no longer tracked. */
  | 'settled'
  /** Still in progress: checked again later. */
  | 'open'
  /** The gateway does not have it and no create can land any more: `payout.not_created` emitted. */
  | 'not_created'
  /** Inside the re-send window, held by a `createPayout` call, or not known: checked again later. */
  | 'unknown'
  /** The check failed (gateway, store, a listener) or ran past its deadline: checked again later. */
  | 'failed'
  /** Open past the horizon after a last look: `payout.anomaly` (`unresolved`), no longer tracked. */
  | 'abandoned'
  /** A Mexican success watched for a return: still `SUCCESS`, checked again later. */
  | 'watching'
  /** A Mexican success found returned: `payout.failed` (`reversed: true`) emitted by this check. */
  | 'returned'
  /** A Mexican success still `SUCCESS` when its return watch ended: no longer tracked. */
  | 'watch_ended';

/** What one sweep did: how many payouts it checked, by result. */
export type PayoutSweepSummary = Record<PayoutCheckResult, number>;

/** A sweep checks at most this many times `batchSize` payouts, so one sweep always ends. */
const MAX_BATCHES_PER_SWEEP = 20;
/** How long shutdown waits for the checks still running before it hands their payouts back. */
const SHUTDOWN_GRACE_MS = 2_000;

/**
 * The built-in reconciliation (module option `reconciliation`): on an unref'd timer, takes the due
 * open payouts from the store, each leased for its check, asks the gateway through the same state
 * machine as webhooks, and reschedules it with a wait that grows with its age. A payout not created
 * gets `payout.not_created` exactly once (rules 12 and 13); it is never sent again by the module.
 */
@Injectable()
export class PayoutReconciliationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('PayoutReconciliation');
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<PayoutSweepSummary>;
  private stopped = false;
  /** Checks still running (a hung listener outlives its deadline), with their entries. */
  private readonly running = new Map<Promise<unknown>, PayoutOpenEntry>();
  private readonly tokenPrefix = `${randomUUID()}-nc-`;
  private noticeCount = 0;

  constructor(
    private readonly config: PayoutConfig,
    private readonly reconciler: PayoutReconciler,
    private readonly attempts: PayoutAttemptLedger,
    private readonly outcomes: PayoutOutcomeProcessor,
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    @Inject(PAYOUT_EVENT_BUS) private readonly events: EventEmitter2,
    private readonly clock: PayoutClock,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.reconciliation) this.schedule(this.config.reconciliation.intervalMs);
  }

  /** Stops, gives running checks a short grace, then hands their payouts back (due now). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await withinDeadline(Promise.allSettled([...this.running.keys()]), SHUTDOWN_GRACE_MS);
    await Promise.allSettled(
      [...this.running.values()].map((entry) =>
        this.store.trackOpen(entry.mchOrderNo, entry.openedAt, this.clock.now()),
      ),
    );
  }

  /** Runs one sweep now (also with the timer off); a sweep already running is joined. */
  sweep(): Promise<PayoutSweepSummary> {
    this.sweeping ??= this.runSweep().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Checks one open payout now: what a sweep does for each due entry. */
  async check(entry: PayoutOpenEntry): Promise<PayoutCheckResult> {
    const { mchOrderNo } = entry;
    const attempt = await this.store.getAttempt(mchOrderNo);
    if (attempt?.state === 'rejected') return this.afterNotCreated(entry, attempt);
    const now = this.clock.now();
    // The horizon runs from the latest create of this mchOrderNo, and is only reached after a look.
    // A Mexican success watched for a return is not open: its horizon runs from the watch's end, so
    // a check that fails near the end never ends the watch (the return would be lost).
    const lastOpened = entry.watchUntil ?? Math.max(entry.openedAt, attempt?.sentAt ?? 0);
    const pastHorizon = now - lastOpened > this.config.reconciliationPolicy.horizonMs;
    const merchantId = entry.merchantId ?? attempt?.merchantId;
    const token = this.nextToken();
    try {
      // An answer about another order than the one known settles nothing.
      const orderNo = attempt?.state === 'created' ? attempt.orderNo : undefined;
      const found = await this.reconciler.settle(
        orderNo === undefined ? { mchOrderNo } : { mchOrderNo, orderNo },
        merchantId ? { account: merchantId } : undefined,
        // The claim's life starts when the decision is written, not before a slow lookup.
        () => ({ state: 'pending', claim: this.newClaim(token) }),
      );
      if (found.kind === 'not_created') {
        if (found.decided) return await this.notifyNotCreated(entry, found.decided, token);
        return await this.afterDecidedElsewhere(entry, lastOpened);
      }
      const status = found.order.orderStatus;
      // A contradicting answer (an anomaly was emitted): keep looking until the horizon. A watched
      // success's own order answered out of order ends its watch as any answer.
      const contradicted =
        !!found.conflict || (found.result === 'anomaly' && entry.watchUntil === undefined);
      if (!contradicted && entry.watchUntil !== undefined)
        return this.afterReturnCheck(entry, status, found.result, now);
      if (!contradicted && isFinalPayoutStatus(status as PayoutStatus)) {
        // A success emitted before its watch could start starts it now.
        if (this.attempts.watchesReturn(status, found.order.currency))
          await this.attempts.afterFinal(mchOrderNo, 'SUCCESS', found.order.currency, false);
        return 'settled';
      }
      const lastSeen = contradicted ? `the gateway answers ${status}` : status;
      if (pastHorizon) return this.abandon(entry, lastOpened, lastSeen);
      await this.rescheduleNext(entry, now);
      return 'open';
    } catch (error) {
      return this.afterFailure(entry, error, now, pastHorizon, lastOpened);
    }
  }

  /**
   * A check that failed: unknown (checked again once its window may be over), or any other error
   * (checked again later). Past the horizon either is given up on too, so a person looks.
   */
  private async afterFailure(
    entry: PayoutOpenEntry,
    error: unknown,
    now: number,
    pastHorizon: boolean,
    lastOpened: number,
  ): Promise<PayoutCheckResult> {
    const unknown = error instanceof PayoutOutcomeUnknownError;
    if (pastHorizon) {
      const lastSeen = unknown ? 'unknown' : `its checks fail: ${(error as Error).message}`;
      return this.abandon(entry, lastOpened, lastSeen);
    }
    if (unknown) {
      const current = await this.store.getAttempt(entry.mchOrderNo).catch(() => undefined);
      await this.reschedule(entry, now, current?.resendAfter);
      return 'unknown';
    }
    this.logger.warn(
      `payout ${entry.mchOrderNo}: check failed, trying again later (${(error as Error).message})`,
    );
    await this.rescheduleNext(entry, now).catch(() => undefined);
    return 'failed';
  }

  /** Not created, decided elsewhere (a sweep, `reconcile`): a notice still owed is emitted. */
  private async afterDecidedElsewhere(
    entry: PayoutOpenEntry,
    lastOpened: number,
  ): Promise<PayoutCheckResult> {
    const attempt = await this.store.getAttempt(entry.mchOrderNo);
    if (!attempt) return this.abandon(entry, lastOpened, 'the gateway does not have it');
    if (attempt.state === 'rejected') return this.afterNotCreated(entry, attempt);
    await this.reschedule(entry, this.clock.now(), attempt.resendAfter);
    return 'unknown';
  }

  /** Found not created before: a notice whose listeners failed (or whose sweeper died) is due again. */
  private async afterNotCreated(
    entry: PayoutOpenEntry,
    attempt: PayoutAttempt,
  ): Promise<PayoutCheckResult> {
    if (attempt.notice?.state === 'pending') return this.notifyNotCreated(entry, attempt);
    await this.store.untrackOpen(entry.mchOrderNo);
    return 'settled';
  }

  /**
   * A watched Mexican success checked: still `SUCCESS` or in progress (watched on, until one last
   * look at its end), else the watch ends (`FAIL`: the return, emitted once by the state machine).
   */
  private async afterReturnCheck(
    entry: PayoutOpenEntry,
    status: string,
    result: PayoutReportResult,
    now: number,
  ): Promise<PayoutCheckResult> {
    if (status === 'SUCCESS' || IN_PROGRESS_PAYOUT_STATUSES.includes(status as PayoutStatus)) {
      if (now >= entry.watchUntil!) {
        await this.store.untrackOpen(entry.mchOrderNo);
        return 'watch_ended';
      }
      await this.rescheduleNext(entry, now);
      return 'watching';
    }
    await this.store.untrackOpen(entry.mchOrderNo);
    return status === 'FAIL' && result === 'emitted' ? 'returned' : 'settled';
  }

  /** Next check by the payout's age; for a watched success, by its age and never past the watch. */
  private async rescheduleNext(entry: PayoutOpenEntry, now: number): Promise<void> {
    const { watchUntil } = entry;
    if (watchUntil === undefined) return this.reschedule(entry, now);
    const successAt = watchUntil - this.config.reconciliationPolicy.returnWatchMs;
    return this.reschedule(entry, now, undefined, successAt, Math.max(watchUntil, now + 1_000));
  }

  private async runSweep(): Promise<PayoutSweepSummary> {
    const started = performance.now();
    const policy = this.config.reconciliationPolicy;
    const summary: PayoutSweepSummary = {
      settled: 0,
      open: 0,
      not_created: 0,
      unknown: 0,
      failed: 0,
      abandoned: 0,
      watching: 0,
      returned: 0,
      watch_ended: 0,
    };
    let budget = policy.batchSize * MAX_BATCHES_PER_SWEEP;
    // Each worker takes its next payout only when it is free, so a lease covers one check.
    const worker = async () => {
      while (!this.stopped && budget > 0) {
        budget--;
        const [entry] = await this.store.takeDueOpen(this.clock.now(), 1, policy.leaseMs);
        if (!entry) return;
        summary[await this.checkWithDeadline(entry, policy.leaseMs)]++;
      }
    };
    await Promise.all(Array.from({ length: policy.concurrency }, worker));
    const durationMs = Math.round(performance.now() - started);
    payoutDiagnostics.sweep(() => ({ durationMs, ...summary }));
    return summary;
  }

  /** One check, counted `failed` once its lease is over: a hung one never holds up the sweep. */
  private async checkWithDeadline(
    entry: PayoutOpenEntry,
    deadlineMs: number,
  ): Promise<PayoutCheckResult> {
    const running = this.check(entry).catch((error: unknown) => {
      this.logger.warn(
        `payout ${entry.mchOrderNo}: check failed (${(error as Error).message}); its lease ends in ${deadlineMs} ms`,
      );
      return 'failed' as const;
    });
    this.running.set(running, entry);
    void running.finally(() => this.running.delete(running));
    const result = await withinDeadline(running, deadlineMs);
    if (result !== 'late') return result;
    this.logger.warn(
      `payout ${entry.mchOrderNo}: check still running after ${deadlineMs} ms; the sweep goes on without it`,
    );
    return 'failed';
  }

  /**
   * Emits `payout.not_created` under a claim on the notice, renewed while listeners run; marked
   * emitted once they all succeed (never again, rule 13), handed back when one fails.
   */
  private async notifyNotCreated(
    entry: PayoutOpenEntry,
    found: PayoutAttempt,
    decidedToken?: string,
  ): Promise<PayoutCheckResult> {
    const { mchOrderNo } = entry;
    const { claimTtlMs } = this.config.delivery;
    const attempt = await this.claimNotice(found, decidedToken);
    if (!attempt) {
      await this.reschedule(entry, this.clock.now());
      return 'unknown';
    }
    const token = attempt.notice!.claim!.token;
    await this.store
      .trackOpen(
        mchOrderNo,
        entry.openedAt,
        this.clock.now() + this.config.reconciliationPolicy.leaseMs,
      )
      .catch(() => undefined);
    // Renewed every second at most, so a step of the store's clock is caught up at once.
    const renewer = setInterval(
      () => void this.renewClaim(mchOrderNo, token),
      Math.max(5, Math.min(1_000, Math.floor(claimTtlMs / 3))),
    );
    renewer.unref();
    try {
      await emitToEveryListener(
        this.events,
        PAYOUT_NOT_CREATED,
        new PayoutNotCreatedEvent(attempt),
      );
    } catch (error) {
      clearInterval(renewer);
      this.logger.warn(
        `payout ${mchOrderNo}: a payout.not_created listener failed (${(error as Error).message}); it is emitted again at a later sweep`,
      );
      await this.attempts.settleNotice(mchOrderNo, token, false);
      await this.reschedule(entry, this.clock.now());
      return 'failed';
    }
    clearInterval(renewer);
    await this.recordNoticeEmitted(mchOrderNo, token);
    // A listener may have sent it again: that create is watched on its own.
    const after = await this.store.getAttempt(mchOrderNo);
    if (!after || after.state === 'rejected') await this.store.untrackOpen(mchOrderNo);
    this.logger.log(`payout ${mchOrderNo}: not created (payout.not_created emitted)`);
    return 'not_created';
  }

  /**
   * The attempt with its notice claimed for this check (by its decision, `decidedToken`, or here);
   * `undefined` while another holder's claim lives or when someone wrote the attempt since.
   */
  private async claimNotice(
    found: PayoutAttempt,
    decidedToken: string | undefined,
  ): Promise<PayoutAttempt | undefined> {
    const claim = found.notice?.claim;
    if (claim && claim.token === decidedToken) return found;
    if (claim && (await this.clock.stillHeld(claim.expiresAt, claim.expiresAt - found.updatedAt)))
      return undefined;
    return this.attempts.claimNotice(found, this.newClaim());
  }

  /** A notice-claim token unique to this replica. */
  private nextToken(): string {
    return this.tokenPrefix + (++this.noticeCount).toString(36);
  }

  /** A claim on a notice, living from now (with a new token unless the decision made one). */
  private newClaim(token = this.nextToken()) {
    return { token, expiresAt: this.clock.now() + this.config.delivery.claimTtlMs };
  }

  /** Extends a claim on a notice; a failed renewal is left to the next one. */
  private renewClaim(mchOrderNo: string, token: string): Promise<unknown> {
    const expiresAt = this.clock.now() + this.config.delivery.claimTtlMs;
    return this.attempts.renewNotice(mchOrderNo, token, expiresAt).catch(() => undefined);
  }

  /** Marks a notice emitted, retried in the background (claim renewed) so it is never sent twice. */
  private async recordNoticeEmitted(mchOrderNo: string, token: string): Promise<void> {
    const write = () => this.attempts.settleNotice(mchOrderNo, token, true);
    try {
      await writeQuickly(write, false);
    } catch {
      const renewAndWrite = async () => {
        await this.renewClaim(mchOrderNo, token);
        await write();
      };
      void retryInBackground(renewAndWrite, () => this.stopped, false);
      throw new Error('payout.not_created was emitted but could not be recorded yet; still trying');
    }
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
        .finally(() => this.schedule(this.config.reconciliationPolicy.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  /** Next check after `nextCheckWait` of the age since `since`, within `notBefore`..`notAfter`. */
  private async reschedule(
    entry: PayoutOpenEntry,
    now: number,
    notBefore?: number,
    since: number = entry.openedAt,
    notAfter: number = Infinity,
  ): Promise<void> {
    const wait = nextCheckWait(this.config.reconciliationPolicy, now - since);
    // Jitter, so payouts opened together do not stay in lockstep.
    const dueAt = Math.min(
      notAfter,
      Math.max(notBefore ?? 0, now + wait + Math.floor(Math.random() * Math.min(wait, 1000) * 0.1)),
    );
    await this.store.trackOpen(entry.mchOrderNo, entry.openedAt, dueAt);
  }

  /** Gives a payout up after its last look: one `payout.anomaly` (`unresolved`), then untracked. */
  private async abandon(
    entry: PayoutOpenEntry,
    lastOpened: number,
    lastSeen: string,
  ): Promise<PayoutCheckResult> {
    const attempt = await this.store.getAttempt(entry.mchOrderNo).catch(() => undefined);
    const order = await this.store.findByMchOrderNo(entry.mchOrderNo).catch(() => undefined);
    await this.outcomes.reportAnomaly({
      kind: 'unresolved',
      merchantId: entry.merchantId ?? attempt?.merchantId ?? order?.merchantId ?? '',
      mchOrderNo: entry.mchOrderNo,
      orderNo: attempt?.orderNo ?? order?.orderNo ?? '',
      status: order?.status ?? attempt?.state ?? 'unknown',
      reason: `still not final (${lastSeen}) ${Math.round((this.clock.now() - lastOpened) / 60_000)} minutes after its latest create; the built-in reconciliation stops checking it`,
      raw: {},
    });
    await this.store.untrackOpen(entry.mchOrderNo);
    return 'abandoned';
  }
}

/** The wait before a payout's next check at `ageMs` old: half its age, within bounds. */
export function nextCheckWait(
  policy: Pick<ResolvedReconciliationPolicy, 'firstCheckMs' | 'maxIntervalMs'>,
  ageMs: number,
): number {
  return Math.min(policy.maxIntervalMs, Math.max(policy.firstCheckMs, Math.floor(ageMs / 2)));
}

/** The gateway queries a Mexican success watched for a return costs, jitter aside (README figure). */
export function returnWatchQueries(
  policy: Pick<ResolvedReconciliationPolicy, 'firstCheckMs' | 'maxIntervalMs' | 'returnWatchMs'>,
): number {
  if (policy.returnWatchMs === 0) return 0;
  let queries = 0;
  for (let at = policy.firstCheckMs; ; at += nextCheckWait(policy, at)) {
    queries++;
    if (at >= policy.returnWatchMs) return queries;
  }
}

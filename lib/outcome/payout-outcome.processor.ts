import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import { PayoutBusyError, PayoutStoreError } from '../payout.errors';
import { PayoutConfig } from '../options/payout-config';
import { PayoutClock } from '../clock/payout.clock';
import {
  PAYOUT_ANOMALY,
  PAYOUT_FAILED,
  PAYOUT_SUCCEEDED,
  PayoutAnomalyEvent,
  type PayoutAnomalyFields,
  type PayoutAnomalyKind,
  PayoutFailedEvent,
  PayoutSucceededEvent,
} from '../events/payout.events';
import type { PayoutEventFields } from '../events/payout.events';
import { emitToEveryListener } from '../events/payout-event.emitter';
import { PAYOUT_STATUSES, type PayoutCurrency, type PayoutStatus } from '../payout.types';
import { marketOf } from '../markets/payout-markets';
import {
  compareDecimals,
  formatDecimal,
  parseDecimal,
  type ParsedDecimal,
} from '../markets/decimal';
import { PAYOUT_EVENT_BUS, PAYOUT_STORE } from '../payout.constants';
import type {
  PayoutAttempt,
  PayoutOpenChange,
  PayoutRecord,
  PayoutReportContext,
  PayoutStore,
} from '../store/payout-store.interface';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { changeByRevision, nextRevision } from '../store/compare-and-set';
import { readReportContext } from '../store/report-context';
import { PayoutAttemptLedger, storeCall } from './payout-attempt.ledger';
import { decidePayoutTransition } from './payout-state-machine';
import type { PayoutReportResult, PayoutStatusReport } from './payout-status-report.interface';

/** What a claim was taken for: a status to record as processed, or an anomaly to record as emitted. */
type ClaimedChange = { status: PayoutStatus; reversed: boolean } | { anomaly: string };

/** A report the rules forbid: what kind, and a sentence saying why. */
interface Anomaly {
  kind: PayoutAnomalyKind;
  reason: string;
}

/** What the module knows of an order before applying a report: its record, completed from the create attempt. */
interface KnownOrder {
  merchantId?: string;
  mchOrderNo?: string;
  currency?: PayoutCurrency;
  amount?: string;
  /** The order already known under the report's mchOrderNo (from its create, or an earlier report), when the report's orderNo has no record. */
  attemptOrderNo?: string;
  /** The create attempt of the report's mchOrderNo, when it was read. */
  attempt?: PayoutAttempt;
}

/** `record` with our claim (if it is still ours) dropped and, with `change`, that change recorded. */
function settledRecord(
  record: PayoutRecord,
  token: string,
  change: ClaimedChange | undefined,
  now: number,
): PayoutRecord {
  const next = nextRevision(
    record,
    { claim: record.claim?.token === token ? undefined : record.claim },
    now,
  );
  if (change && 'status' in change) {
    next.status = change.status;
    if (!record.processed.includes(change.status))
      next.processed = [...record.processed, change.status];
    next.reversed = record.reversed || change.reversed;
  } else if (change && !(record.anomalies ?? []).includes(change.anomaly)) {
    next.anomalies = [...(record.anomalies ?? []), change.anomaly];
  }
  return next;
}

/** A change whose listeners ran, and what it takes to record it. */
interface EmittedChange {
  report: PayoutStatusReport;
  /** The claim the listeners ran under. */
  token: string;
  change: ClaimedChange;
  /** The record the claim wrote: written again, with the change, if the store lost it. */
  claimed: PayoutRecord;
  /** Stops renewing the claim (once the change is recorded, or on shutdown). */
  stopRenewing: () => Promise<void>;
  open?: PayoutOpenChange;
}

/** Anomalies of a report that still show its create was answered with an order. */
const ANSWERED_ANOMALIES: readonly PayoutAnomalyKind[] = ['amount', 'status'];

/** Waiting deliveries poll the store from every 5 ms up to every 100 ms, to spare a shared store. */
const CLAIM_POLL_MS = { first: 5, max: 100 };
const CONFIRM_ATTEMPTS = 5;
/** How often an outcome emitted but not yet recorded is written again, until it is. */
const CONFIRM_BACKGROUND_MS = 250;

/**
 * Turns status reports (webhooks and queries alike) into exactly-once events: checks the report
 * against what is recorded (money-safety rule 7), decides the transition, claims the order, runs
 * the listeners, then records what was emitted. A listener failure releases the claim, so the next
 * delivery runs the listeners again.
 */
@Injectable()
export class PayoutOutcomeProcessor implements OnModuleDestroy {
  private readonly logger = new Logger('PayoutWebhook');
  private stopped = false;
  // Claim tokens: random per instance, counted per claim, so unique across replicas and deliveries.
  private readonly tokenPrefix = `${randomUUID()}-`;
  private claimCount = 0;
  /** Outcomes this process emitted and is still recording (orderNo → claim token): copies wait. */
  private readonly holding = new Map<string, string>();

  constructor(
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    @Inject(PAYOUT_EVENT_BUS) private readonly events: EventEmitter2,
    private readonly config: PayoutConfig,
    private readonly attempts: PayoutAttemptLedger,
    private readonly clock: PayoutClock,
  ) {}

  onModuleDestroy(): void {
    this.stopped = true; // ends the background confirmations
  }

  /**
   * Applies one report; resolves once its listeners (if any) have all succeeded. Rejects with the
   * listener's error, `PayoutBusyError` (another delivery holds the order) or `PayoutStoreError`.
   */
  async apply(report: PayoutStatusReport): Promise<PayoutReportResult> {
    const { claimWaitMs } = this.config.delivery;
    // How long this delivery waits is its own business: a local duration, not a time on the shared clock.
    const giveUpAt = performance.now() + claimWaitMs;
    let pollMs = CLAIM_POLL_MS.first;
    for (;;) {
      const context = await readReportContext(this.store, report.orderNo, report.mchOrderNo);
      const { record } = context;
      if (
        this.holding.has(report.orderNo) ||
        (record?.claim &&
          (await this.clock.stillHeld(
            record.claim.expiresAt,
            record.claim.expiresAt - record.updatedAt,
          )))
      ) {
        // A copy of a status already handled needs nothing from the holder.
        if (record?.processed.includes(report.orderStatus as PayoutStatus)) return 'duplicate';
        if (performance.now() >= giveUpAt)
          throw new PayoutBusyError(
            `order ${report.orderNo} is being processed by another delivery`,
          );
        await sleep(pollMs);
        pollMs = Math.min(pollMs * 2, CLAIM_POLL_MS.max);
        continue;
      }
      const result = await this.applyTo(context, report);
      if (result !== 'retry') return result;
    }
  }

  /** One report against the record as read: `'retry'` when another writer got there first. */
  private async applyTo(
    context: PayoutReportContext,
    report: PayoutStatusReport,
  ): Promise<PayoutReportResult | 'retry'> {
    const { record } = context;
    const known = await this.knownOrder(context, report);
    const base = this.baseRecord(record, report, known);
    const found = findMismatch(known, report);
    // Another amount or an undocumented status still shows that an order exists (rule 5), but not
    // which one the create made: it is marked created, and bound by the first clean report.
    const mismatch =
      found && !ANSWERED_ANOMALIES.includes(found.kind)
        ? found
        : ((await this.bindAttempt(known, report, found ? undefined : report.orderNo)) ?? found);
    if (mismatch)
      return this.emitAnomalyOnce(record, this.anomalyBase(record, report), report, mismatch);
    const status = report.orderStatus as PayoutStatus;
    const market = marketOf(known.currency);
    // With the market unknown, a SUCCESS → FAIL is not read as a SPEI return (rule 6).
    const transition = decidePayoutTransition(
      record,
      status,
      market?.allowsSuccessReversal ?? false,
    );
    switch (transition.kind) {
      case 'duplicate':
        return 'duplicate';
      case 'stale':
        this.logger.debug(
          `order ${report.orderNo}: ${status} after ${record?.status} ignored (out of order)`,
        );
        return 'stale';
      case 'anomaly': {
        const why = market
          ? `${transition.from} → ${status} is not allowed`
          : `${transition.from} → ${status} is not allowed while the order's market is unknown`;
        return this.emitAnomalyOnce(record, base, report, { kind: 'transition', reason: why });
      }
      case 'progress': {
        const next = {
          ...base,
          status,
          processed: base.processed.includes(status) ? base.processed : [...base.processed, status],
        };
        if (!(await this.write(next, record?.revision ?? 0))) return 'retry';
        return 'progress';
      }
      case 'outcome': {
        // A final status is known: nothing left to ask, but whether a Mexican success is returned.
        // Written with the outcome, in the same step.
        const open = this.attempts.openChangeAfterFinal(
          base.mchOrderNo ?? report.mchOrderNo,
          status,
          known.currency,
          transition.reversed,
        );
        const emitted = await this.runClaimed(
          record,
          base,
          report,
          { status, reversed: transition.reversed },
          () => this.emitOutcome(report, known.currency, transition.event, transition.reversed),
          open,
        );
        return emitted === 'retry' ? 'retry' : 'emitted';
      }
    }
  }

  /**
   * Records what `createPayout` learned of an order (its merchant, currency and amount), filling in
   * a record that a webhook created first (rule 6) without touching its statuses or claim.
   */
  async remember(order: {
    orderNo: string;
    mchOrderNo: string;
    merchantId: string;
    currency: PayoutCurrency;
    amount: string;
  }): Promise<void> {
    await changeByRevision(
      () => this.read(order.orderNo),
      (record) =>
        record &&
        record.currency !== undefined &&
        record.amount !== undefined &&
        record.merchantId !== undefined &&
        record.mchOrderNo !== undefined
          ? undefined
          : nextRevision<PayoutRecord>(
              {
                processed: [],
                reversed: false,
                revision: 0,
                updatedAt: 0,
                ...record,
                orderNo: order.orderNo,
              },
              {
                mchOrderNo: record?.mchOrderNo ?? order.mchOrderNo,
                merchantId: record?.merchantId ?? order.merchantId,
                currency: record?.currency ?? order.currency,
                amount: record?.amount ?? order.amount,
              },
              this.clock.now(),
            ),
      (next, expected) => this.write(next, expected),
    );
  }

  /**
   * Emits an anomaly found outside a report (a create answer that disagrees with the request).
   * A listener's error is logged, not thrown: the caller is already failing with its own error.
   */
  async reportAnomaly(fields: Omit<PayoutAnomalyFields, 'previousStatus'>): Promise<void> {
    this.logger.warn(
      `order ${fields.orderNo} (${fields.mchOrderNo}): anomaly (${fields.kind}): ${fields.reason}`,
    );
    try {
      await emitToEveryListener(
        this.events,
        PAYOUT_ANOMALY,
        new PayoutAnomalyEvent({ ...fields, previousStatus: null }),
      );
    } catch (error) {
      this.logger.error(
        `order ${fields.orderNo}: a payout.anomaly listener failed (${(error as Error).message})`,
        (error as Error).stack,
      );
    }
  }

  /**
   * The record, completed from the create attempt when it lacks the order's merchant, market or
   * amount; and the order already known under the report's mchOrderNo, by its create or an earlier
   * report: one mchOrderNo never stands for two orders (rule 7).
   */
  private async knownOrder(
    { record, attempt, sibling }: PayoutReportContext,
    report: PayoutStatusReport,
  ): Promise<KnownOrder> {
    // The context's attempt is the report's mchOrderNo's; a record under another one is a mismatch anyway.
    if (record?.mchOrderNo !== undefined && record.mchOrderNo !== report.mchOrderNo) {
      attempt = await storeCall('getAttempt', () => this.store.getAttempt(record.mchOrderNo!));
      sibling = undefined;
    }
    const shown = sibling && sibling.orderNo !== report.orderNo ? sibling.orderNo : undefined;
    return {
      merchantId: record?.merchantId ?? attempt?.merchantId,
      mchOrderNo: record?.mchOrderNo,
      currency: record?.currency ?? attempt?.currency ?? report.currency,
      amount: record?.amount ?? attempt?.amount,
      attemptOrderNo: attempt?.orderNo ?? shown,
      attempt,
    };
  }

  /**
   * Before anything is written or emitted for an order reported under a create whose answer is not
   * recorded yet (the webhook came first, or the create timed out): binds that create to `orderNo`,
   * so that a create answer naming another order is a conflict, and no call sends it again or calls
   * it rejected (rules 4 and 7); without `orderNo`, only marks it created. A create bound to another
   * order meanwhile is a mismatch.
   */
  private async bindAttempt(
    known: KnownOrder,
    report: PayoutStatusReport,
    orderNo: string | undefined,
  ): Promise<Anomaly | undefined> {
    const { attempt } = known;
    if (!attempt || attempt.orderNo !== undefined || attempt.mchOrderNo !== report.mchOrderNo)
      return undefined;
    if (attempt.state === 'rejected' && attempt.notice === undefined)
      this.logger.warn(
        `order ${report.orderNo} (${report.mchOrderNo}): reported ${report.orderStatus} after its create was refused`,
      );
    if (orderNo === undefined) {
      if (attempt.state !== 'created')
        await this.attempts.markCreated(undefined, report.mchOrderNo);
      return undefined;
    }
    const bound = await this.attempts.markCreated(undefined, report.mchOrderNo, orderNo);
    if (bound?.orderNo === undefined || bound.orderNo === report.orderNo) return undefined;
    return {
      kind: 'mchOrderNo',
      reason: `mchOrderNo ${report.mchOrderNo} was created as order ${bound.orderNo}, not ${report.orderNo}`,
    };
  }

  /** The record to build on: the stored one, or a new one from what is known. */
  private baseRecord(
    record: PayoutRecord | undefined,
    report: PayoutStatusReport,
    known: KnownOrder,
  ): PayoutRecord {
    // Every field named up front (status too), so records keep one shape however they were built.
    return {
      processed: [],
      reversed: false,
      status: undefined,
      anomalies: undefined,
      ...record,
      orderNo: report.orderNo,
      mchOrderNo: known.mchOrderNo ?? report.mchOrderNo,
      merchantId: known.merchantId ?? report.merchantId,
      currency: known.currency,
      amount:
        known.amount ??
        (known.currency && report.amount
          ? formatDecimal(report.amount, marketOf(known.currency)!.amountScale)
          : undefined),
      claim: undefined,
      revision: (record?.revision ?? 0) + 1,
      updatedAt: this.clock.now(),
    };
  }

  /** For an anomaly on an order never seen: a record that only remembers the anomaly (no index, no market). */
  private anomalyBase(record: PayoutRecord | undefined, report: PayoutStatusReport): PayoutRecord {
    if (record) return nextRevision(record, { claim: undefined }, this.clock.now());
    return {
      orderNo: report.orderNo,
      processed: [],
      reversed: false,
      revision: 1,
      updatedAt: this.clock.now(),
    };
  }

  /**
   * Emits `payout.anomaly` once per order, kind and status; the report is acknowledged. Every copy
   * of the report resolves `'anomaly'`: it settles nothing, whether or not this one emitted.
   */
  private async emitAnomalyOnce(
    record: PayoutRecord | undefined,
    base: PayoutRecord,
    report: PayoutStatusReport,
    anomaly: Anomaly,
  ): Promise<PayoutReportResult | 'retry'> {
    const key = `${anomaly.kind}:${report.orderStatus}`;
    if (record?.anomalies?.includes(key)) return 'anomaly';
    this.logger.warn(
      `order ${report.orderNo} (${report.mchOrderNo}): anomaly (${anomaly.kind}): ${anomaly.reason}; no payout event emitted`,
    );
    const event = new PayoutAnomalyEvent({
      kind: anomaly.kind,
      merchantId: report.merchantId,
      mchOrderNo: report.mchOrderNo,
      orderNo: report.orderNo,
      previousStatus: record?.status ?? null,
      status: report.orderStatus,
      reason: anomaly.reason,
      raw: report.raw,
    });
    const done = await this.runClaimed(record, base, report, { anomaly: key }, async () => {
      await emitToEveryListener(this.events, PAYOUT_ANOMALY, event);
    });
    return done === 'retry' ? 'retry' : 'anomaly';
  }

  /**
   * Claims the order (one compare-and-set from `record`), runs `emit` while keeping the claim alive,
   * then records `change` and drops the claim. Resolves `'retry'` when another writer got there first.
   */
  private async runClaimed(
    record: PayoutRecord | undefined,
    base: PayoutRecord,
    report: PayoutStatusReport,
    change: ClaimedChange,
    emit: () => Promise<void>,
    open?: PayoutOpenChange,
  ): Promise<'done' | 'retry'> {
    const { claimTtlMs } = this.config.delivery;
    const token = this.tokenPrefix + (++this.claimCount).toString(36);
    const claimStatus = PAYOUT_STATUSES.includes(report.orderStatus as PayoutStatus)
      ? (report.orderStatus as PayoutStatus)
      : 'PROCESSING';
    const claimed: PayoutRecord = {
      ...base,
      claim: {
        status: claimStatus,
        token,
        expiresAt: this.clock.now() + claimTtlMs,
      },
    };
    if (!(await this.write(claimed, record?.revision ?? 0))) return 'retry';
    // A listener slower than the claim's life must not let a copy run it again meanwhile.
    let renewing: Promise<unknown> = Promise.resolve();
    const renewer = setInterval(
      () => {
        renewing = renewing
          .then(() => this.renewClaim(report.orderNo, token, claimed))
          .catch(() => undefined);
      },
      Math.max(5, Math.floor(claimTtlMs / 3)),
    );
    renewer.unref();
    const stopRenewing = async () => {
      clearInterval(renewer);
      await renewing;
    };
    try {
      await emit();
    } catch (error) {
      clearInterval(renewer);
      await renewing;
      // Let the next delivery run the listeners again; if even that fails, the claim expires.
      await this.settleClaim(report.orderNo, token, undefined).catch((e: unknown) =>
        this.logger.warn(
          `order ${report.orderNo}: could not release its claim (${(e as Error).message}); it expires in ${claimTtlMs} ms`,
        ),
      );
      throw error;
    }
    // The claim stays renewed until the outcome is recorded: no copy may take the order meanwhile.
    // Usually one write from the record the claim wrote (a renewal or a store hiccup sends it the long way).
    const recorded = await this.write(
      settledRecord(claimed, token, change, this.clock.now()),
      claimed.revision,
      open,
    ).catch(() => false);
    if (!recorded) await this.confirm({ report, token, change, claimed, stopRenewing, open });
    else await stopRenewing();
    return 'done';
  }

  /**
   * Records an emitted change: the delivery is acknowledged only once it is in the store. After a
   * few quick tries it rejects with `PayoutStoreError` (the webhook answers 503, so Cashy retries)
   * and goes on trying in the background, holding the in-process claim so no copy on this replica
   * runs the listeners again meanwhile; a copy that arrives once it is recorded is a duplicate.
   */
  private async confirm(emitted: EmittedChange): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= CONFIRM_ATTEMPTS; attempt++) {
      try {
        await this.record(emitted);
        return;
      } catch (error) {
        lastError = error;
        if (attempt < CONFIRM_ATTEMPTS) await sleep(20 * 2 ** attempt);
      }
    }
    const { report, token } = emitted;
    this.logger.error(
      `order ${report.orderNo}: ${report.orderStatus} emitted but not recorded yet (${(lastError as Error).message}); answering 503 and still trying in the background`,
    );
    this.holding.set(report.orderNo, token);
    void this.confirmInBackground(emitted);
    throw new PayoutStoreError('record the outcome', lastError);
  }

  private async confirmInBackground(emitted: EmittedChange): Promise<void> {
    const { report } = emitted;
    while (!this.stopped) {
      await sleep(CONFIRM_BACKGROUND_MS);
      if (
        await this.record(emitted).then(
          () => true,
          () => false,
        )
      ) {
        this.logger.log(`order ${report.orderNo}: ${report.orderStatus} recorded after all`);
        this.holding.delete(report.orderNo);
        return;
      }
    }
    this.logger.error(
      `order ${report.orderNo}: ${report.orderStatus} emitted but not recorded before shutdown; a later copy may emit it again`,
    );
    await emitted.stopRenewing();
    this.holding.delete(report.orderNo);
  }

  /** Records an emitted change and ends the claim's renewal; rejects when the store fails. */
  private async record(emitted: EmittedChange): Promise<void> {
    const { report, token, change, claimed, open } = emitted;
    await this.settleClaim(report.orderNo, token, change, claimed, open);
    await emitted.stopRenewing();
  }

  /**
   * Moves our claim's expiry forward, if the claim is still ours. A record that vanished under it
   * (a store restarted empty) is written again from `claimed`, so copies keep finding the claim.
   */
  private async renewClaim(orderNo: string, token: string, claimed: PayoutRecord): Promise<void> {
    const expiresAt = this.clock.now() + this.config.delivery.claimTtlMs;
    await changeByRevision(
      () => this.read(orderNo),
      (record) =>
        record && record.claim?.token !== token
          ? undefined
          : nextRevision(
              record ?? { ...claimed, revision: 0 },
              { claim: { ...claimed.claim!, expiresAt } },
              this.clock.now(),
            ),
      (next, expected) => this.write(next, expected),
    );
  }

  private read(orderNo: string): Promise<PayoutRecord | undefined> {
    return storeCall('get', () => this.store.get(orderNo));
  }

  private write(
    record: PayoutRecord,
    expectedRevision: number,
    open?: PayoutOpenChange,
  ): Promise<boolean> {
    return storeCall('compareAndSet', () =>
      open
        ? this.store.compareAndSet(record, expectedRevision, open)
        : this.store.compareAndSet(record, expectedRevision),
    );
  }

  /**
   * Drops our claim; with `change`, also records it. With `claimed` (what our claim wrote), a record
   * that vanished meanwhile (a store restarted empty) is written again with the change recorded.
   */
  private async settleClaim(
    orderNo: string,
    token: string,
    change: ClaimedChange | undefined,
    claimed?: PayoutRecord,
    open?: PayoutOpenChange,
  ): Promise<void> {
    await changeByRevision(
      () => this.read(orderNo),
      (record) => {
        if (!record && (!change || !claimed)) return undefined;
        if (record && !change && record.claim?.token !== token) return undefined;
        return settledRecord(
          record ?? { ...claimed!, revision: 0 },
          token,
          change,
          this.clock.now(),
        );
      },
      (next, expected) => this.write(next, expected, change ? open : undefined),
    );
  }

  private async emitOutcome(
    report: PayoutStatusReport,
    currency: PayoutCurrency | undefined,
    event: 'succeeded' | 'failed',
    reversed: boolean,
  ): Promise<void> {
    const scale = marketOf(currency)?.amountScale;
    const fields: PayoutEventFields = {
      merchantId: report.merchantId,
      mchOrderNo: report.mchOrderNo,
      orderNo: report.orderNo,
      channelOrderNo: report.channelOrderNo,
      amount: eventAmount(report.amount, report.raw.amount, scale),
      fee: eventAmount(report.fee, report.raw.fee, scale),
      status: report.orderStatus as PayoutStatus,
      completionTime: report.completionTime,
      resultDesc: report.resultDesc,
      raw: report.raw,
    };
    if (event === 'succeeded') {
      await emitToEveryListener(
        this.events,
        PAYOUT_SUCCEEDED,
        new PayoutSucceededEvent(fields as PayoutEventFields & { status: 'SUCCESS' }),
      );
    } else {
      await emitToEveryListener(
        this.events,
        PAYOUT_FAILED,
        new PayoutFailedEvent({
          ...(fields as PayoutEventFields & { status: 'FAIL' | 'CANCEL' }),
          reversed,
        }),
      );
    }
    this.logger.log(
      `order ${report.orderNo} (${report.mchOrderNo}): payout.${event}${reversed ? ' (reversed)' : ''}`,
    );
  }
}

/** An amount for an event: at the market's scale, or as the gateway wrote it when the market is unknown. */
function eventAmount(
  parsed: ParsedDecimal | null,
  sent: unknown,
  scale: number | undefined,
): string | null {
  if (parsed === null) return null;
  if (scale !== undefined) return formatDecimal(parsed, scale);
  return typeof sent === 'string' ? sent.trim() : String(sent);
}

/** Whether a value known (when it is) differs from the reported one. */
function conflicts(known: string | undefined, reported: string): boolean {
  return known !== undefined && known !== reported;
}

/** The first way a report contradicts what is recorded (money-safety rule 7), if any. */
function findMismatch(known: KnownOrder, report: PayoutStatusReport): Anomaly | undefined {
  if (conflicts(report.bodyMerchantId, report.merchantId)) {
    return {
      kind: 'merchant',
      reason: `the body names merchant ${report.bodyMerchantId} but merchant ${report.merchantId} signed it`,
    };
  }
  if (conflicts(known.merchantId, report.merchantId)) {
    return {
      kind: 'merchant',
      reason: `the order was created under merchant ${known.merchantId} and reported by merchant ${report.merchantId}`,
    };
  }
  // Two sides of rule 7 (never both set): the record's mchOrderNo, and the order known under the mchOrderNo.
  if (conflicts(known.mchOrderNo, report.mchOrderNo)) {
    return {
      kind: 'mchOrderNo',
      reason: `order ${report.orderNo} is recorded under mchOrderNo ${known.mchOrderNo}, not ${report.mchOrderNo}`,
    };
  }
  if (conflicts(known.attemptOrderNo, report.orderNo)) {
    return {
      kind: 'mchOrderNo',
      reason: `mchOrderNo ${report.mchOrderNo} was created as order ${known.attemptOrderNo}, not ${report.orderNo}`,
    };
  }
  if (
    known.amount !== undefined &&
    report.amount !== null &&
    compareDecimals(parseDecimal(known.amount)!, report.amount) !== 0
  ) {
    return {
      kind: 'amount',
      reason: `the order was created for ${known.amount}${known.currency ? ` ${known.currency}` : ''}; the report says ${String(report.raw.amount)}`,
    };
  }
  if (!PAYOUT_STATUSES.includes(report.orderStatus as PayoutStatus)) {
    return {
      kind: 'status',
      reason: `orderStatus ${JSON.stringify(report.orderStatus)} is not one Cashy documents`,
    };
  }
  return undefined;
}

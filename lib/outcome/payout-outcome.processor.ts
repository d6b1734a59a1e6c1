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
  type PayoutEventFields,
  PayoutFailedEvent,
  PayoutSucceededEvent,
} from '../events/payout.events';
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
import {
  type CreateRequest,
  PayoutAttemptLedger,
  retryInBackground,
  storeCall,
  writeQuickly,
} from './payout-attempt.ledger';
import { decidePayoutTransition } from './payout-state-machine';
import type { PayoutReportResult, PayoutStatusReport } from './payout-status-report.interface';

/** What a claim was taken for: a status to record as processed, or an anomaly to record as emitted. */
type ClaimedChange = { status: PayoutStatus; reversed: boolean } | { anomaly: string };

/** A report the rules forbid: what kind, and a sentence saying why. */
interface Anomaly {
  kind: PayoutAnomalyKind;
  reason: string;
}

/** What is known of an order before a report: its record, completed from the create attempt. */
interface KnownOrder {
  merchantId?: string;
  mchOrderNo?: string;
  currency?: PayoutCurrency;
  amount?: string;
  /** The order already known under the report's mchOrderNo (its create's, or an earlier report's). */
  attemptOrderNo?: string;
  attempt?: PayoutAttempt;
}

/** `record` with our claim (if it is still ours) dropped and, with `change`, that change recorded. */
function settledRecord(
  record: PayoutRecord,
  token: string,
  change: ClaimedChange | undefined,
  now: number,
): PayoutRecord {
  const claim = record.claim?.token === token ? undefined : record.claim;
  const next = nextRevision(record, { claim }, now);
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

/** A change whose listeners ran under the claim `token`, and what it takes to record it. */
interface EmittedChange {
  report: PayoutStatusReport;
  token: string;
  change: ClaimedChange;
  /** The record the claim wrote: written again, with the change, if the store lost it. */
  claimed: PayoutRecord;
  stopRenewing: () => Promise<void>;
  open?: PayoutOpenChange;
}

/** Anomalies of a report that still show its create was answered with an order. */
const ANSWERED_ANOMALIES: readonly PayoutAnomalyKind[] = ['amount', 'status'];

/** Waiting deliveries poll the store from every 5 ms up to every 100 ms, to spare a shared store. */
const CLAIM_POLL_MS = { first: 5, max: 100 };

/**
 * Turns status reports (webhooks and queries alike) into exactly-once events: checks each against
 * what is recorded (rule 7), claims the order, runs the listeners, then records what was emitted.
 * A listener failure releases the claim, so the next delivery runs them again.
 */
@Injectable()
export class PayoutOutcomeProcessor implements OnModuleDestroy {
  private readonly logger = new Logger('PayoutWebhook');
  private stopped = false;
  // Claim tokens: random per instance, counted per claim, so unique across replicas and deliveries.
  private readonly tokenPrefix = `${randomUUID()}-`;
  private claimCount = 0;
  /** Orders whose outcome this process emitted and is still recording: copies wait. */
  private readonly holding = new Set<string>();

  constructor(
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    @Inject(PAYOUT_EVENT_BUS) private readonly events: EventEmitter2,
    private readonly config: PayoutConfig,
    private readonly attempts: PayoutAttemptLedger,
    private readonly clock: PayoutClock,
  ) {}

  onModuleDestroy(): void {
    this.stopped = true;
  }

  /**
   * Applies one report; resolves once its listeners (if any) have all succeeded. Rejects with the
   * listener's error, `PayoutBusyError` (another delivery holds the order) or `PayoutStoreError`.
   */
  async apply(report: PayoutStatusReport): Promise<PayoutReportResult> {
    const giveUpAt = performance.now() + this.config.delivery.claimWaitMs; // local, not shared time
    let pollMs = CLAIM_POLL_MS.first;
    for (;;) {
      const context = await readReportContext(this.store, report.orderNo, report.mchOrderNo);
      const { record } = context;
      const claim = record?.claim;
      if (
        this.holding.has(report.orderNo) ||
        (claim && (await this.clock.stillHeld(claim.expiresAt, claim.expiresAt - record.updatedAt)))
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
    return this.applyTransition(record, base, report, known.currency);
  }

  /** A report that matches what is known, through the state machine. */
  private async applyTransition(
    record: PayoutRecord | undefined,
    base: PayoutRecord,
    report: PayoutStatusReport,
    currency: PayoutCurrency | undefined,
  ): Promise<PayoutReportResult | 'retry'> {
    const status = report.orderStatus as PayoutStatus;
    const market = marketOf(currency);
    // With the market unknown, a SUCCESS → FAIL is not read as a SPEI return (rule 6).
    const decided = decidePayoutTransition(record, status, market?.allowsSuccessReversal ?? false);
    switch (decided.kind) {
      case 'duplicate':
        return 'duplicate';
      case 'stale':
        this.logger.debug(
          `order ${report.orderNo}: ${status} after ${record?.status} ignored (out of order)`,
        );
        return 'stale';
      case 'anomaly': {
        const why = market
          ? `${decided.from} → ${status} is not allowed`
          : `${decided.from} → ${status} is not allowed while the order's market is unknown`;
        return this.emitAnomalyOnce(record, base, report, { kind: 'transition', reason: why });
      }
      case 'progress': {
        const processed = base.processed.includes(status)
          ? base.processed
          : [...base.processed, status];
        if (!(await this.write({ ...base, status, processed }, record?.revision ?? 0)))
          return 'retry';
        return 'progress';
      }
      case 'outcome': {
        // Nothing left to ask but whether a Mexican success is returned: written with the outcome.
        const { event, reversed } = decided;
        const mchOrderNo = base.mchOrderNo ?? report.mchOrderNo;
        const open = this.attempts.openChangeAfterFinal(mchOrderNo, status, currency, reversed);
        const emit = () => this.emitOutcome(report, currency, event, reversed);
        return this.runClaimed(record, base, report, { status, reversed }, emit, open);
      }
    }
  }

  /** Records what `createPayout` learned of an order, filling in a webhook's record (rule 6). */
  async remember(order: CreateRequest & { orderNo: string }): Promise<void> {
    await changeByRevision(
      () => this.read(order.orderNo),
      (record) => {
        if (
          record?.currency !== undefined &&
          record.amount !== undefined &&
          record.merchantId !== undefined &&
          record.mchOrderNo !== undefined
        )
          return undefined;
        const base = { processed: [], reversed: false, revision: 0, updatedAt: 0, ...record };
        return nextRevision<PayoutRecord>(
          { ...base, orderNo: order.orderNo },
          {
            mchOrderNo: record?.mchOrderNo ?? order.mchOrderNo,
            merchantId: record?.merchantId ?? order.merchantId,
            currency: record?.currency ?? order.currency,
            amount: record?.amount ?? order.amount,
          },
          this.clock.now(),
        );
      },
      (next, expected) => this.write(next, expected),
    );
  }

  /**
   * Emits an anomaly found outside a report (a create answer that disagrees with the request); a
   * listener's error is only logged: the caller is already failing with its own.
   */
  async reportAnomaly(fields: Omit<PayoutAnomalyFields, 'previousStatus'>): Promise<void> {
    this.logger.warn(
      `order ${fields.orderNo} (${fields.mchOrderNo}): anomaly (${fields.kind}): ${fields.reason}`,
    );
    try {
      const event = new PayoutAnomalyEvent({ ...fields, previousStatus: null });
      await emitToEveryListener(this.events, PAYOUT_ANOMALY, event);
    } catch (error) {
      this.logger.error(
        `order ${fields.orderNo}: a payout.anomaly listener failed (${(error as Error).message})`,
        (error as Error).stack,
      );
    }
  }

  /** The record, completed from the create attempt; one mchOrderNo never has two orders (rule 7). */
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
   * Binds a create whose answer is not recorded yet (the webhook came first) to `orderNo` before
   * anything is emitted, so it is never sent again nor called rejected (rules 4 and 7); without
   * `orderNo`, only marks it created. A create bound to another order meanwhile is a mismatch.
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
    return createdAsAnother(report, bound.orderNo);
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

  /** For an anomaly: the record without our claim, or a bare one for an order never seen. */
  private anomalyBase(record: PayoutRecord | undefined, report: PayoutStatusReport): PayoutRecord {
    const now = this.clock.now();
    if (record) return nextRevision(record, { claim: undefined }, now);
    return { orderNo: report.orderNo, processed: [], reversed: false, revision: 1, updatedAt: now };
  }

  /** Emits `payout.anomaly` once per order, kind and status; every copy resolves `'anomaly'`. */
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
    return this.runClaimed(record, base, report, { anomaly: key }, () =>
      emitToEveryListener(this.events, PAYOUT_ANOMALY, event),
    );
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
  ): Promise<PayoutReportResult | 'retry'> {
    const { claimTtlMs } = this.config.delivery;
    const token = this.tokenPrefix + (++this.claimCount).toString(36);
    const status = PAYOUT_STATUSES.includes(report.orderStatus as PayoutStatus)
      ? (report.orderStatus as PayoutStatus)
      : 'PROCESSING';
    const expiresAt = this.clock.now() + claimTtlMs;
    const claimed: PayoutRecord = { ...base, claim: { status, token, expiresAt } };
    if (!(await this.write(claimed, record?.revision ?? 0))) return 'retry';
    const stopRenewing = this.keepClaim(report.orderNo, token, claimed);
    try {
      await emit();
    } catch (error) {
      await stopRenewing();
      // Let the next delivery run the listeners again; if even that fails, the claim expires.
      await this.settleClaim(report.orderNo, token).catch((e: unknown) =>
        this.logger.warn(
          `order ${report.orderNo}: could not release its claim (${(e as Error).message}); it expires in ${claimTtlMs} ms`,
        ),
      );
      throw error;
    }
    // Renewed until the outcome is recorded: usually one write from the record the claim wrote.
    const recorded = await this.write(
      settledRecord(claimed, token, change, this.clock.now()),
      claimed.revision,
      open,
    ).catch(() => false);
    if (!recorded) await this.confirm({ report, token, change, claimed, stopRenewing, open });
    else await stopRenewing();
    return 'status' in change ? 'emitted' : 'anomaly';
  }

  /** Renews the claim every third of its life, so a slow listener never lets a copy run again. */
  private keepClaim(orderNo: string, token: string, claimed: PayoutRecord): () => Promise<void> {
    let renewing: Promise<unknown> = Promise.resolve();
    const renewer = setInterval(
      () => {
        renewing = renewing
          .then(() => this.renewClaim(orderNo, token, claimed))
          .catch(() => undefined);
      },
      Math.max(5, Math.floor(this.config.delivery.claimTtlMs / 3)),
    );
    renewer.unref();
    return async () => {
      clearInterval(renewer);
      await renewing;
    };
  }

  /**
   * Records an emitted change before the delivery is acknowledged. Failing that, rejects with
   * `PayoutStoreError` (503: Cashy retries) and goes on in the background, holding the order in
   * process so no copy here runs the listeners again meanwhile.
   */
  private async confirm(emitted: EmittedChange): Promise<void> {
    const { report } = emitted;
    try {
      await writeQuickly(() => this.record(emitted));
    } catch (error) {
      this.logger.error(
        `order ${report.orderNo}: ${report.orderStatus} emitted but not recorded yet (${(error as Error).message}); answering 503 and still trying in the background`,
      );
      this.holding.add(report.orderNo);
      void this.confirmInBackground(emitted);
      throw new PayoutStoreError('record the outcome', error);
    }
  }

  private async confirmInBackground(emitted: EmittedChange): Promise<void> {
    const { report } = emitted;
    if (
      await retryInBackground(
        () => this.record(emitted),
        () => this.stopped,
      )
    ) {
      this.logger.log(`order ${report.orderNo}: ${report.orderStatus} recorded after all`);
    } else {
      this.logger.error(
        `order ${report.orderNo}: ${report.orderStatus} emitted but not recorded before shutdown; a later copy may emit it again`,
      );
      await emitted.stopRenewing();
    }
    this.holding.delete(report.orderNo);
  }

  /** Records an emitted change and ends the claim's renewal; rejects when the store fails. */
  private async record(emitted: EmittedChange): Promise<void> {
    await this.settleClaim(emitted.report.orderNo, emitted.token, emitted);
    await emitted.stopRenewing();
  }

  /** Moves our claim's expiry forward; a record that vanished (store restarted) is written again. */
  private async renewClaim(orderNo: string, token: string, claimed: PayoutRecord): Promise<void> {
    const expiresAt = this.clock.now() + this.config.delivery.claimTtlMs;
    await changeByRevision(
      () => this.read(orderNo),
      (record) => {
        if (record && record.claim?.token !== token) return undefined;
        const claim = { ...claimed.claim!, expiresAt };
        return nextRevision(record ?? { ...claimed, revision: 0 }, { claim }, this.clock.now());
      },
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

  /** Drops our claim, recording `emitted`'s change if given (rewriting a vanished record). */
  private async settleClaim(
    orderNo: string,
    token: string,
    emitted?: EmittedChange,
  ): Promise<void> {
    await changeByRevision(
      () => this.read(orderNo),
      (record) => {
        if (!emitted && record?.claim?.token !== token) return undefined;
        const base = record ?? { ...emitted!.claimed, revision: 0 };
        return settledRecord(base, token, emitted?.change, this.clock.now());
      },
      (next, expected) => this.write(next, expected, emitted?.open),
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
      const success = fields as PayoutEventFields & { status: 'SUCCESS' };
      await emitToEveryListener(this.events, PAYOUT_SUCCEEDED, new PayoutSucceededEvent(success));
    } else {
      const failure = {
        ...(fields as PayoutEventFields & { status: 'FAIL' | 'CANCEL' }),
        reversed,
      };
      await emitToEveryListener(this.events, PAYOUT_FAILED, new PayoutFailedEvent(failure));
    }
    this.logger.log(
      `order ${report.orderNo} (${report.mchOrderNo}): payout.${event}${reversed ? ' (reversed)' : ''}`,
    );
  }
}

/** An event's amount: at the market's scale, else as the gateway wrote it. */
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

/** A report naming another order than the one its mchOrderNo was created as. */
function createdAsAnother(report: PayoutStatusReport, createdAs: string): Anomaly {
  return {
    kind: 'mchOrderNo',
    reason: `mchOrderNo ${report.mchOrderNo} was created as order ${createdAs}, not ${report.orderNo}`,
  };
}

/** The first way a report contradicts what is recorded (money-safety rule 7), if any. */
function findMismatch(known: KnownOrder, report: PayoutStatusReport): Anomaly | undefined {
  if (conflicts(report.bodyMerchantId, report.merchantId))
    return {
      kind: 'merchant',
      reason: `the body names merchant ${report.bodyMerchantId} but merchant ${report.merchantId} signed it`,
    };
  if (conflicts(known.merchantId, report.merchantId))
    return {
      kind: 'merchant',
      reason: `the order was created under merchant ${known.merchantId} and reported by merchant ${report.merchantId}`,
    };
  if (conflicts(known.mchOrderNo, report.mchOrderNo))
    return {
      kind: 'mchOrderNo',
      reason: `order ${report.orderNo} is recorded under mchOrderNo ${known.mchOrderNo}, not ${report.mchOrderNo}`,
    };
  if (conflicts(known.attemptOrderNo, report.orderNo))
    return createdAsAnother(report, known.attemptOrderNo!);
  if (
    known.amount !== undefined &&
    report.amount !== null &&
    compareDecimals(parseDecimal(known.amount)!, report.amount) !== 0
  )
    return {
      kind: 'amount',
      reason: `the order was created for ${known.amount}${known.currency ? ` ${known.currency}` : ''}; the report says ${String(report.raw.amount)}`,
    };
  if (!PAYOUT_STATUSES.includes(report.orderStatus as PayoutStatus))
    return {
      kind: 'status',
      reason: `orderStatus ${JSON.stringify(report.orderStatus)} is not one Cashy documents`,
    };
  return undefined;
}

import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import { PayoutError } from '../errors/payout.error';
import { PayoutStoreError } from '../errors/payout-store.error';
import { PayoutConfig } from '../options/payout-config';
import { PAYOUT_FAILED, PAYOUT_SUCCEEDED } from '../events/payout-event-names.constants';
import { PayoutFailedEvent } from '../events/payout-failed.event';
import type { PayoutEventFields } from '../events/payout-event';
import { PayoutSucceededEvent } from '../events/payout-succeeded.event';
import type { PayoutCurrency, PayoutStatus } from '../interfaces/payout-types.interface';
import { marketOf } from '../markets/payout-markets';
import { formatDecimal } from '../money/decimal';
import { PAYOUT_EVENT_BUS, PAYOUT_STORE } from '../payout.constants';
import type { PayoutRecord, PayoutStore } from '../store/payout-store.interface';
import { sleep } from '../utils/sleep';
import { decidePayoutTransition } from './payout-state-machine';
import type { PayoutReportResult, PayoutStatusReport } from './payout-status-report.interface';

/** A status whose listeners have all succeeded, to record as processed. */
interface PayoutOutcome {
  status: PayoutStatus;
  reversed: boolean;
}

/** `record` with our claim (if it is still ours) dropped and, with `outcome`, that status processed. */
function settledRecord(record: PayoutRecord, token: string, outcome: PayoutOutcome | undefined): PayoutRecord {
  return {
    orderNo: record.orderNo,
    mchOrderNo: record.mchOrderNo,
    merchantId: record.merchantId,
    currency: record.currency,
    status: outcome ? outcome.status : record.status,
    processed: outcome && !record.processed.includes(outcome.status) ? [...record.processed, outcome.status] : record.processed,
    reversed: record.reversed || (outcome?.reversed ?? false),
    claim: record.claim?.token === token ? undefined : record.claim,
    revision: record.revision + 1,
    updatedAt: Date.now(),
  };
}

// Claim tokens: random per process, counted per claim, so unique across replicas and deliveries
// without drawing fresh randomness for every notification.
const CLAIM_TOKEN_PREFIX = `${randomUUID()}-`;
let claimCount = 0;

/** Another delivery of the same order is still running its listeners; try again later. */
export class PayoutBusyError extends PayoutError {}

/** Waiting deliveries poll the store from every 5 ms up to every 100 ms, to spare a shared store. */
const CLAIM_POLL_MS = { first: 5, max: 100 };
const CONFIRM_ATTEMPTS = 5;
const LOG_CONTEXT = 'PayoutWebhook';

/**
 * Turns status reports (webhooks and queries alike) into exactly-once events: decides the
 * transition, claims the order, runs the listeners, then records the status as processed. A
 * listener failure releases the claim, so the next delivery runs the listeners again.
 */
@Injectable()
export class PayoutOutcomeProcessor {
  private readonly logger = new Logger(LOG_CONTEXT);

  constructor(
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    @Inject(PAYOUT_EVENT_BUS) private readonly events: EventEmitter2,
    private readonly config: PayoutConfig,
  ) {}

  /**
   * Applies one report; resolves once its listeners (if any) have all succeeded. Rejects with the
   * listener's error, `PayoutBusyError` (another delivery holds the order) or `PayoutStoreError`.
   */
  async apply(report: PayoutStatusReport): Promise<PayoutReportResult> {
    const { claimTtlMs, claimWaitMs } = this.config.delivery;
    const giveUpAt = Date.now() + claimWaitMs;
    let pollMs = CLAIM_POLL_MS.first;
    for (;;) {
      const record = await this.read(report.orderNo);
      const now = Date.now();
      if (record?.claim && record.claim.expiresAt > now) {
        // A copy of a status already handled needs nothing from the holder.
        if (record.processed.includes(report.orderStatus)) return 'duplicate';
        if (now >= giveUpAt) throw new PayoutBusyError(`order ${report.orderNo} is being processed by another delivery`);
        await sleep(pollMs);
        pollMs = Math.min(pollMs * 2, CLAIM_POLL_MS.max);
        continue;
      }
      const currency = record?.currency ?? report.currency;
      const market = marketOf(currency);
      // With the market unknown, a SUCCESS → FAIL is reported as a reversal: a missed failure costs more than a spurious one.
      const transition = decidePayoutTransition(record, report.orderStatus, market?.allowsSuccessReversal ?? true);

      switch (transition.kind) {
        case 'duplicate':
          return 'duplicate';
        case 'stale':
          this.logger.debug(`order ${report.orderNo}: ${report.orderStatus} after ${record?.status} ignored (out of order)`);
          return 'stale';
        case 'anomaly':
          this.logger.warn(`order ${report.orderNo}: ${transition.from} → ${report.orderStatus} is not a valid change; nothing emitted`);
          return 'anomaly';
        case 'progress': {
          const next = this.nextRecord(record, report, currency, { status: report.orderStatus, processed: report.orderStatus });
          if (await this.write(next, record?.revision ?? 0)) return 'progress';
          continue;
        }
        case 'outcome': {
          const token = CLAIM_TOKEN_PREFIX + (++claimCount).toString(36);
          const claimed = this.nextRecord(record, report, currency, {
            claim: { status: report.orderStatus, token, expiresAt: now + claimTtlMs },
          });
          if (!(await this.write(claimed, record?.revision ?? 0))) continue;
          try {
            await this.emit(report, currency, transition.event, transition.reversed);
          } catch (error) {
            // Let the next delivery run the listeners again; if even that fails, the claim expires.
            await this.settleClaim(report.orderNo, token, undefined).catch((e: unknown) =>
              this.logger.warn(`order ${report.orderNo}: could not release its claim (${(e as Error).message}); it expires in ${claimTtlMs} ms`),
            );
            throw error;
          }
          // Record the outcome with one write from the record our claim wrote (nobody else writes an
          // order while we hold it); only if that fails does `confirm` read and retry.
          const outcome = { status: report.orderStatus, reversed: transition.reversed };
          const confirmed = await this.write(settledRecord(claimed, token, outcome), claimed.revision).catch(() => false);
          if (!confirmed) await this.confirm(report, token, outcome);
          return 'emitted';
        }
      }
    }
  }

  /** What the store holds for an order, by Cashy's orderNo. */
  recall(orderNo: string): Promise<PayoutRecord | undefined> {
    return this.store.get(orderNo);
  }

  /** What the store holds for an order, by your mchOrderNo. */
  recallByMchOrderNo(mchOrderNo: string): Promise<PayoutRecord | undefined> {
    return this.store.findByMchOrderNo(mchOrderNo);
  }

  /** Records what `createPayout` learned, so later reports know the order's account and currency. */
  async remember(order: Pick<PayoutStatusReport, 'orderNo' | 'mchOrderNo' | 'merchantId'>, currency: PayoutCurrency): Promise<void> {
    // Revision 0 means "no record yet": one insert-if-absent write, a no-op when the order is known.
    await this.write(this.nextRecord(undefined, order, currency, {}), 0);
  }

  private nextRecord(
    record: PayoutRecord | undefined,
    report: Pick<PayoutStatusReport, 'orderNo' | 'mchOrderNo' | 'merchantId'>,
    currency: PayoutCurrency | undefined,
    change: { status?: PayoutStatus; processed?: PayoutStatus; reversed?: boolean; claim?: PayoutRecord['claim'] },
  ): PayoutRecord {
    return {
      orderNo: report.orderNo,
      mchOrderNo: record?.mchOrderNo ?? report.mchOrderNo,
      merchantId: record?.merchantId ?? report.merchantId,
      currency,
      status: change.status ?? record?.status,
      processed: change.processed && !record?.processed.includes(change.processed) ? [...(record?.processed ?? []), change.processed] : (record?.processed ?? []),
      reversed: change.reversed ?? record?.reversed ?? false,
      claim: change.claim,
      revision: (record?.revision ?? 0) + 1,
      updatedAt: Date.now(),
    };
  }

  /**
   * Records an emitted outcome. The listeners have succeeded, so the delivery is acknowledged even
   * if the store keeps failing: answering 5xx would make Cashy deliver, and the listeners run, again.
   */
  private async confirm(report: PayoutStatusReport, token: string, outcome: PayoutOutcome): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.settleClaim(report.orderNo, token, outcome);
        return;
      } catch (error) {
        if (attempt >= CONFIRM_ATTEMPTS) {
          this.logger.error(`order ${report.orderNo}: ${report.orderStatus} emitted but not recorded (${(error as Error).message}); a later duplicate may emit it again`);
          return;
        }
        await sleep(20 * 2 ** attempt);
      }
    }
  }

  private async read(orderNo: string): Promise<PayoutRecord | undefined> {
    try {
      return await this.store.get(orderNo);
    } catch (error) {
      throw new PayoutStoreError('get', error);
    }
  }

  private async write(record: PayoutRecord, expectedRevision: number): Promise<boolean> {
    try {
      return await this.store.compareAndSet(record, expectedRevision);
    } catch (error) {
      throw new PayoutStoreError('compareAndSet', error);
    }
  }

  /** Drops our claim; with `outcome`, also records the status as processed. */
  private async settleClaim(orderNo: string, token: string, outcome: PayoutOutcome | undefined): Promise<void> {
    for (;;) {
      const record = await this.read(orderNo);
      if (!record) return;
      if (!outcome && record.claim?.token !== token) return;
      if (await this.write(settledRecord(record, token, outcome), record.revision)) return;
    }
  }

  private async emit(report: PayoutStatusReport, currency: PayoutCurrency | undefined, event: 'succeeded' | 'failed', reversed: boolean): Promise<void> {
    const scale = marketOf(currency)?.amountScale;
    const fields: PayoutEventFields = {
      merchantId: report.merchantId,
      mchOrderNo: report.mchOrderNo,
      orderNo: report.orderNo,
      channelOrderNo: report.channelOrderNo,
      amount: report.amount && formatDecimal(report.amount, scale ?? 0),
      fee: report.fee && formatDecimal(report.fee, scale ?? 0),
      status: report.orderStatus,
      completionTime: report.completionTime,
      resultDesc: report.resultDesc,
      raw: report.raw,
    };
    if (event === 'succeeded') {
      await this.events.emitAsync(PAYOUT_SUCCEEDED, new PayoutSucceededEvent(fields as PayoutEventFields & { status: 'SUCCESS' }));
    } else {
      await this.events.emitAsync(PAYOUT_FAILED, new PayoutFailedEvent({ ...(fields as PayoutEventFields & { status: 'FAIL' | 'CANCEL' }), reversed }));
    }
    // The static call prints the same line through the same logger; the instance one costs ~8× more per call.
    Logger.log(`order ${report.orderNo} (${report.mchOrderNo}): payout.${event}${reversed ? ' (reversed)' : ''}`, LOG_CONTEXT);
  }
}

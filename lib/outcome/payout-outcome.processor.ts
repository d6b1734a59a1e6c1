import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import { PayoutError } from '../errors/payout.error';
import { PAYOUT_FAILED, PAYOUT_SUCCEEDED } from '../events/payout-event-names.constants';
import { PayoutFailedEvent } from '../events/payout-failed.event';
import { PayoutSucceededEvent, type PayoutEventFields } from '../events/payout-succeeded.event';
import type { PayoutCurrency, PayoutStatus } from '../interfaces/payout-types.interface';
import { marketOf } from '../markets/payout-markets';
import { normalizeAmount } from '../money/decimal';
import { PAYOUT_EVENT_BUS, PAYOUT_STORE } from '../payout.constants';
import type { PayoutRecord, PayoutStore } from '../store/payout-store.interface';
import { sleep } from '../utils/sleep';
import { decidePayoutTransition } from './payout-state-machine';
import type { PayoutReportResult, PayoutStatusReport } from './payout-status-report.interface';

/** Another delivery of the same order is still running its listeners; try again later. */
export class PayoutBusyError extends PayoutError {}

/** How long a delivery may hold an order while its listeners run before others may take over. */
const CLAIM_TTL_MS = 120_000;
/** How long a concurrent delivery waits for the holder before answering "busy". */
const CLAIM_WAIT_MS = 10_000;
const CLAIM_POLL_MS = 10;

/**
 * Turns status reports (webhooks and queries alike) into exactly-once events: decides the
 * transition, claims the order, runs the listeners, then records the status as processed. A
 * listener failure releases the claim, so the next delivery runs the listeners again.
 */
@Injectable()
export class PayoutOutcomeProcessor {
  private readonly logger = new Logger('PayoutWebhook');

  constructor(
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    @Inject(PAYOUT_EVENT_BUS) private readonly events: EventEmitter2,
  ) {}

  /** Applies one report; resolves once its listeners (if any) have all succeeded. */
  async apply(report: PayoutStatusReport): Promise<PayoutReportResult> {
    const giveUpAt = Date.now() + CLAIM_WAIT_MS;
    for (;;) {
      const record = await this.store.get(report.orderNo);
      const now = Date.now();
      if (record?.claim && record.claim.expiresAt > now) {
        if (now >= giveUpAt) throw new PayoutBusyError(`order ${report.orderNo} is being processed by another delivery`);
        await sleep(CLAIM_POLL_MS);
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
          if (await this.store.compareAndSet(next, record?.revision ?? 0)) return 'progress';
          continue;
        }
        case 'outcome': {
          const token = randomUUID();
          const claimed = this.nextRecord(record, report, currency, {
            claim: { status: report.orderStatus, token, expiresAt: now + CLAIM_TTL_MS },
          });
          if (!(await this.store.compareAndSet(claimed, record?.revision ?? 0))) continue;
          try {
            await this.emit(report, currency, transition.event, transition.reversed);
          } catch (error) {
            await this.settleClaim(report.orderNo, token, undefined);
            throw error;
          }
          await this.settleClaim(report.orderNo, token, { status: report.orderStatus, reversed: transition.reversed });
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

  /** Records what `createPayout` learned, so later reports know the order's currency. */
  async remember(report: Omit<PayoutStatusReport, 'raw'> & { raw?: Record<string, unknown> }): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const record = await this.store.get(report.orderNo);
      if (record) return;
      const next = this.nextRecord(undefined, { ...report, raw: report.raw ?? {} }, report.currency, {});
      if (await this.store.compareAndSet(next, 0)) return;
    }
  }

  private nextRecord(
    record: PayoutRecord | undefined,
    report: PayoutStatusReport,
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

  /** Drops our claim; with `outcome`, also records the status as processed. */
  private async settleClaim(orderNo: string, token: string, outcome: { status: PayoutStatus; reversed: boolean } | undefined): Promise<void> {
    for (;;) {
      const record = await this.store.get(orderNo);
      if (!record) return;
      const ours = record.claim?.token === token;
      if (!outcome && !ours) return;
      const next: PayoutRecord = {
        ...record,
        status: outcome ? outcome.status : record.status,
        processed: outcome && !record.processed.includes(outcome.status) ? [...record.processed, outcome.status] : record.processed,
        reversed: record.reversed || (outcome?.reversed ?? false),
        claim: ours ? undefined : record.claim,
        revision: record.revision + 1,
        updatedAt: Date.now(),
      };
      if (await this.store.compareAndSet(next, record.revision)) return;
    }
  }

  private async emit(report: PayoutStatusReport, currency: PayoutCurrency | undefined, event: 'succeeded' | 'failed', reversed: boolean): Promise<void> {
    const scale = marketOf(currency)?.amountScale;
    const fields: PayoutEventFields = {
      merchantId: report.merchantId,
      mchOrderNo: report.mchOrderNo,
      orderNo: report.orderNo,
      ...(report.channelOrderNo !== undefined ? { channelOrderNo: report.channelOrderNo } : {}),
      amount: normalizeAmount(report.amount, scale),
      fee: normalizeAmount(report.fee, scale),
      status: report.orderStatus,
      completionTime: report.completionTime,
      resultDesc: report.resultDesc,
      raw: report.raw,
    };
    if (event === 'succeeded') {
      await this.events.emitAsync(PAYOUT_SUCCEEDED, new PayoutSucceededEvent({ ...fields, status: 'SUCCESS' }));
    } else {
      await this.events.emitAsync(PAYOUT_FAILED, new PayoutFailedEvent({ ...fields, status: report.orderStatus as 'FAIL' | 'CANCEL', reversed }));
    }
    this.logger.log(`order ${report.orderNo} (${report.mchOrderNo}): payout.${event}${reversed ? ' (reversed)' : ''}`);
  }
}

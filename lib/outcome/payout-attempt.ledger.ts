import { Inject, Injectable, Logger } from '@nestjs/common';
import { PayoutOrderConflictError, PayoutStoreError } from '../payout.errors';
import type { PayoutCurrency } from '../payout.types';
import { compareDecimals, parseDecimal } from '../markets/decimal';
import { PayoutConfig } from '../options/payout-config';
import { PayoutClock } from '../clock/payout.clock';
import { PAYOUT_STORE } from '../payout.constants';
import type {
  PayoutAttempt,
  PayoutStore,
} from '../store/payout-store.interface';

/** What a create is about: its key, amount and the account it goes out from. */
export interface CreateRequest {
  mchOrderNo: string;
  merchantId: string;
  currency: PayoutCurrency;
  amount: string;
}

/**
 * Where one `createPayout` call stands between attempts (money-safety rules 2 and 3):
 * - `uncertain`: an attempt (this call's or an earlier one's) may have created the order, so the
 *   call can no longer end in a rejection;
 * - `holdUntil`: while set, the order may exist and the create is not sent before this epoch ms
 *   (`Infinity`: never, the gateway already answered with an order); the call looks it up instead;
 * - `attempt`: the attempt record as this call last read or wrote it: a send is a compare-and-set
 *   from its revision, so two calls never both send;
 * - `orderNo`: the order the gateway already gave this mchOrderNo, if any: a lookup answering with
 *   another is not this payout.
 */
export interface CreateProgress {
  uncertain: boolean;
  holdUntil?: number;
  reason: string;
  attempt?: PayoutAttempt;
  orderNo?: string;
}

/** Whether two decimal amounts are equal; an unparsable one equals nothing. */
export function sameAmount(a: unknown, b: unknown): boolean {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  return x !== undefined && y !== undefined && compareDecimals(x, y) === 0;
}

/** Runs one store operation; its failure rejects as `PayoutStoreError`. */
export async function storeCall<T>(
  operation: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new PayoutStoreError(operation, error);
  }
}

/**
 * The create attempts of each `mchOrderNo`, kept in the `PayoutStore` before anything is sent, and
 * the open-payout index the built-in reconciliation sweeps. This is what keeps a create from going
 * out twice while an earlier one may still land, across calls, processes and replicas.
 */
@Injectable()
export class PayoutAttemptLedger {
  private readonly logger = new Logger('PayoutService');

  constructor(
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    private readonly config: PayoutConfig,
    private readonly clock: PayoutClock,
  ) {}

  /**
   * What the store knows of this mchOrderNo before a create: nothing (send it), or an earlier create
   * or a known order (look it up first). Refuses, before anything is sent, an mchOrderNo already
   * used for another amount, currency or merchant.
   */
  async open(request: CreateRequest): Promise<CreateProgress> {
    const [attempt, record] = await storeCall('getAttempt', () =>
      Promise.all([
        this.store.getAttempt(request.mchOrderNo),
        this.store.findByMchOrderNo(request.mchOrderNo),
      ]),
    );
    const sent =
      attempt ??
      (record?.amount !== undefined && record.currency !== undefined
        ? { ...record, amount: record.amount, currency: record.currency }
        : undefined);
    if (
      sent &&
      (sent.currency !== request.currency ||
        (sent.merchantId !== undefined &&
          sent.merchantId !== request.merchantId) ||
        !sameAmount(sent.amount, request.amount))
    ) {
      throw new PayoutOrderConflictError(
        request.mchOrderNo,
        attempt?.orderNo ?? record?.orderNo,
        `it was sent as ${sent.amount} ${sent.currency} from merchant ${sent.merchantId ?? '?'}; this call asks for ${request.amount} ${request.currency} from merchant ${request.merchantId}`,
      );
    }
    const orderNo = record?.orderNo ?? attempt?.orderNo;
    // An order the gateway already answered with, or reported by webhook, is never sent again (rule 4).
    if (orderNo !== undefined || attempt?.state === 'created') {
      return {
        uncertain: true,
        holdUntil: Infinity,
        reason: `the gateway already has it as order ${orderNo ?? '?'}`,
        attempt,
        orderNo,
      };
    }
    if (attempt && attempt.state !== 'rejected') {
      return {
        uncertain: true,
        holdUntil: attempt.resendAfter,
        reason: `an earlier create of this mchOrderNo is ${attempt.state}`,
        attempt,
      };
    }
    return { uncertain: false, reason: '', attempt };
  }

  /**
   * Records, before the create goes out, that it is being sent and may land until the attempt's
   * timeout plus the re-send window, and tracks it for the built-in reconciliation. A compare-and-set
   * from the attempt this call last saw: resolves `false` when anyone else wrote it since.
   */
  async markSending(
    progress: CreateProgress,
    request: CreateRequest,
  ): Promise<boolean> {
    const current = progress.attempt;
    const now = this.clock.now();
    const next: PayoutAttempt = {
      ...request,
      state: 'sending',
      resendAfter: now + this.config.timeoutMs + this.config.resendWindowMs,
      revision: (current?.revision ?? 0) + 1,
      updatedAt: now,
    };
    if (
      !(await storeCall('compareAndSetAttempt', () =>
        this.store.compareAndSetAttempt(next, current?.revision ?? 0),
      ))
    )
      return false;
    progress.attempt = next;
    // Tracked before it is sent, so the built-in reconciliation settles it whatever happens next.
    await storeCall('trackOpen', () =>
      this.store.trackOpen(request.mchOrderNo, now, next.resendAfter),
    );
    return true;
  }

  /** An attempt ended ambiguously: the window restarts now, and its end is returned. */
  async markUnknown(
    progress: CreateProgress,
    mchOrderNo: string,
  ): Promise<number> {
    const holdUntil = this.clock.now() + this.config.resendWindowMs;
    const next = await this.update(progress, mchOrderNo, {
      state: 'unknown',
      resendAfter: holdUntil,
    });
    const resendAfter = next?.resendAfter ?? holdUntil;
    await storeCall('trackOpen', () =>
      this.store.trackOpen(mchOrderNo, this.clock.now(), resendAfter),
    );
    return resendAfter;
  }

  /** The gateway showed the order: recorded with its orderNo. */
  async markCreated(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
    orderNo: string,
  ): Promise<void> {
    await this.update(progress, mchOrderNo, { state: 'created', orderNo });
  }

  /** Definitely not created: the mchOrderNo may be sent again at once. */
  async markRejected(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
  ): Promise<void> {
    await this.update(progress, mchOrderNo, {
      state: 'rejected',
      resendAfter: 0,
    });
  }

  /**
   * Records as not created exactly the attempt that was checked: a compare-and-set from its revision.
   * Resolves `false`, writing nothing, when anyone wrote it since (another call may be sending it).
   */
  async rejectIfUnchanged(attempt: PayoutAttempt): Promise<boolean> {
    const next: PayoutAttempt = {
      ...attempt,
      state: 'rejected',
      resendAfter: 0,
      revision: attempt.revision + 1,
      updatedAt: this.clock.now(),
    };
    return storeCall('compareAndSetAttempt', () =>
      this.store.compareAndSetAttempt(next, attempt.revision),
    );
  }

  /** (Re)schedules the built-in reconciliation's next check of an open payout; a store failure is logged. */
  async track(mchOrderNo: string, dueAt: number): Promise<void> {
    await this.store
      .trackOpen(mchOrderNo, this.clock.now(), dueAt)
      .catch((error: unknown) => {
        this.logger.warn(
          `payout ${mchOrderNo}: could not schedule its reconciliation (${(error as Error).message})`,
        );
      });
  }

  /** Stops watching a payout whose outcome is known; a store failure is logged (the sweep finds it settled). */
  async untrack(mchOrderNo: string): Promise<void> {
    await this.store.untrackOpen(mchOrderNo).catch((error: unknown) => {
      this.logger.warn(
        `payout ${mchOrderNo}: could not stop tracking it (${(error as Error).message})`,
      );
    });
  }

  /** Rewrites the attempt with `change`, re-reading it when someone else (a webhook, a sweep) wrote it since. */
  private async update(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
    change: Partial<Pick<PayoutAttempt, 'state' | 'resendAfter' | 'orderNo'>>,
  ): Promise<PayoutAttempt | undefined> {
    let current =
      progress?.attempt ??
      (await storeCall('getAttempt', () => this.store.getAttempt(mchOrderNo)));
    for (;;) {
      if (!current) return undefined;
      // An order the gateway showed stays created, whatever an attempt of it reports afterwards.
      if (current.state === 'created' && change.state !== 'created')
        return current;
      const next: PayoutAttempt = {
        ...current,
        ...change,
        revision: current.revision + 1,
        updatedAt: this.clock.now(),
      };
      const base = current;
      if (
        await storeCall('compareAndSetAttempt', () =>
          this.store.compareAndSetAttempt(next, base.revision),
        )
      ) {
        if (progress) progress.attempt = next;
        return next;
      }
      current = await storeCall('getAttempt', () =>
        this.store.getAttempt(mchOrderNo),
      );
    }
  }
}

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { PayoutOrderConflictError, PayoutStoreError } from '../payout.errors';
import { changeByRevision, nextRevision } from '../store/compare-and-set';
import type { PayoutCurrency } from '../payout.types';
import { compareDecimals, parseDecimal } from '../markets/decimal';
import { PayoutConfig } from '../options/payout-config';
import { PayoutClock } from '../clock/payout.clock';
import { PAYOUT_STORE } from '../payout.constants';
import type {
  PayoutAttempt,
  PayoutNotCreatedNotice,
  PayoutOpenChange,
  PayoutOpenDetails,
  PayoutStore,
} from '../store/payout-store.interface';
import { marketOf } from '../markets/payout-markets';
import type { PayoutStatus } from '../payout.types';

/**
 * How long a `createPayout` call holds its attempt without renewing the lease (rule 12), and how
 * often it renews it: a call that died lets the sweep judge its attempt again within this time.
 */
export const CREATE_LEASE_MS = 30_000;
/** How often a call looks whether its lease needs renewing: when a third of it is gone, by the store's clock. */
const CREATE_LEASE_LOOK_MS = 1_000;
/** How often a created order the store could not record is written again, until it is. */
const RECORD_RETRY_MS = 250;

/** What an attempt's compare-and-set may change. */
type AttemptChange = Partial<
  Pick<PayoutAttempt, 'state' | 'resendAfter' | 'orderNo' | 'leaseUntil' | 'leaseToken' | 'notice'>
>;

/**
 * How long an attempt's re-send window lasts, as the replica that wrote it set it: how long a step
 * of the store's clock must count for it (rule 11).
 */
export function resendWindowOf(attempt: PayoutAttempt | undefined): number {
  return attempt ? Math.max(0, attempt.resendAfter - (attempt.sentAt ?? attempt.updatedAt)) : 0;
}

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
  /** The call's writes of its attempt, one after another (its lease renewals run beside the loop). */
  writing?: Promise<unknown>;
  /** The lease this call wrote on the attempt, if any: only its own lease is renewed or ended. */
  leaseToken?: string;
  /** A `created` this call could not record yet, still being written: its lease stays until then. */
  recording?: Promise<void>;
}

/** Whether two decimal amounts are equal; an unparsable one equals nothing. */
export function sameAmount(a: unknown, b: unknown): boolean {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  return x !== undefined && y !== undefined && compareDecimals(x, y) === 0;
}

/** Runs one store operation; its failure rejects as `PayoutStoreError`. */
export async function storeCall<T>(operation: string, work: () => Promise<T>): Promise<T> {
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
export class PayoutAttemptLedger implements OnModuleDestroy {
  private readonly logger = new Logger('PayoutService');
  private stopped = false;

  constructor(
    @Inject(PAYOUT_STORE) private readonly store: PayoutStore,
    private readonly config: PayoutConfig,
    private readonly clock: PayoutClock,
  ) {}

  onModuleDestroy(): void {
    this.stopped = true; // ends the background recording of created orders
  }

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
        (sent.merchantId !== undefined && sent.merchantId !== request.merchantId) ||
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
  markSending(progress: CreateProgress, request: CreateRequest): Promise<boolean> {
    return this.serially(progress, async () => {
      const current = progress.attempt;
      const now = this.clock.now();
      const leaseToken = progress.leaseToken ?? randomUUID();
      const next: PayoutAttempt = {
        ...request,
        state: 'sending',
        resendAfter: now + this.config.timeoutMs + this.config.resendWindowMs,
        sentAt: now,
        leaseUntil: now + CREATE_LEASE_MS,
        leaseToken,
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
      progress.leaseToken = leaseToken;
      // Tracked before it is sent, so the built-in reconciliation settles it whatever happens next.
      await storeCall('trackOpen', () =>
        this.store.trackOpen(request.mchOrderNo, now, next.resendAfter, {
          merchantId: request.merchantId,
        }),
      );
      return true;
    });
  }

  /**
   * Keeps this call's lease on its attempt alive until the returned function is called, which ends
   * it (rule 12). Renewals are best effort: one that fails leaves the lease to run out.
   */
  holdLease(progress: CreateProgress, mchOrderNo: string): () => Promise<void> {
    const renew = (leaseUntil: number | undefined) =>
      progress.leaseToken
        ? this.update(progress, mchOrderNo, (current) =>
            this.holds(progress, current)
              ? {
                  leaseUntil,
                  leaseToken: leaseUntil ? progress.leaseToken : undefined,
                }
              : undefined,
          ).catch(() => undefined)
        : Promise.resolve(undefined);
    // Judged on the store's clock, so a lease is renewed as soon as that clock moves on, steps included.
    const timer = setInterval(() => {
      const now = this.clock.now();
      const leaseUntil = progress.attempt?.leaseUntil;
      if (leaseUntil !== undefined && leaseUntil - now < (CREATE_LEASE_MS * 2) / 3)
        void renew(now + CREATE_LEASE_MS);
    }, CREATE_LEASE_LOOK_MS);
    timer.unref();
    const release = async () => {
      clearInterval(timer);
      await renew(undefined);
    };
    // A created order still being recorded keeps its lease until it is (never blocking the call).
    return () => {
      if (!progress.recording) return release();
      void progress.recording.finally(release);
      return Promise.resolve();
    };
  }

  /** Whether the attempt is still this call's own, leased and in flight (nobody took it over since). */
  private holds(progress: CreateProgress, current: PayoutAttempt): boolean {
    return (
      current.leaseToken !== undefined &&
      current.leaseToken === progress.leaseToken &&
      (current.state === 'sending' || current.state === 'unknown')
    );
  }

  /** Whether another call holds a live lease on the attempt: its send is the one in flight. */
  private heldByAnother(progress: CreateProgress | undefined, current: PayoutAttempt): boolean {
    return (
      current.leaseToken !== undefined &&
      current.leaseToken !== progress?.leaseToken &&
      (current.leaseUntil ?? 0) + this.clock.stepMargin() > this.clock.now() &&
      (current.state === 'sending' || current.state === 'unknown')
    );
  }

  /**
   * Records a created order this call could not record (the store failed), in the background until
   * it is, holding the call's lease meanwhile so nothing judges the attempt not created.
   */
  recordCreatedLater(progress: CreateProgress, mchOrderNo: string, orderNo: string): void {
    progress.recording ??= (async () => {
      while (!this.stopped) {
        await sleep(RECORD_RETRY_MS);
        const recorded = await this.markCreated(progress, mchOrderNo, orderNo)
          .then(() => true)
          .catch(() => false);
        if (recorded) return;
      }
    })();
  }

  /** An attempt ended ambiguously: the window restarts now, and its end is returned. */
  async markUnknown(progress: CreateProgress, mchOrderNo: string): Promise<number> {
    const holdUntil = this.clock.now() + this.config.resendWindowMs;
    // Another call's send in flight is the one that counts: its window is later than ours.
    const next = await this.update(progress, mchOrderNo, (current) =>
      this.heldByAnother(progress, current)
        ? undefined
        : { state: 'unknown', resendAfter: holdUntil },
    );
    const resendAfter = next?.resendAfter ?? holdUntil;
    await storeCall('trackOpen', () =>
      this.store.trackOpen(mchOrderNo, this.clock.now(), resendAfter),
    );
    return resendAfter;
  }

  /**
   * The gateway showed the order: recorded with its orderNo (without, when an answer showed that an
   * order exists but not which: bound later). An attempt that already names an order is left as it
   * is; resolves with the attempt as stored, so the caller sees which order won.
   */
  async markCreated(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
    orderNo?: string,
  ): Promise<PayoutAttempt | undefined> {
    return this.update(progress, mchOrderNo, (current) =>
      current.orderNo !== undefined && current.orderNo !== orderNo
        ? undefined
        : {
            state: 'created',
            orderNo,
            leaseUntil: undefined,
            leaseToken: undefined,
            // A payout.not_created still owed is no longer true: the order exists after all.
            ...(current.notice?.state === 'pending' ? { notice: undefined } : {}),
          },
    );
  }

  /**
   * Definitely not created: the mchOrderNo may be sent again at once. Resolves with the attempt as
   * stored: one already `created` (a webhook showed the order) stays so.
   */
  async markRejected(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
  ): Promise<PayoutAttempt | undefined> {
    return this.update(progress, mchOrderNo, (current) =>
      this.heldByAnother(progress, current)
        ? undefined
        : {
            state: 'rejected',
            resendAfter: 0,
            leaseUntil: undefined,
            leaseToken: undefined,
          },
    );
  }

  /**
   * Records as not created exactly the attempt that was checked, with what is said of it (`notice`),
   * in one compare-and-set from its revision: the decision and its notice are one write (rule 13).
   * Resolves with the attempt written, or `undefined`, writing nothing, when anyone wrote it since
   * (another call may be sending it).
   */
  async rejectIfUnchanged(
    attempt: PayoutAttempt,
    notice: PayoutNotCreatedNotice,
  ): Promise<PayoutAttempt | undefined> {
    return this.writeOver(attempt, {
      state: 'rejected',
      resendAfter: 0,
      leaseUntil: undefined,
      leaseToken: undefined,
      notice,
    });
  }

  /**
   * Claims a `payout.not_created` that is due (its notice `pending`, no live claim) for one emission:
   * a compare-and-set from `attempt`. Resolves with the claimed attempt, or `undefined`.
   */
  async claimNotice(
    attempt: PayoutAttempt,
    claim: { token: string; expiresAt: number },
  ): Promise<PayoutAttempt | undefined> {
    return this.writeOver(attempt, { notice: { state: 'pending', claim } });
  }

  /**
   * Ends the claim `token` on a notice: `emitted` once every listener succeeded (never emitted
   * again), else back to `pending` for the next sweep. Nothing is written when the attempt moved on
   * (a listener sent the payout again): that create is watched on its own.
   */
  async settleNotice(mchOrderNo: string, token: string, emitted: boolean): Promise<void> {
    await this.update(undefined, mchOrderNo, (current) =>
      current.state === 'rejected' && current.notice?.claim?.token === token
        ? { notice: { state: emitted ? 'emitted' : 'pending' } }
        : undefined,
    );
  }

  /** Moves the claim `token` on a notice forward, while its listeners run. */
  async renewNotice(mchOrderNo: string, token: string, expiresAt: number): Promise<void> {
    await this.update(undefined, mchOrderNo, (current) =>
      current.state === 'rejected' && current.notice?.claim?.token === token
        ? { notice: { state: 'pending', claim: { token, expiresAt } } }
        : undefined,
    );
  }

  /**
   * What follows a final status: a Mexican `SUCCESS` stays watched for an SPEI return
   * (`reconciliation.returnWatchMs`, first checked `firstCheckMs` later); anything else is no longer
   * tracked. Store failures are logged (the sweep finds it settled).
   */
  async afterFinal(
    mchOrderNo: string,
    status: PayoutStatus,
    currency: PayoutCurrency | undefined,
    reversed: boolean,
  ): Promise<void> {
    const open = this.openChangeAfterFinal(mchOrderNo, status, currency, reversed);
    if ('untrack' in open) return this.untrack(mchOrderNo);
    await this.track(mchOrderNo, open.dueAt, open.details);
  }

  /** `afterFinal`'s change of the open index, for a store to write with the outcome it follows. */
  openChangeAfterFinal(
    mchOrderNo: string,
    status: PayoutStatus,
    currency: PayoutCurrency | undefined,
    reversed: boolean,
  ): PayoutOpenChange {
    const policy = this.config.reconciliation;
    if (!policy || reversed || !this.watchesReturn(status, currency))
      return { untrack: mchOrderNo };
    const now = this.clock.now();
    return {
      track: mchOrderNo,
      openedAt: now,
      dueAt: now + policy.firstCheckMs,
      details: { watchUntil: now + policy.returnWatchMs },
    };
  }

  /** Whether a final status is followed by a return watch: a Mexican `SUCCESS`, with the watch on. */
  watchesReturn(status: string, currency: PayoutCurrency | undefined): boolean {
    const policy = this.config.reconciliation;
    return (
      !!policy &&
      policy.returnWatchMs > 0 &&
      status === 'SUCCESS' &&
      !!marketOf(currency)?.allowsSuccessReversal
    );
  }

  /** (Re)schedules the built-in reconciliation's next check of an open payout; a store failure is logged. */
  async track(mchOrderNo: string, dueAt: number, details?: PayoutOpenDetails): Promise<void> {
    await this.store
      .trackOpen(mchOrderNo, this.clock.now(), dueAt, details)
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

  /**
   * Rewrites the attempt with what `change` makes of it (`undefined`: nothing to write), re-reading
   * it when someone else (a webhook, a sweep) wrote it since. The one compare-and-set loop of attempts.
   */
  private update(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
    change: (current: PayoutAttempt) => AttemptChange | undefined,
  ): Promise<PayoutAttempt | undefined> {
    return progress
      ? this.serially(progress, () => this.updateNow(progress, mchOrderNo, change))
      : this.updateNow(undefined, mchOrderNo, change);
  }

  /** `attempt` with `changes`, in one compare-and-set from its revision: the attempt written, or `undefined`. */
  private async writeOver(
    attempt: PayoutAttempt,
    changes: AttemptChange,
  ): Promise<PayoutAttempt | undefined> {
    const next = nextRevision(attempt, changes, this.clock.now());
    const written = await storeCall('compareAndSetAttempt', () =>
      this.store.compareAndSetAttempt(next, attempt.revision),
    );
    return written ? next : undefined;
  }

  /** Runs `work` after the call's earlier writes have settled, so its lease renewals never race its loop. */
  private serially<T>(progress: CreateProgress, work: () => Promise<T>): Promise<T> {
    const run = (progress.writing ?? Promise.resolve()).catch(() => undefined).then(work);
    progress.writing = run;
    return run;
  }

  private async updateNow(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
    changeOf: (current: PayoutAttempt) => AttemptChange | undefined,
  ): Promise<PayoutAttempt | undefined> {
    let written: PayoutAttempt | undefined;
    const stored = await changeByRevision(
      () => storeCall('getAttempt', () => this.store.getAttempt(mchOrderNo)),
      (current) => {
        const change = current && changeOf(current);
        // An order the gateway showed stays created, whatever an attempt of it reports afterwards.
        if (!current || !change || (current.state === 'created' && change.state !== 'created'))
          return undefined;
        return (written = nextRevision(current, change, this.clock.now()));
      },
      (next, expected) =>
        storeCall('compareAndSetAttempt', () => this.store.compareAndSetAttempt(next, expected)),
      progress?.attempt,
    );
    // Only what this call wrote becomes the attempt it last saw: another writer's stays news to it.
    if (progress && written && stored === written) progress.attempt = written;
    return stored;
  }
}

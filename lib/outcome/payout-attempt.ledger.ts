import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { PayoutOrderConflictError, PayoutStoreError } from '../payout.errors';
import { changeByRevision, nextRevision } from '../store/compare-and-set';
import type { PayoutCurrency, PayoutStatus } from '../payout.types';
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

/** How long a `createPayout` call's lease on its attempt lasts unrenewed (rule 12). */
export const CREATE_LEASE_MS = 30_000;
/** How often a call looks whether a third of its lease is gone (it then renews it). */
const CREATE_LEASE_LOOK_MS = 1_000;
/** How often a write that must land is tried again in the background, until it does. */
const BACKGROUND_RETRY_MS = 250;
/** How many times a write that must land is tried at once, 40 ms doubling apart. */
const QUICK_TRIES = 5;

/** What an attempt's compare-and-set may change. */
type AttemptChange = Partial<
  Pick<PayoutAttempt, 'state' | 'resendAfter' | 'orderNo' | 'leaseUntil' | 'leaseToken' | 'notice'>
>;

/** Definitely not created: sendable again at once, its lease ended. */
const NOT_CREATED = {
  state: 'rejected',
  resendAfter: 0,
  leaseUntil: undefined,
  leaseToken: undefined,
} as const satisfies AttemptChange;

/** An attempt's re-send window as its writer set it: how long a clock step counts for it (rule 11). */
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
 * Where one `createPayout` call stands between attempts (rules 2 and 3):
 * - `uncertain`: an attempt may have created the order, so the call can no longer be a rejection;
 * - `holdUntil`: the order may exist; look it up, send nothing before then (`Infinity`: never);
 * - `attempt`: the record as this call last saw it: a send is a compare-and-set from its revision;
 * - `orderNo`: the order the gateway already gave this mchOrderNo: a lookup naming another is not it.
 */
export interface CreateProgress {
  uncertain: boolean;
  holdUntil?: number;
  reason: string;
  attempt?: PayoutAttempt;
  orderNo?: string;
  /** The call's writes of its attempt, chained (its lease renewals run beside the loop). */
  writing?: Promise<unknown>;
  /** The lease this call wrote: only its own is renewed or ended. */
  leaseToken?: string;
  /** A `created` still being recorded in the background: the lease stays until then. */
  recording?: Promise<void>;
}

/** Whether two decimal amounts are equal; an unparsable one equals nothing. */
export function sameAmount(a: unknown, b: unknown): boolean {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  return x !== undefined && y !== undefined && compareDecimals(x, y) === 0;
}

/**
 * A store write that must land (an outcome emitted, a notice told), tried `QUICK_TRIES` times 40 ms
 * doubling apart (`ref: false`: the waits keep no process alive); else rejects with its last error.
 */
export async function writeQuickly(write: () => Promise<unknown>, ref = true): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (error) {
      if (attempt >= QUICK_TRIES) throw error;
      await sleep(20 * 2 ** attempt, undefined, { ref });
    }
  }
}

/** A write that must land, tried every `BACKGROUND_RETRY_MS` until it does (`true`) or `stopped()`. */
export async function retryInBackground(
  write: () => Promise<unknown>,
  stopped: () => boolean,
  ref = true,
): Promise<boolean> {
  while (!stopped()) {
    await sleep(BACKGROUND_RETRY_MS, undefined, { ref });
    if (
      await write()
        .then(() => true)
        .catch(() => false)
    )
      return true;
  }
  return false;
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
 * The create attempts of each `mchOrderNo`, recorded before anything is sent, and the open-payout
 * index the sweep reads: what keeps a create from going out twice, across calls and replicas.
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
   * Where a create starts: nothing known (send it), or an earlier create or order (look it up
   * first). Refuses an mchOrderNo already used for another amount, currency or merchant.
   */
  async open(request: CreateRequest): Promise<CreateProgress> {
    const { mchOrderNo } = request;
    const [attempt, record] = await storeCall('getAttempt', () =>
      Promise.all([this.store.getAttempt(mchOrderNo), this.store.findByMchOrderNo(mchOrderNo)]),
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
        mchOrderNo,
        attempt?.orderNo ?? record?.orderNo,
        `it was sent as ${sent.amount} ${sent.currency} from merchant ${sent.merchantId ?? '?'}; this call asks for ${request.amount} ${request.currency} from merchant ${request.merchantId}`,
      );
    }
    const orderNo = record?.orderNo ?? attempt?.orderNo;
    // Rule 4: an order the gateway already answered with or reported is never sent again.
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
   * Records, before the create goes out, that it may land until its timeout plus the re-send window,
   * and tracks it. A compare-and-set from what this call last saw: `false` when anyone wrote since.
   */
  markSending(progress: CreateProgress, request: CreateRequest): Promise<boolean> {
    return this.serially(progress, async () => {
      const expected = progress.attempt?.revision ?? 0;
      const now = this.clock.now();
      const leaseToken = progress.leaseToken ?? randomUUID();
      const next: PayoutAttempt = {
        ...request,
        state: 'sending',
        resendAfter: now + this.config.timeoutMs + this.config.resendWindowMs,
        sentAt: now,
        leaseUntil: now + CREATE_LEASE_MS,
        leaseToken,
        revision: expected + 1,
        updatedAt: now,
      };
      if (!(await this.writeAttempt(next, expected))) return false;
      progress.attempt = next;
      progress.leaseToken = leaseToken;
      const { mchOrderNo, merchantId } = request;
      await storeCall('trackOpen', () =>
        this.store.trackOpen(mchOrderNo, now, next.resendAfter, { merchantId }),
      );
      return true;
    });
  }

  /** Renews this call's lease (rule 12), best effort, until the returned function ends it. */
  holdLease(progress: CreateProgress, mchOrderNo: string): () => Promise<void> {
    const renew = (leaseUntil: number | undefined) =>
      progress.leaseToken
        ? this.update(progress, mchOrderNo, (current) =>
            this.holds(progress, current)
              ? { leaseUntil, leaseToken: leaseUntil ? progress.leaseToken : undefined }
              : undefined,
          ).catch(() => undefined)
        : Promise.resolve(undefined);
    // On the store's clock, so a step of it renews the lease at once.
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

  /** Whether the attempt is still this call's own, leased and in flight. */
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

  /** Records a created order in the background, the call's lease held so none calls it not created. */
  recordCreatedLater(progress: CreateProgress, mchOrderNo: string, orderNo: string): void {
    progress.recording ??= retryInBackground(
      () => this.markCreated(progress, mchOrderNo, orderNo),
      () => this.stopped,
    ).then(() => undefined);
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
   * The gateway showed the order: recorded with its orderNo (or without, bound later). An attempt
   * naming another order is left so; resolves with the attempt as stored (which order won).
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

  /** Definitely not created (sendable again at once); one already `created` stays so. */
  async markRejected(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
  ): Promise<PayoutAttempt | undefined> {
    return this.update(progress, mchOrderNo, (current) =>
      this.heldByAnother(progress, current) ? undefined : NOT_CREATED,
    );
  }

  /**
   * Records exactly the attempt checked as not created, with its `notice`, in one compare-and-set
   * (rule 13): the attempt written, or `undefined` when anyone wrote it since.
   */
  async rejectIfUnchanged(
    attempt: PayoutAttempt,
    notice: PayoutNotCreatedNotice,
  ): Promise<PayoutAttempt | undefined> {
    return this.writeOver(attempt, { ...NOT_CREATED, notice });
  }

  /** Claims a due `payout.not_created` for one emission: the claimed attempt, or `undefined`. */
  async claimNotice(
    attempt: PayoutAttempt,
    claim: { token: string; expiresAt: number },
  ): Promise<PayoutAttempt | undefined> {
    return this.writeOver(attempt, { notice: { state: 'pending', claim } });
  }

  /**
   * Ends the claim `token` on a notice: `emitted` (never again), else `pending` for the next sweep.
   * An attempt that moved on (a listener sent it again) is left alone.
   */
  settleNotice(mchOrderNo: string, token: string, emitted: boolean): Promise<void> {
    return this.changeNotice(mchOrderNo, token, { state: emitted ? 'emitted' : 'pending' });
  }

  /** Moves the claim `token` on a notice forward, while its listeners run. */
  renewNotice(mchOrderNo: string, token: string, expiresAt: number): Promise<void> {
    return this.changeNotice(mchOrderNo, token, { state: 'pending', claim: { token, expiresAt } });
  }

  /** Writes `notice` over a not-created attempt's notice while the claim `token` is on it. */
  private async changeNotice(
    mchOrderNo: string,
    token: string,
    notice: PayoutNotCreatedNotice,
  ): Promise<void> {
    await this.update(undefined, mchOrderNo, (current) =>
      current.state === 'rejected' && current.notice?.claim?.token === token
        ? { notice }
        : undefined,
    );
  }

  /** After a final status: a Mexican `SUCCESS` is watched for an SPEI return, else untracked. */
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

  /** (Re)schedules the sweep's next check of an open payout; a store failure is logged. */
  async track(mchOrderNo: string, dueAt: number, details?: PayoutOpenDetails): Promise<void> {
    await this.store
      .trackOpen(mchOrderNo, this.clock.now(), dueAt, details)
      .catch((error: unknown) => {
        this.logger.warn(
          `payout ${mchOrderNo}: could not schedule its reconciliation (${(error as Error).message})`,
        );
      });
  }

  /** Stops watching a payout whose outcome is known; a store failure is logged. */
  async untrack(mchOrderNo: string): Promise<void> {
    await this.store.untrackOpen(mchOrderNo).catch((error: unknown) => {
      this.logger.warn(
        `payout ${mchOrderNo}: could not stop tracking it (${(error as Error).message})`,
      );
    });
  }

  /** Rewrites the attempt with `changeOf`'s change, by compare-and-set (re-read on a race). */
  private update(
    progress: CreateProgress | undefined,
    mchOrderNo: string,
    changeOf: (current: PayoutAttempt) => AttemptChange | undefined,
  ): Promise<PayoutAttempt | undefined> {
    const work = async () => {
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
        (next, expected) => this.writeAttempt(next, expected),
        progress?.attempt,
      );
      // Only what this call wrote becomes the attempt it last saw: another writer's stays news to it.
      if (progress && written && stored === written) progress.attempt = written;
      return stored;
    };
    return progress ? this.serially(progress, work) : work();
  }

  /** `attempt` with `changes`, one compare-and-set from its revision: written, or `undefined`. */
  private async writeOver(
    attempt: PayoutAttempt,
    changes: AttemptChange,
  ): Promise<PayoutAttempt | undefined> {
    const next = nextRevision(attempt, changes, this.clock.now());
    return (await this.writeAttempt(next, attempt.revision)) ? next : undefined;
  }

  /** Runs `work` after the call's earlier writes, so its lease renewals never race its loop. */
  private serially<T>(progress: CreateProgress, work: () => Promise<T>): Promise<T> {
    const run = (progress.writing ?? Promise.resolve()).catch(() => undefined).then(work);
    progress.writing = run;
    return run;
  }

  private writeAttempt(next: PayoutAttempt, expected: number): Promise<boolean> {
    return storeCall('compareAndSetAttempt', () => this.store.compareAndSetAttempt(next, expected));
  }
}

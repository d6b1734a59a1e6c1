/**
 * What a real host does with each outcome `PayoutService` may give, as its contract states it:
 *
 * | call | outcome | the host |
 * |---|---|---|
 * | `createPayout` | an order | done |
 * | `createPayout` | `PayoutOutcomeUnknownError` | pauses, then `reconcile`s |
 * | `createPayout` | `CashyApiError` (definitely not created, e.g. `System_busy` on every attempt) | pauses, then sends it again with the same mchOrderNo |
 * | `createPayout` | `PayoutOrderConflictError` | failure of the run |
 * | `reconcile` | an order | done |
 * | `reconcile` | `null` (not at the gateway, and no create may still land) | sends it again with the same mchOrderNo |
 * | `reconcile` | `PayoutOutcomeUnknownError` (inside the re-send window) | pauses, then `reconcile`s again |
 * | `reconcile` | `CashyApiError` / `CashyTransportError` (the lookups failed) | pauses, then `reconcile`s again |
 * | `reconcile` | `PayoutOrderConflictError` | failure of the run |
 *
 * Any other `PayoutError` (a store failure, a busy webhook claim) is treated as "not known yet":
 * the host reconciles, which is the safe move whatever happened. `PayoutValidationError`,
 * `PayoutConfigurationError` and anything that is not a `PayoutError` are failures of the run.
 * Nothing here throws: every end is a result, so one payout's failure never strands the others.
 */
import {
  CashyApiError,
  CashyTransportError,
  PayoutConfigurationError,
  PayoutError,
  PayoutOrderConflictError,
  type PayoutOrder,
  PayoutOutcomeUnknownError,
  type PayoutService,
  PayoutValidationError,
} from 'nestjs-cashy-payout';
import type { SandboxPayoutInput } from 'nestjs-cashy-payout/testing';

const FINAL = new Set(['SUCCESS', 'FAIL', 'CANCEL']);

/** A broken invariant, with the payout it concerns. */
export interface SoakFailure {
  invariant: string;
  mchOrderNo: string;
  detail: string;
}

/** How often each branch of the host's loop was taken, over the whole run. */
export class HostCounters {
  createCalls = 0;
  /** `createPayout` → `PayoutOutcomeUnknownError`: reconciled later. */
  createUnknown = 0;
  /** `createPayout` → `CashyApiError`: definitely not created, sent again later. */
  createRejected = 0;
  reconcileCalls = 0;
  /** `reconcile` → `PayoutOutcomeUnknownError` (an earlier create may still land): reconciled again later. */
  reconcileUnknown = 0;
  /** `reconcile` → the lookups failed (`CashyApiError`, `CashyTransportError`): reconciled again later. */
  reconcileLookupFailed = 0;
  /** `reconcile` → `null`: sent again with the same mchOrderNo. */
  reconcileNull = 0;
  /** `reconcile` resolved with an order that was not final yet (final pass): asked again. */
  reconcileNotFinal = 0;
  /** Other `PayoutError`s (store, busy claim), by class name: reconciled later. */
  readonly otherErrors = new Map<string, number>();

  other(error: PayoutError): void {
    this.otherErrors.set(error.name, (this.otherErrors.get(error.name) ?? 0) + 1);
  }
}

export interface PayerContext {
  payouts: PayoutService;
  counters: HostCounters;
  /** Pause before reconciling (or sending again) after an answer that says "not yet". */
  pauseMs: number;
  /** Time one payout may take to reach a known outcome. */
  budgetMs: number;
  /** Set when the run is being torn down: loops stop at their next step. */
  signal: AbortSignal;
}

export type PayResult =
  { order: PayoutOrder; unknownOnce: boolean; rejectedOnce: boolean } | { failure: SoakFailure };

/** Resolves after `ms`, or at once when `signal` is aborted. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The outcomes no host can act on: the run fails. `undefined` for the ones a host waits out. */
function fatal(error: unknown, mchOrderNo: string, call: string): SoakFailure | undefined {
  if (error instanceof PayoutOrderConflictError)
    return {
      invariant: 'no PayoutOrderConflictError',
      mchOrderNo,
      detail: `${call}: ${error.message}`,
    };
  if (
    error instanceof PayoutValidationError ||
    error instanceof PayoutConfigurationError ||
    !(error instanceof PayoutError)
  ) {
    return {
      invariant: 'only outcomes the contract allows',
      mchOrderNo,
      detail: `${call}: ${describe(error)}`,
    };
  }
  return undefined;
}

/** Counts a `reconcile` that failed with an outcome a host waits out (the `fatal` ones are not counted). */
function countReconcileFailure(counters: HostCounters, error: unknown): void {
  if (error instanceof PayoutOutcomeUnknownError) counters.reconcileUnknown++;
  else if (error instanceof CashyApiError || error instanceof CashyTransportError)
    counters.reconcileLookupFailed++;
  else counters.other(error as PayoutError);
}

/**
 * The host's loop for one payout: create; on "unknown", reconcile (with a pause) until it says;
 * on `null`, send it again with the same mchOrderNo; on a definite rejection, send it again later.
 */
export async function payUntilKnown(
  ctx: PayerContext,
  input: SandboxPayoutInput,
): Promise<PayResult> {
  const { payouts, counters, signal } = ctx;
  const mchOrderNo = input.mchOrderNo;
  const giveUpAt = Date.now() + ctx.budgetMs;
  let step: 'create' | 'reconcile' = 'create';
  let unknownOnce = false;
  let rejectedOnce = false;
  let last = 'nothing tried';
  while (!signal.aborted && Date.now() < giveUpAt) {
    if (step === 'create') {
      counters.createCalls++;
      try {
        return {
          order: await payouts.createPayout(input),
          unknownOnce,
          rejectedOnce,
        };
      } catch (error) {
        const failure = fatal(error, mchOrderNo, 'createPayout');
        if (failure) return { failure };
        last = `createPayout: ${describe(error)}`;
        if (error instanceof CashyApiError) {
          // Definitely not created: the same payout may go again, under the same mchOrderNo.
          counters.createRejected++;
          rejectedOnce = true;
        } else {
          if (error instanceof PayoutOutcomeUnknownError) counters.createUnknown++;
          else counters.other(error as PayoutError);
          unknownOnce = true;
          step = 'reconcile';
        }
      }
    } else {
      counters.reconcileCalls++;
      try {
        const found = await payouts.reconcile({
          mchOrderNo,
          currency: input.currency,
        });
        if (found) return { order: found, unknownOnce, rejectedOnce };
        // Not at the gateway, and no earlier create may still land: send it again, same mchOrderNo.
        counters.reconcileNull++;
        last = 'reconcile: null';
        step = 'create';
        continue;
      } catch (error) {
        const failure = fatal(error, mchOrderNo, 'reconcile');
        if (failure) return { failure };
        last = `reconcile: ${describe(error)}`;
        countReconcileFailure(counters, error);
      }
    }
    await pause(ctx.pauseMs, signal);
  }
  const why = signal.aborted ? 'the run was stopped' : `no known outcome within ${ctx.budgetMs} ms`;
  return {
    failure: {
      invariant: 'every payout reaches a known outcome',
      mchOrderNo,
      detail: `${why}; last: ${last}`,
    },
  };
}

/**
 * Reconciles a payout that was created until the gateway reports a final status, as a periodic
 * job would: every `pollMs` while the order is in progress, after the host's pause when the call
 * failed. `null` here would mean the gateway lost an order it had: a failure.
 */
export async function reconcileUntilFinal(
  ctx: PayerContext,
  input: SandboxPayoutInput,
  pollMs = 20,
): Promise<{ order?: PayoutOrder; failure?: SoakFailure }> {
  const { payouts, counters, signal } = ctx;
  const mchOrderNo = input.mchOrderNo;
  const giveUpAt = Date.now() + ctx.budgetMs;
  let last = 'nothing tried';
  while (!signal.aborted && Date.now() < giveUpAt) {
    counters.reconcileCalls++;
    let wait = pollMs;
    try {
      const order = await payouts.reconcile({
        mchOrderNo,
        currency: input.currency,
      });
      if (order === null) {
        counters.reconcileNull++;
        return {
          failure: {
            invariant: 'a created payout stays at the gateway',
            mchOrderNo,
            detail: 'reconcile resolved null for a payout created earlier',
          },
        };
      }
      if (FINAL.has(order.orderStatus)) return { order };
      counters.reconcileNotFinal++;
      last = `reconcile: ${order.orderStatus}`;
    } catch (error) {
      const failure = fatal(error, mchOrderNo, 'reconcile');
      if (failure) return { failure };
      last = `reconcile: ${describe(error)}`;
      countReconcileFailure(counters, error);
      // Something failed rather than "not final yet": the host's own pause, not the quick poll.
      wait = ctx.pauseMs;
    }
    await pause(wait, signal);
  }
  const why = signal.aborted ? 'the run was stopped' : `not final within ${ctx.budgetMs} ms`;
  return {
    failure: {
      invariant: 'every outcome known after reconciliation',
      mchOrderNo,
      detail: `${why}; last: ${last}`,
    },
  };
}

/** Runs `fn` over `items` with at most `limit` in flight, in order of index; stops taking new items once `signal` is aborted. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T, index: number) => Promise<R>,
): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && !signal.aborted) {
        const index = next++;
        results[index] = await fn(items[index], index);
      }
    }),
  );
  return results;
}

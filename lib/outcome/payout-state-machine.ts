import { isFinalPayoutStatus, type PayoutStatus } from '../payout.types';
import type { PayoutRecord } from '../store/payout-store.interface';

/** What to do with a status reported for an order, given what is already known about it. */
export type PayoutTransition =
  /** Same (orderNo, status) already handled: acknowledge, emit nothing. */
  | { kind: 'duplicate' }
  /** An in-progress status: remember it, emit nothing. */
  | { kind: 'progress' }
  /** An in-progress status after a final one (out of order): ignore. */
  | { kind: 'stale' }
  /** A change out of a final status that is not allowed: log, emit nothing. */
  | { kind: 'anomaly'; from: PayoutStatus }
  /** A new outcome: emit it. */
  | { kind: 'outcome'; event: 'succeeded' | 'failed'; reversed: boolean };

/**
 * The payout state machine. `PROCESSING`, `WAITING`, `PAYING` are in progress; `SUCCESS`, `FAIL`,
 * `CANCEL` are final. The one change allowed out of a final status is `SUCCESS → FAIL` where the
 * market allows returns (Mexico's SPEI), and only once.
 */
export function decidePayoutTransition(
  record: PayoutRecord | undefined,
  status: PayoutStatus,
  allowsSuccessReversal: boolean,
): PayoutTransition {
  if (record?.processed.includes(status)) return { kind: 'duplicate' };
  const known = record?.status;
  const knownFinal = known !== undefined && isFinalPayoutStatus(known);

  if (!isFinalPayoutStatus(status)) return knownFinal ? { kind: 'stale' } : { kind: 'progress' };
  const event = status === 'SUCCESS' ? 'succeeded' : 'failed';
  if (!knownFinal) return { kind: 'outcome', event, reversed: false };
  if (known === 'SUCCESS' && status === 'FAIL' && allowsSuccessReversal && !record!.reversed) {
    return { kind: 'outcome', event: 'failed', reversed: true };
  }
  return { kind: 'anomaly', from: known };
}

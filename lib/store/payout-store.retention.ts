import { PayoutConfigurationError } from '../payout.errors';
import type { PayoutConfig } from '../options/payout-config';
import type { PayoutStore } from './payout-store.interface';
import { MemoryPayoutStore } from './memory-payout.store';
import { CREATE_LEASE_MS } from '../outcome/payout-attempt.ledger';

/**
 * Refuses, at startup, a store that forgets records while the module still needs them (rule 10):
 * a record must outlive a listener's claim, and an open payout's records must outlive the sweep's
 * last check of it. Applies to stores that say how long they keep records (`ttlMs`), except
 * `MemoryPayoutStore`, which keeps a live or open record past its ttl by itself.
 */
export function checkStoreRetention(store: PayoutStore, config: PayoutConfig): void {
  const ttlMs = (store as { ttlMs?: unknown }).ttlMs;
  if (typeof ttlMs !== 'number' || store instanceof MemoryPayoutStore) return;
  const name = store.constructor?.name ?? 'the store';
  const { claimTtlMs } = config.delivery;
  // A create's attempt must outlive its window and its caller's lease, or it could be sent again.
  const attemptLife = config.timeoutMs + config.resendWindowMs + CREATE_LEASE_MS;
  if (ttlMs <= attemptLife) {
    throw new PayoutConfigurationError(
      `Invalid PayoutModule options: timeoutMs + resendWindowMs + the create lease (${attemptLife}) must be below ${name}'s ttlMs (${ttlMs}): a create's record could expire while it may still land, and it would be sent again`,
    );
  }
  if (ttlMs < claimTtlMs) {
    throw new PayoutConfigurationError(
      `Invalid PayoutModule options: delivery.claimTtlMs (${claimTtlMs}) must not exceed ${name}'s ttlMs (${ttlMs}): a record could vanish while its listeners run, and a copy would emit again`,
    );
  }
  const policy = config.reconciliation;
  if (!policy) return;
  const lastCheck = policy.horizonMs + policy.maxIntervalMs + policy.leaseMs;
  if (ttlMs <= lastCheck) {
    throw new PayoutConfigurationError(
      `Invalid PayoutModule options: reconciliation.horizonMs + maxIntervalMs + leaseMs (${lastCheck}) must be below ${name}'s ttlMs (${ttlMs}): an open payout's records would expire before the sweep gives it up`,
    );
  }
}

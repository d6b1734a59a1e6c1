import { defaultsOf, type NumberRule, type OptionReader } from '../options/option.reader';

/** Options of the built-in reconciliation (module option `reconciliation`). Every field is optional. */
export interface PayoutReconciliationOptions {
  /** How often the sweep looks for due payouts, in ms (default 30000). */
  intervalMs?: number;
  /** Due payouts taken from the store at a time (default 100). */
  batchSize?: number;
  /** Gateway queries in flight at once during a sweep (default 4). */
  concurrency?: number;
  /** First check of a created payout still in progress, in ms after its create (default 600000: webhooks usually come first). */
  firstCheckMs?: number;
  /** Longest wait between two checks of one payout, in ms (default 7200000). Waits grow with the payout's age up to this. */
  maxIntervalMs?: number;
  /** Age after which a payout still open is given up with a `payout.anomaly` of kind `unresolved`, in ms (default 86400000). */
  horizonMs?: number;
  /** How long a replica holds the payouts it took before another may take them, in ms (default 120000). */
  leaseMs?: number;
  /**
   * How long a Mexican payout stays watched for an SPEI return after its `SUCCESS`, in ms (default
   * 86400000: the bank's refusal comes within minutes, a beneficiary's refund within hours); `0`
   * stops at the first final status.
   */
  returnWatchMs?: number;
}

/** The reconciliation settings after defaults. */
export type ResolvedReconciliationPolicy = Required<PayoutReconciliationOptions>;

/** Every reconciliation option: `[min, max, default]`, in ms where it is a time. */
export const RECONCILIATION_RULES = {
  intervalMs: [10, 86_400_000, 30_000],
  batchSize: [1, 10_000, 100],
  concurrency: [1, 64, 4],
  firstCheckMs: [0, 86_400_000, 600_000],
  maxIntervalMs: [1, 86_400_000, 7_200_000],
  horizonMs: [1, 30 * 86_400_000, 86_400_000],
  leaseMs: [1, 86_400_000, 120_000],
  returnWatchMs: [0, 30 * 86_400_000, 86_400_000],
} as const satisfies Record<keyof ResolvedReconciliationPolicy, NumberRule>;

/** Defaults of the built-in reconciliation. */
export const RECONCILIATION_DEFAULTS: ResolvedReconciliationPolicy =
  defaultsOf(RECONCILIATION_RULES);

/** Reads the module option `reconciliation` (an object or `false`), reporting each bad field. */
export function resolveReconciliation(
  value: unknown,
  reader: OptionReader,
): ResolvedReconciliationPolicy | false {
  if (value === false) return false;
  const resolved = reader.section(value, 'reconciliation', RECONCILIATION_RULES, {
    orFalse: true,
    closed: true,
  });
  if (resolved.maxIntervalMs < resolved.firstCheckMs)
    reader.report(
      'reconciliation.maxIntervalMs',
      'reconciliation.maxIntervalMs must not be below reconciliation.firstCheckMs',
    );
  return resolved;
}

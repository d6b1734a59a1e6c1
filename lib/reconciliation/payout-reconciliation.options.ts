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
}

/** The reconciliation settings after defaults. */
export type ResolvedReconciliationPolicy =
  Required<PayoutReconciliationOptions>;

/** Defaults of the built-in reconciliation, in one place. */
export const RECONCILIATION_DEFAULTS: ResolvedReconciliationPolicy = {
  intervalMs: 30_000,
  batchSize: 100,
  concurrency: 4,
  firstCheckMs: 600_000,
  maxIntervalMs: 7_200_000,
  horizonMs: 86_400_000,
  leaseMs: 120_000,
};

const LIMITS: Record<keyof ResolvedReconciliationPolicy, [number, number]> = {
  intervalMs: [10, 86_400_000],
  batchSize: [1, 10_000],
  concurrency: [1, 64],
  firstCheckMs: [0, 86_400_000],
  maxIntervalMs: [1, 86_400_000],
  horizonMs: [1, 30 * 86_400_000],
  leaseMs: [1, 86_400_000],
};

/** Validates `reconciliation` (an object or `false`), pushing one message per bad field. */
export function resolveReconciliation(
  value: unknown,
  problems: string[],
): ResolvedReconciliationPolicy | false {
  if (value === false) return false;
  if (value === undefined) return { ...RECONCILIATION_DEFAULTS };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(
      'reconciliation must be false or an object { intervalMs?, batchSize?, concurrency?, firstCheckMs?, maxIntervalMs?, horizonMs?, leaseMs? }',
    );
    return { ...RECONCILIATION_DEFAULTS };
  }
  const given = value as Record<string, unknown>;
  const resolved = { ...RECONCILIATION_DEFAULTS };
  for (const key of Object.keys(given)) {
    if (!(key in LIMITS)) {
      problems.push(`reconciliation.${key} is not an option`);
      continue;
    }
    const [min, max] = LIMITS[key as keyof ResolvedReconciliationPolicy];
    const v = given[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      problems.push(
        `reconciliation.${key} must be a whole number from ${min} to ${max}`,
      );
    else resolved[key as keyof ResolvedReconciliationPolicy] = v;
  }
  if (resolved.maxIntervalMs < resolved.firstCheckMs)
    problems.push(
      'reconciliation.maxIntervalMs must not be below reconciliation.firstCheckMs',
    );
  return resolved;
}

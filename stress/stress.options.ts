/** The case ids `--only` accepts. */
export const CASE_IDS = [
  'load',
  'duplicates',
  'slow-listener',
  'hostile',
  'timing',
  'redis-kill',
  'redis-oom',
  'postgres-restart',
  'postgres-pool',
  'skewed-replicas',
  'slow-clients',
] as const;
export type CaseId = (typeof CASE_IDS)[number];

/** How a stress run is configured (the defaults are what the README's figures come from). */
export interface StressOptions {
  /** Hard deadline of the whole run: past it everything is closed and the run exits 2. */
  deadlineMinutes: number;
  /** Cases to run (all by default); a partial run still writes results.json, but not docs/stress.md. */
  only: ReadonlySet<CaseId>;
  /** Write docs/stress.md (full runs only, unless told otherwise). */
  writeDoc: boolean;
}

/** Thrown for a command line the suite does not understand. */
export class StressUsageError extends Error {}

export const STRESS_USAGE = `npm run stress -- [--deadline-min 6] [--only ${CASE_IDS.join(',')}]`;

/** Reads `argv` (after the script name). */
export function parseStressOptions(argv: readonly string[]): StressOptions {
  let deadlineMinutes = 6;
  let only: Set<CaseId> | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i] ?? '';
    if (flag === '--deadline-min') {
      deadlineMinutes = Number(value());
      if (!(deadlineMinutes > 0))
        throw new StressUsageError('--deadline-min takes a positive number of minutes');
    } else if (flag === '--only') {
      const ids = value().split(',').filter(Boolean);
      const unknown = ids.filter((id) => !(CASE_IDS as readonly string[]).includes(id));
      if (unknown.length > 0 || ids.length === 0)
        throw new StressUsageError(`--only takes some of ${CASE_IDS.join(', ')}`);
      only = new Set(ids as CaseId[]);
    } else {
      throw new StressUsageError(`unknown option ${argv[i]}`);
    }
  }
  return {
    deadlineMinutes,
    only: only ?? new Set(CASE_IDS),
    writeDoc: only === undefined,
  };
}

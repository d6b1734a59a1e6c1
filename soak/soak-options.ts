/**
 * The soak's command line: `--name value` or `--name=value`, each also readable from the
 * environment as `SOAK_<NAME>` (`--fault-rate` → `SOAK_FAULT_RATE`); the command line wins.
 * An unknown flag or a bad value stops the run before anything is started.
 */

/** Which gateway the soak drives. */
export type SoakMode = 'default' | 'no-dedupe' | 'lost-webhooks' | 'skewed-replicas';

/** Where the module keeps its state. */
export type SoakStoreKind = 'memory' | 'redis' | 'postgres';

export interface SoakOptions {
  mode: SoakMode;
  store: SoakStoreKind;
  /** With `store: 'redis'`: a Redis to use; when absent, the soak starts a throwaway `redis-server`. */
  redisUrl?: string;
  payouts: number;
  faultRate: number;
  seed: number;
  concurrency: number;
  /** Module option `timeoutMs`: each HTTP attempt to the gateway. */
  timeoutMs: number;
  /** Module option `resendWindowMs`. */
  resendWindowMs: number;
  /** Sandbox option `lateCommitMs` (the `late-commit` fault is drawn only in `no-dedupe` mode). */
  lateCommitMs: number;
  /** How long the host waits before it reconciles (or sends again) after an answer that says "not yet". */
  pauseMs: number;
  /** How long one payout may take to reach a known outcome before the run counts it as a failure. */
  payoutBudgetMs: number;
  /** Hard deadline of the whole run, in minutes. */
  deadlineMinutes: number;
  /** Failed payouts after which the run stops sending and reports (a broken environment, not a flaky one). */
  maxFailures: number;
}

/** What each mode changes; everything else is shared. */
const MODE_DEFAULTS: Record<
  SoakMode,
  Pick<SoakOptions, 'payouts' | 'timeoutMs' | 'resendWindowMs' | 'lateCommitMs' | 'pauseMs'>
> = {
  // The gateway dedupes mchOrderNo and never commits late, so a short window costs nothing.
  default: {
    payouts: 2000,
    timeoutMs: 200,
    resendWindowMs: 1000,
    lateCommitMs: 800,
    pauseMs: 100,
  },
  // The rule-3 trade-off: timeoutMs < lateCommitMs < resendWindowMs.
  'no-dedupe': {
    payouts: 1000,
    timeoutMs: 300,
    resendWindowMs: 2000,
    lateCommitMs: 800,
    pauseMs: 250,
  },
  // Webhooks lost for good and no host reconciliation: the built-in sweep settles everything.
  'lost-webhooks': {
    payouts: 600,
    timeoutMs: 200,
    resendWindowMs: 1000,
    lateCommitMs: 800,
    pauseMs: 100,
  },
  // Two replica processes on one Redis or PostgreSQL database, clocks skewed and stepped; the
  // gateway does not dedupe.
  'skewed-replicas': {
    payouts: 600,
    timeoutMs: 300,
    resendWindowMs: 2000,
    lateCommitMs: 800,
    pauseMs: 100,
  },
};

export const SOAK_USAGE = `Usage: npm run soak -- [options]   (each option also as --name=value, or env SOAK_<NAME>)

  --mode default|no-dedupe|lost-webhooks|skewed-replicas
                               lost-webhooks: 30% of orders' webhooks lost, no host reconciliation;
                               default: the sandbox dedupes mchOrderNo (as Cashy does); no-dedupe: it does
                               not, and some creates commit lateCommitMs after the client gave up
                               ('late-commit' and 'notify-before-answer' join the random faults);
                               skewed-replicas: two replica processes on one Redis or PostgreSQL
                               database, one clock 3 min ahead, both stepped by 5 min, no dedupe,
                               30% webhooks lost (redis or postgres)
  --store memory|redis|postgres
                               PayoutStore (default memory; redis when --redis is given, and in
                               skewed-replicas mode); postgres starts a throwaway PostgreSQL cluster
                               (initdb, pg_ctl) on a free port and removes it at the end
  --redis redis://host:port    a Redis to use; with --store redis and no --redis, a throwaway
                               redis-server is started on a free port and stopped at the end
  --payouts N                  payouts to send (default 2000; 1000 in no-dedupe mode)
  --fault-rate R               share of gateway requests that get a fault (default 0.2)
  --seed S                     seed of the faults and outcomes (default 42)
  --concurrency C              payouts in flight (default 25)
  --timeout-ms MS              module timeoutMs (default 200; 300 in no-dedupe mode)
  --resend-window-ms MS        module resendWindowMs (default 1000; 2000 in no-dedupe mode)
  --late-commit-ms MS          sandbox lateCommitMs (default 800)
  --pause-ms MS                host pause before it reconciles or sends again (default 100; 250 in no-dedupe)
  --payout-budget-ms MS        time one payout may take to reach a known outcome
                               (default 60000, or 5 × (4 × timeout + window) when that is longer)
  --deadline-min M             hard deadline of the whole run, in minutes (default 8)
  --max-failures N             failed payouts after which the run stops early and reports (default 50)
  --help                       this text`;

const FLAGS = [
  'mode',
  'store',
  'redis',
  'payouts',
  'fault-rate',
  'seed',
  'concurrency',
  'timeout-ms',
  'resend-window-ms',
  'late-commit-ms',
  'pause-ms',
  'payout-budget-ms',
  'deadline-min',
  'max-failures',
] as const;
type Flag = (typeof FLAGS)[number];

/** A command line or environment the soak cannot run with. */
export class SoakUsageError extends Error {}

function readArgv(argv: readonly string[]): Map<Flag, string> {
  const given = new Map<Flag, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new SoakUsageError(`unexpected argument "${arg}"`);
    const name = match[1] as Flag;
    if (!FLAGS.includes(name)) throw new SoakUsageError(`unknown option --${match[1]}`);
    let value = match[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new SoakUsageError(`--${name} needs a value`);
      i++;
    }
    given.set(name, value);
  }
  return given;
}

/** Parses the command line (without `node` and the script) and the environment; throws `SoakUsageError`. */
export function parseSoakOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): SoakOptions | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const given = readArgv(argv);
  const raw = (name: Flag): string | undefined =>
    given.get(name) ?? env[`SOAK_${name.toUpperCase().replace(/-/g, '_')}`] ?? undefined;
  const number = (
    name: Flag,
    fallback: number,
    check: (n: number) => boolean,
    what: string,
  ): number => {
    const text = raw(name);
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || !check(value))
      throw new SoakUsageError(`--${name} must be ${what} (got "${text}")`);
    return value;
  };
  const whole = (min: number) => (n: number) => Number.isInteger(n) && n >= min;

  const mode = (raw('mode') || 'default') as SoakMode;
  if (!(mode in MODE_DEFAULTS))
    throw new SoakUsageError(
      `--mode must be one of ${Object.keys(MODE_DEFAULTS).join(', ')} (got "${mode}")`,
    );
  const defaults = MODE_DEFAULTS[mode];
  const redisUrl = raw('redis') || undefined;
  const storeText = raw('store') || (redisUrl || mode === 'skewed-replicas' ? 'redis' : 'memory');
  if (storeText !== 'memory' && storeText !== 'redis' && storeText !== 'postgres')
    throw new SoakUsageError(`--store must be memory, redis or postgres (got "${storeText}")`);
  const store: SoakStoreKind = storeText;
  if (store === 'memory' && mode === 'skewed-replicas')
    throw new SoakUsageError(
      '--mode skewed-replicas shares one store between replicas: --store redis or postgres',
    );
  if (store !== 'redis' && redisUrl)
    throw new SoakUsageError(`--redis is given but --store is ${store}; drop one of them`);
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl))
    throw new SoakUsageError(`--redis must be a redis:// or rediss:// URL (got "${redisUrl}")`);

  const timeoutMs = number('timeout-ms', defaults.timeoutMs, whole(1), 'a whole number of ms');
  const resendWindowMs = number(
    'resend-window-ms',
    defaults.resendWindowMs,
    whole(1),
    'a whole number of ms',
  );
  return {
    mode,
    store,
    ...(redisUrl ? { redisUrl } : {}),
    payouts: number('payouts', defaults.payouts, whole(2), 'a whole number of at least 2'),
    faultRate: number('fault-rate', 0.2, (n) => n >= 0 && n < 1, 'a number from 0 to below 1'),
    seed: number('seed', 42, whole(0), 'a whole number'),
    concurrency: number('concurrency', 25, whole(1), 'a whole number of at least 1'),
    timeoutMs,
    resendWindowMs,
    lateCommitMs: number('late-commit-ms', defaults.lateCommitMs, whole(0), 'a whole number of ms'),
    pauseMs: number('pause-ms', defaults.pauseMs, whole(0), 'a whole number of ms'),
    // Room for a few unlucky rounds, each an ambiguous create plus its window.
    payoutBudgetMs: number(
      'payout-budget-ms',
      Math.max(60_000, 5 * (4 * timeoutMs + resendWindowMs)),
      whole(1000),
      'a whole number of ms (at least 1000)',
    ),
    deadlineMinutes: number('deadline-min', 8, (n) => n > 0, 'a positive number of minutes'),
    maxFailures: number('max-failures', 50, whole(1), 'a whole number of at least 1'),
  };
}

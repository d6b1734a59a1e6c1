import { isPlainObject } from '../client/cashy-wire';
import { PayoutConfigurationError } from '../payout.errors';

/** One bad option: where it is (`retry.attempts`, `accounts[1].apiKey`) and a sentence naming it. */
export interface OptionProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * A numeric option, `[min, max, default]` with both bounds included. It takes whole numbers,
 * unless its fourth element says `number` (any finite number) or `above` (any finite number
 * greater than `min`, up to `max`).
 */
export type NumberRule = readonly [
  min: number,
  max: number,
  fallback: number,
  kind?: 'number' | 'above',
];

/** An option's rule: a numeric one, or the default of a boolean or of a non-empty string. */
export type OptionRule = NumberRule | boolean | string;

/** Options by name, each with its rule. */
export type OptionTable = Readonly<Record<string, OptionRule>>;

/** What a rule reads to. */
export type OptionValue<R extends OptionRule> = R extends NumberRule
  ? number
  : R extends boolean
    ? boolean
    : string;

/** What a table reads to: each option's value, of its rule's kind. */
export type OptionValues<T extends OptionTable> = { -readonly [K in keyof T]: OptionValue<T[K]> };

/** Every option of `table` at its default. */
export function defaultsOf<T extends OptionTable>(table: T): OptionValues<T> {
  return new OptionReader().read({}, table);
}

function fallbackOf(rule: OptionRule): number | boolean | string {
  return typeof rule === 'object' ? rule[2] : rule;
}

/** What `rule` takes, as said after `must be`. */
function expected(rule: OptionRule): string {
  if (typeof rule === 'boolean') return 'a boolean';
  if (typeof rule === 'string') return 'a non-empty string';
  const [min, max, , kind] = rule;
  const what = kind === undefined ? 'a whole number' : 'a number';
  const above = kind === 'above';
  if (max !== Infinity)
    return above ? `${what} above ${min} and at most ${max}` : `${what} from ${min} to ${max}`;
  if (min === 0 && kind !== undefined) return above ? 'a positive number' : 'a non-negative number';
  return above ? `${what} above ${min}` : `${what} of at least ${min}`;
}

/** Whether `value` is one `rule` takes. */
function fits(value: unknown, rule: OptionRule): boolean {
  if (typeof rule === 'boolean') return typeof value === 'boolean';
  if (typeof rule === 'string') return typeof value === 'string' && value.length > 0;
  const [min, max, , kind] = rule;
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (kind === undefined && !Number.isInteger(value)) return false;
  return (kind === 'above' ? value > min : value >= min) && value <= max;
}

/**
 * Reads options against their rules and collects every problem, so that a caller reports them all
 * at once. A bad or absent option reads as its default, so checks that compare options can go on.
 */
export class OptionReader {
  readonly problems: OptionProblem[] = [];

  /** Reports a problem with the option at `path`; `message` names it. */
  report(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** Reports `rest`, said of the option at `path` (`<path> <rest>`). */
  fail(path: string, rest: string): void {
    this.report(path, `${path} ${rest}`);
  }

  /** One option: its default when absent; reported, and its default, when its rule refuses it. */
  value<R extends OptionRule>(value: unknown, path: string, rule: R): OptionValue<R> {
    if (value === undefined) return fallbackOf(rule) as OptionValue<R>;
    if (fits(value, rule)) return value as OptionValue<R>;
    this.fail(path, `must be ${expected(rule)}`);
    return fallbackOf(rule) as OptionValue<R>;
  }

  /** One option that must be given: reported as required when absent. */
  required<R extends OptionRule>(value: unknown, path: string, rule: R): OptionValue<R> {
    if (value === undefined) this.fail(path, `is required and must be ${expected(rule)}`);
    return this.value(value, path, rule);
  }

  /** Every option of `table`, read from `source` (each at `prefix` + its name). */
  read<T extends OptionTable>(
    source: Record<string, unknown>,
    table: T,
    prefix = '',
  ): OptionValues<T> {
    return Object.fromEntries(
      Object.entries(table).map(([name, rule]) => [
        name,
        this.value(source[name], prefix + name, rule),
      ]),
    ) as OptionValues<T>;
  }

  /**
   * An object option of `table`'s options at `path`: absent, every default; not an object, reported
   * and every default. `orFalse` says the option may also be `false` (the caller deals with it);
   * with `closed`, a key the table does not have is reported.
   */
  section<T extends OptionTable>(
    value: unknown,
    path: string,
    table: T,
    options: { orFalse?: boolean; closed?: boolean } = {},
  ): OptionValues<T> {
    const keys = Object.keys(table);
    const source = this.object(
      value,
      path,
      `${options.orFalse ? 'false or ' : ''}an object { ${keys.map((k) => `${k}?`).join(', ')} }`,
    );
    if (source && options.closed) this.unknownKeys(source, path, keys);
    return this.read(source ?? {}, table, `${path}.`);
  }

  /** An object option at `path`: `{}` when absent; reported, and `undefined`, when not an object. */
  object(value: unknown, path: string, shape: string): Record<string, unknown> | undefined {
    if (value === undefined) return {};
    if (isPlainObject(value)) return value;
    this.fail(path, `must be ${shape}`);
    return undefined;
  }

  /**
   * Reports each key of `source` (at `path`) that is not one of `known`, saying `unknown` of it, and
   * each one `refused` has a message of its own for.
   */
  unknownKeys(
    source: Record<string, unknown>,
    path: string,
    known: readonly string[],
    {
      unknown = 'is not an option',
      refused = {},
    }: { unknown?: string; refused?: Readonly<Record<string, string>> } = {},
  ): void {
    for (const key of Object.keys(source)) {
      const at = path ? `${path}.${key}` : key;
      if (Object.hasOwn(refused, key)) this.report(at, refused[key]);
      else if (!known.includes(key)) this.fail(at, unknown);
    }
  }

  /** Throws one error listing every problem after `lead`, when there is any. */
  throwIfAny(
    lead: string,
    ErrorType: new (message: string) => Error = PayoutConfigurationError,
  ): void {
    if (this.problems.length > 0) throw new ErrorType(problemList(lead, this.problems));
  }
}

/** `lead` and then every problem's message, `; ` between them: the text of the error listing them. */
export function problemList(lead: string, problems: readonly OptionProblem[]): string {
  return lead + problems.map((problem) => problem.message).join('; ');
}

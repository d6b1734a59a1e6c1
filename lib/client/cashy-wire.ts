/**
 * How values come over the wire from Cashy (and from hosts' JSON): the few readings every checker
 * and mapper shares, so that each is decided once.
 */
import { formatDecimal, parseDecimal } from '../markets/decimal';

/** Cashy's numeric merchant id, as text. */
export const MERCHANT_ID = /^\d{1,20}$/;

/** A merchant order number (`mchOrderNo`): what the module sends, and the only ids it looks up. */
export const MCH_ORDER_NO = /^[A-Za-z0-9_.:-]{1,32}$/;

const ORDER_NUMBER = /^[\x21-\x7e]{1,64}$/;

/** True for an order number (either side's): a string of 1 to 64 visible ASCII characters. */
export function isOrderNumber(value: unknown): value is string {
  return typeof value === 'string' && ORDER_NUMBER.test(value);
}

/** True for a JSON object: not `null`, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when a field is left out: Cashy omits optional fields, or sends them as `null` or `""`. */
export function isAbsent(value: unknown): value is undefined | null | '' {
  return value === undefined || value === null || value === '';
}

/**
 * An identifier as text: a non-empty string as it is, or a digit-only id sent as a JSON number
 * (only a non-negative safe integer, whose text is exact); `undefined` for anything else.
 */
export function idText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
    ? String(value)
    : undefined;
}

/**
 * An amount (`string | number`) as a decimal string at `scale`; with no known scale, a string is
 * kept as written (trimmed). `null` when absent or not a decimal: lenient, for answers and reports
 * that are orders whatever their amounts say.
 */
export function wireAmount(value: unknown, scale: number | undefined): string | null {
  const parsed = parseDecimal(value);
  if (!parsed) return null;
  return scale === undefined && typeof value === 'string'
    ? value.trim()
    : formatDecimal(parsed, scale ?? 0);
}

/**
 * An amount (`string | number | null`) as a decimal string at `scale`, or `null` when absent. With
 * no known scale the value is rendered as given, minus noise zeros. Throws `TypeError` for a value
 * that is not a decimal at all: strict, for figures that must be right (balances).
 */
export function normalizeAmount(value: unknown, scale: number | undefined): string | null {
  if (isAbsent(value)) return null;
  const parsed = parseDecimal(value);
  if (!parsed) throw new TypeError(`not a decimal: ${JSON.stringify(value)}`);
  return formatDecimal(parsed, scale ?? 0);
}

/** A non-empty string as it is; `undefined` for anything else. */
export function nonEmptyText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A non-empty string, or a number as its text (a numeric `completionTime`); `undefined` otherwise. */
export function wireText(value: unknown): string | undefined {
  return typeof value === 'number' ? String(value) : nonEmptyText(value);
}

/** `text` parsed as JSON, or `undefined` when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Decimal helpers for amounts. Amounts never pass through floating-point arithmetic: they are
 * parsed into digit strings and compared as scaled `bigint`s.
 */

/** A decimal split into its parts; `fraction` has no trailing zeros. */
export interface ParsedDecimal {
  negative: boolean;
  integer: string;
  fraction: string;
}

// Sign, integer digits without leading zeros (keeping one), fraction digits without trailing zeros:
// one match does the whole canonicalization.
const MAX_DECIMAL_TEXT = 64;
const DECIMAL_TEXT = /^(-)?0*(\d+?)(?:\.(?=\d)(\d*?)0*)?$/;

/**
 * Parses a decimal given as a string (`"150.50"`) or a JSON number (`150.5`).
 * Returns `undefined` for anything else (exponents, blanks, NaN, non-finite numbers, more than 64 characters).
 */
export function parseDecimal(value: unknown): ParsedDecimal | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    // String() of a JS number is the shortest text that round-trips; it never adds float noise.
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return undefined;
  }
  // No amount is this long; the cap also bounds the pattern's backtracking on hostile input.
  if (text.length > MAX_DECIMAL_TEXT) return undefined;
  const match = DECIMAL_TEXT.exec(text);
  if (!match) return undefined;
  const integer = match[2];
  const fraction = match[3] ?? '';
  return { negative: match[1] === '-' && (integer !== '0' || fraction !== ''), integer, fraction };
}

/** Number of decimal places actually used (trailing zeros do not count). */
export function decimalPlaces(parsed: ParsedDecimal): number {
  return parsed.fraction.length;
}

/** The value as an integer count of `10^-scale` units; requires `decimalPlaces <= scale`. */
export function toScaledInteger(parsed: ParsedDecimal, scale: number): bigint {
  const units = BigInt(parsed.integer + parsed.fraction.padEnd(scale, '0'));
  return parsed.negative ? -units : units;
}

/** Compares two parsed decimals: negative, zero or positive like `Array.sort` comparators. */
export function compareDecimals(a: ParsedDecimal, b: ParsedDecimal): number {
  const scale = Math.max(decimalPlaces(a), decimalPlaces(b));
  const [x, y] = [toScaledInteger(a, scale), toScaledInteger(b, scale)];
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * Renders a parsed decimal with at least `scale` decimals. Digits beyond `scale` are kept (never
 * rounded away), so the result is always lossless: `("150.5", 2) -> "150.50"`, `("1500.00", 0) -> "1500"`.
 */
export function formatDecimal(parsed: ParsedDecimal, scale: number): string {
  const fraction =
    parsed.fraction.length >= scale ? parsed.fraction : parsed.fraction.padEnd(scale, '0');
  return `${parsed.negative ? '-' : ''}${parsed.integer}${fraction ? `.${fraction}` : ''}`;
}

/** A whole number given as a number or a string of up to 9 digits; `NaN` for anything else. */
export function wholeNumber(value: unknown): number {
  return typeof value === 'number'
    ? value
    : typeof value === 'string' && /^\d{1,9}$/.test(value)
      ? Number(value)
      : NaN;
}

/**
 * Characters never sent to the gateway: control characters, format characters (bidirectional
 * overrides and isolates, zero-width spaces and joiners, the BOM), line and paragraph separators,
 * and lone surrogates. A name or URL carrying them can display as something other than what is paid.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/**
 * `value` with every control, format or separator character replaced by U+FFFD, so text a gateway
 * sent (a `resultDesc`, a `channelOrderNo`) reaches listeners and logs printable, never as a NUL, a
 * line break or a bidirectional override that makes it read as something else.
 */
export function withUnprintableReplaced(value: string): string {
  return value.replace(UNPRINTABLE_ALL, '\uFFFD');
}
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu');

/** True when `value` holds no control, format or separator character (money-safety rule 9). */
export function isPrintable(value: string): boolean {
  return !UNPRINTABLE.test(value);
}

/**
 * The normalized form of an absolute http(s) URL with a host, or `undefined` for anything else.
 * Loopback and private hosts are accepted on purpose (sandboxes and tests).
 */
export function normalizeHttpUrl(value: string): string | undefined {
  if (!isPrintable(value) || value.trim() !== value) return undefined;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0
      ? url.href
      : undefined;
  } catch {
    return undefined;
  }
}

/** True for an absolute http(s) URL with a host and only printable characters. */
export function isHttpUrl(value: string): boolean {
  return normalizeHttpUrl(value) !== undefined;
}

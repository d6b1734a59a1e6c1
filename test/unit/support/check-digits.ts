/**
 * Test-only helpers: the check-digit algorithms of cashy-reference.md §8, written again from the
 * reference (not imported from lib/, so the tests do not check the library against itself), and a
 * small seeded PRNG so that the property tests are deterministic.
 */

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` random ASCII digits. */
export function randomDigits(random: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String(Math.floor(random() * 10));
  return out;
}

/** §8.1: weights 3,7,1 by position mod 3, each product reduced mod 10, check = (10 - s mod 10) mod 10. */
export function referenceClabeCheckDigit(first17: string): number {
  const weights = [3, 7, 1];
  let s = 0;
  for (let i = 0; i < 17; i++) s += (Number(first17[i]) * weights[i % 3]) % 10;
  return (10 - (s % 10)) % 10;
}

/** A CLABE with a correct check digit, from its first 17 digits. */
export function makeClabe(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new Error(`makeClabe needs 17 digits, got ${first17}`);
  return first17 + String(referenceClabeCheckDigit(first17));
}

/** §8.2 groupDigit: weights 1,2,1,2… restarting per group; two-digit products have their digits added. */
export function referenceCciGroupDigit(group: string): number {
  let s = 0;
  for (let i = 0; i < group.length; i++) {
    let p = Number(group[i]) * (i % 2 === 0 ? 1 : 2);
    if (p > 9) p = Math.floor(p / 10) + (p % 10);
    s += p;
  }
  return (10 - (s % 10)) % 10;
}

/** A CCI with correct check digits, from its first 18 digits (entity 3 + office 3 + account 12). */
export function makeCci(first18: string): string {
  if (!/^\d{18}$/.test(first18)) throw new Error(`makeCci needs 18 digits, got ${first18}`);
  return (
    first18 +
    String(referenceCciGroupDigit(first18.slice(0, 6))) +
    String(referenceCciGroupDigit(first18.slice(6, 18)))
  );
}

/** Every string that differs from `value` in exactly one digit (9 alternatives at each position). */
export function* singleDigitChanges(
  value: string,
): Generator<{ position: number; changed: string }> {
  for (let position = 0; position < value.length; position++) {
    for (let d = 0; d <= 9; d++) {
      const digit = String(d);
      if (digit === value[position]) continue;
      yield {
        position,
        changed: value.slice(0, position) + digit + value.slice(position + 1),
      };
    }
  }
}

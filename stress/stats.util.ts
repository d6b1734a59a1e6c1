/** The median of `values` (not modified). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The `p`th percentile of `values` (nearest rank on a sorted copy); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A small seeded PRNG (mulberry32), so a run's shuffles can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `items` in place (Fisher–Yates) with `random`. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * How large a difference of medians between two groups noise alone makes: the `quantile` of
 * |median(A') - median(B')| over `rounds` random relabellings of the pooled samples (a permutation
 * test). An observed difference below it is one that shuffled labels produce as often.
 */
export function permutationNoise(
  a: readonly number[],
  b: readonly number[],
  rounds: number,
  quantile: number,
  random: () => number,
): number {
  const pooled = [...a, ...b];
  const differences: number[] = [];
  for (let round = 0; round < rounds; round++) {
    shuffle(pooled, random);
    differences.push(Math.abs(median(pooled.slice(0, a.length)) - median(pooled.slice(a.length))));
  }
  return percentile(differences, quantile);
}

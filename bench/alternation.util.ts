import { median, ratio, round } from './stats.util';

/** What one segment of an A/B comparison measured. */
export interface SegmentFigures {
  /** The throughput figure compared (requests or calls per second). */
  perSecond: number;
}

/** Every side's segments, and each side's throughput over the baseline's. */
export interface Alternation<S extends string, F extends SegmentFigures> {
  /** Each side's measured segments, one per round. */
  segments: Record<S, F[]>;
  /** Each side's throughput over the baseline's, round by round (the baseline's own are all 1). */
  roundRatios: Record<S, number[]>;
  /** The median of each side's `roundRatios`: what the targets compare. */
  ratios: Record<S, number>;
}

/**
 * Measures `sides` (the first is the baseline) in alternating segments: one warm-up of each, then
 * `rounds` rounds of one segment each, in the order A B C, C B A, A B C … so that a slow drift of
 * the machine hits every side alike. Each round's ratios compare segments taken seconds apart, and
 * their median shrugs off a round spoiled by a noisy neighbour.
 */
export async function alternate<S extends string, F extends SegmentFigures>(
  rounds: number,
  sides: readonly [S, ...S[]],
  measure: (side: S, warmup: boolean) => Promise<F>,
  onSegment: (round: number, side: S, figures: F) => void = () => undefined,
): Promise<Alternation<S, F>> {
  for (const side of sides) await measure(side, true);
  const segments = Object.fromEntries(sides.map((side) => [side, [] as F[]])) as Record<S, F[]>;
  for (let n = 1; n <= rounds; n++) {
    for (const side of n % 2 === 1 ? sides : [...sides].reverse()) {
      const figures = await measure(side, false);
      segments[side].push(figures);
      onSegment(n, side, figures);
    }
  }
  const baseline = segments[sides[0]];
  const roundRatios = Object.fromEntries(
    sides.map((side) => [
      side,
      segments[side].map((f, i) => ratio(f.perSecond, baseline[i].perSecond)),
    ]),
  ) as Record<S, number[]>;
  const ratios = Object.fromEntries(
    sides.map((side) => [side, round(median(roundRatios[side]), 3)]),
  ) as Record<S, number>;
  return { segments, roundRatios, ratios };
}

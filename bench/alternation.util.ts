import { median, ratio, round } from './stats.util';

/** What one segment of an A/B comparison measured. */
export interface SegmentFigures {
  /** The throughput figure compared (requests or calls per second). */
  perSecond: number;
}

/** Both sides' segments, the pairwise ratios and their median. */
export interface Alternation<F extends SegmentFigures> {
  baseline: F[];
  candidate: F[];
  /** candidate/baseline throughput of each round's pair of adjacent segments. */
  roundRatios: number[];
  /** The median of `roundRatios`: what the targets compare. */
  ratio: number;
}

/**
 * Measures `baseline` and `candidate` in alternating segments: one warm-up of each, then `rounds`
 * rounds of one segment each, in the order A B, B A, A B … so that a slow drift of the machine
 * hits both sides alike. Each round's candidate/baseline ratio compares two segments taken seconds
 * apart, and the median of those ratios shrugs off a round spoiled by a noisy neighbour.
 */
export async function alternate<F extends SegmentFigures>(
  rounds: number,
  measure: (side: 'baseline' | 'candidate', warmup: boolean) => Promise<F>,
  onSegment: (round: number, side: 'baseline' | 'candidate', figures: F) => void = () => undefined,
): Promise<Alternation<F>> {
  await measure('baseline', true);
  await measure('candidate', true);
  const baseline: F[] = [];
  const candidate: F[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? (['baseline', 'candidate'] as const) : (['candidate', 'baseline'] as const);
    for (const side of order) {
      const figures = await measure(side, false);
      (side === 'baseline' ? baseline : candidate).push(figures);
      onSegment(round, side, figures);
    }
  }
  const roundRatios = candidate.map((c, i) => ratio(c.perSecond, baseline[i].perSecond));
  return { baseline, candidate, roundRatios, ratio: round(median(roundRatios), 3) };
}

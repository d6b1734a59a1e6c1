/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The `p`-th percentile (0–100, nearest rank) of `values`, which it sorts in place. */
export function percentile(values: Float64Array, p: number): number {
  if (values.length === 0) return NaN;
  values.sort();
  const rank = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1));
  return values[rank];
}

/** `value / baseline`, rounded to 3 decimals (what the report and the targets compare). */
export function ratio(value: number, baseline: number): number {
  return round(value / baseline, 3);
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): number {
  return round(bytes / (1024 * 1024), 1);
}

/** A growable list of latency samples (ms) without per-sample allocation. */
export class Samples {
  private data = new Float64Array(1 << 14);
  private count = 0;

  push(value: number): void {
    if (this.count === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.count++] = value;
  }

  get length(): number {
    return this.count;
  }

  /** The `p`-th percentile of what was pushed. */
  percentile(p: number): number {
    return percentile(this.data.slice(0, this.count), p);
  }
}

/** CPU time this process has used since `since`, in µs (user + system). */
export function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

import { BENCH } from './bench.config';
import { startChild } from './ipc.util';
import type { MemorySample } from './memory.child';
import { ratio } from './stats.util';

/** Phase 3: the heap while the bounded MemoryPayoutStore fills up and then stays full. */
export interface MemoryResult {
  driver: string;
  maxEntries: number;
  samples: MemorySample[];
  emitted: number;
  /** Largest store.size seen at any sample. */
  maxStoreSize: number;
  /** heapUsed at the last checkpoint / at the one before it (both with the store full). */
  heapGrowthRatio: number;
  heapGrowthBytes: number;
  /** (heap with the store full − heap before any notification) / maxEntries. */
  bytesPerEntry: number;
  /**
   * Notifications/s over the last interval (store full, evicting on every write) / over the first
   * (store filling). Informational: well below 1 means eviction costs more than it should.
   */
  fullVsFillingRatio: number;
}

/** Runs `memory.child` under `--expose-gc` and summarizes its samples. */
export async function benchMemory(): Promise<MemoryResult> {
  const child = await startChild<{ pid: number }>('memory.child', [], ['--expose-gc']);
  try {
    const { maxEntries, samples, emitted } = await child.ask<{
      maxEntries: number;
      samples: MemorySample[];
      emitted: number;
    }>('run');
    const expected = BENCH.memory.checkpoints[BENCH.memory.checkpoints.length - 1];
    if (emitted !== expected)
      throw new Error(`memory: ${expected} distinct notifications but ${emitted} events`);
    const [start] = samples;
    const last = samples[samples.length - 1];
    const previous = samples[samples.length - 2];
    const full = samples.find((s) => s.storeSize >= maxEntries) ?? last;
    return {
      driver:
        'PayoutService.handleNotification in-process (parsed body + MerchantId, as the webhook controller hands them over)',
      maxEntries,
      samples,
      emitted,
      maxStoreSize: Math.max(...samples.map((s) => s.storeSize)),
      heapGrowthRatio: ratio(last.heapUsed, previous.heapUsed),
      heapGrowthBytes: last.heapUsed - previous.heapUsed,
      bytesPerEntry: Math.round((full.heapUsed - start.heapUsed) / maxEntries),
      fullVsFillingRatio: ratio(last.perSecond, samples[1].perSecond),
    };
  } finally {
    await child.stop();
  }
}

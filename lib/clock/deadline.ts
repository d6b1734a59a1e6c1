import { setTimeout as sleep } from 'node:timers/promises';

/**
 * `work`'s value, or `'late'` when it has not settled within `ms`; `work` itself runs on. The timer
 * ends with the race, and keeps the process alive only when `ref` (a probe that must answer).
 */
export async function withinDeadline<T>(
  work: Promise<T>,
  ms: number,
  ref = false,
): Promise<T | 'late'> {
  const deadline = new AbortController();
  const late = sleep(ms, 'late' as const, { ref, signal: deadline.signal }).catch(
    () => 'late' as const,
  );
  try {
    return await Promise.race([work, late]);
  } finally {
    deadline.abort();
  }
}

/**
 * Polls `condition` every 5 ms until it holds (about 10 s at most), on timers only: it works while a
 * test stubs or steps `Date.now`, where a deadline read from the wall clock would never come.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what = 'condition',
): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what} never met`);
}

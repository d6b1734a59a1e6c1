/** What every stored value carries: its revision, for compare-and-set, and when it was written. */
interface Revised {
  revision: number;
  updatedAt: number;
}

/** `base` with `changes`, as the revision after `from` (default: `base`'s own), written at `now`. */
export function nextRevision<T extends Revised>(
  base: T,
  changes: Partial<NoInfer<T>>,
  now: number,
  from: number = base.revision,
): T {
  return { ...base, ...changes, revision: from + 1, updatedAt: now };
}

/**
 * Changes one stored value by compare-and-set: `change` gets the value as read (`first`, else a
 * read) and gives the next one, or `undefined` to write nothing; it is written over the revision
 * read (0 when none is stored), and when another writer got there first, read and changed again.
 * Resolves with the value as stored after: the one written, or the one read when none was.
 */
export async function changeByRevision<T extends { revision: number }>(
  read: () => Promise<T | undefined>,
  change: (current: T | undefined) => T | undefined,
  write: (next: T, expectedRevision: number) => Promise<boolean>,
  first?: T,
): Promise<T | undefined> {
  let current = first ?? (await read());
  for (;;) {
    const next = change(current);
    if (next === undefined) return current;
    if (await write(next, current?.revision ?? 0)) return next;
    current = await read();
  }
}

/** A stored value's JSON read back, or `undefined` when none is stored (`null` or `undefined`). */
export function parseStored<T>(json: unknown): T | undefined {
  return json === null || json === undefined ? undefined : (JSON.parse(String(json)) as T);
}

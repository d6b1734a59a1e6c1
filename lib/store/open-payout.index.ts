import type {
  PayoutOpenChange,
  PayoutOpenCursor,
  PayoutOpenDetails,
  PayoutOpenEntry,
} from './payout-store.interface';

type Entry = { openedAt: number; dueAt: number } & PayoutOpenDetails;

interface HeapNode {
  dueAt: number;
  mchOrderNo: string;
}

/** Order by openedAt, then mchOrderNo, as a Redis sorted set orders them. */
function byOpened(a: PayoutOpenCursor, b: PayoutOpenCursor): number {
  if (a.openedAt !== b.openedAt) return a.openedAt - b.openedAt;
  return a.mchOrderNo < b.mchOrderNo ? -1 : a.mchOrderNo > b.mchOrderNo ? 1 : 0;
}

/** Heap order: earlier due first; ties by mchOrderNo, as a Redis sorted set orders them. */
function before(a: HeapNode, b: HeapNode): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.mchOrderNo < b.mchOrderNo);
}

/**
 * The open payouts of `MemoryPayoutStore`: a map in the order they were opened, and a binary
 * min-heap by due time. A reschedule pushes a new heap node and leaves the old one to be skipped
 * when it surfaces (its due time no longer matches the map), so every operation is O(log n); the
 * heap is rebuilt from the map once such stale nodes outnumber the live ones.
 */
export class OpenPayoutIndex {
  private readonly entries = new Map<string, Entry>();
  private heap: HeapNode[] = [];

  track(
    mchOrderNo: string,
    openedAt: number,
    dueAt: number,
    details: PayoutOpenDetails = {},
  ): void {
    const current = this.entries.get(mchOrderNo);
    this.entries.set(mchOrderNo, {
      openedAt: current?.openedAt ?? openedAt,
      dueAt,
      merchantId: details.merchantId ?? current?.merchantId,
      watchUntil: current?.watchUntil ?? details.watchUntil,
    });
    if (current?.dueAt === dueAt) return;
    this.push({ dueAt, mchOrderNo });
    if (this.heap.length > 2 * this.entries.size + 1024) this.rebuild();
  }

  untrack(mchOrderNo: string): void {
    this.entries.delete(mchOrderNo);
  }

  count(): { open: number; watching: number } {
    let watching = 0;
    for (const entry of this.entries.values()) if (entry.watchUntil !== undefined) watching++;
    return { open: this.entries.size - watching, watching };
  }

  has(mchOrderNo: string): boolean {
    return this.entries.has(mchOrderNo);
  }

  takeDue(now: number, limit: number, leaseMs: number): PayoutOpenEntry[] {
    const taken: PayoutOpenEntry[] = [];
    while (taken.length < limit && this.heap.length > 0 && this.heap[0].dueAt <= now) {
      const node = this.pop()!;
      const entry = this.entries.get(node.mchOrderNo);
      if (!entry || entry.dueAt !== node.dueAt) continue; // rescheduled or untracked since
      taken.push(openEntry({ mchOrderNo: node.mchOrderNo, ...entry }));
    }
    for (const entry of taken) this.track(entry.mchOrderNo, entry.openedAt, now + leaseMs);
    return taken;
  }

  /**
   * A page in (openedAt, mchOrderNo) order. The index is not kept in that order (a heap serves the
   * sweep), so a page sorts the entries: O(n log n), fine for an operator's listing.
   */
  list(limit: number, cursor?: PayoutOpenCursor): PayoutOpenEntry[] {
    return [...this.entries]
      .map(([mchOrderNo, entry]) => openEntry({ mchOrderNo, ...entry }))
      .filter((entry) => cursor === undefined || byOpened(entry, cursor) > 0)
      .sort(byOpened)
      .slice(0, limit);
  }

  private rebuild(): void {
    this.heap = [];
    for (const [mchOrderNo, { dueAt }] of this.entries) this.push({ dueAt, mchOrderNo });
  }

  private push(node: HeapNode): void {
    const heap = this.heap;
    heap.push(node);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(node, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = node;
  }

  private pop(): HeapNode | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const child = left + 1 < heap.length && before(heap[left + 1], heap[left]) ? left + 1 : left;
      if (!before(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

/** An open entry as every store returns it: without the details it does not have. */
export function openEntry(entry: PayoutOpenEntry): PayoutOpenEntry {
  const { mchOrderNo, openedAt, dueAt, merchantId, watchUntil } = entry;
  const out: PayoutOpenEntry = { mchOrderNo, openedAt, dueAt };
  if (merchantId !== undefined) out.merchantId = merchantId;
  if (watchUntil !== undefined) out.watchUntil = watchUntil;
  return out;
}

/**
 * A change of the open index as a script's or statement's parameters: `untrack`'s mchOrderNo, or
 * `trackOpen`'s arguments with `none` for a detail not given.
 */
export function openChangeParams<N>(open: PayoutOpenChange, none: N): (string | number | N)[] {
  if ('untrack' in open) return [open.untrack];
  const { track, openedAt, dueAt, details } = open;
  return [track, openedAt, dueAt, details?.merchantId ?? none, details?.watchUntil ?? none];
}

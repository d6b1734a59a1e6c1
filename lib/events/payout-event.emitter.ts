import type { EventEmitter2 } from '@nestjs/event-emitter';

/**
 * Emits `payload` as `name` on the host's bus and waits for every listener to settle, then rejects
 * with the first failure, if any. `EventEmitter2.emitAsync` rejects as soon as one listener fails,
 * while the others still run: a claim released then would let the next delivery run them again
 * beside the first run.
 */
export async function emitToEveryListener(
  events: EventEmitter2,
  name: string,
  payload: unknown,
): Promise<void> {
  const calls = [
    ...events.listenersAny().map((listener) => () => listener.call(events, name, payload)),
    ...events.listeners(name).map((listener) => () => listener.call(events, payload)),
  ];
  const results = await Promise.allSettled(
    calls.map(async (call) => {
      // As emitAsync does, so a listener reading `this.event` sees the event it runs for.
      (events as unknown as { event: string }).event = name;
      return call();
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

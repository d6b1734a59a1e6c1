// Phase 3, in its own process started with --expose-gc: 100,000 distinct notifications straight
// through PayoutService.handleNotification (no HTTP: the store and the processor are what is
// measured), with the default store class bounded to BENCH.memory.maxEntries.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { MemoryPayoutStore, PayoutModule, PayoutService } from 'nestjs-cashy-payout';
import { BENCH } from './bench.config';
import { serveParent } from './ipc.util';
import { CountingListener } from './counting.listener';
import { BENCH_ACCOUNTS, signedNotification } from './notifications.fixture';

/** The heap after a full GC, once `notifications` have been handled. */
export interface MemorySample {
  notifications: number;
  storeSize: number;
  heapUsed: number;
  rss: number;
  /** Notifications handled per second since the previous sample (GC excluded); 0 for the first sample. */
  perSecond: number;
}

async function fullGc(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory.child needs node --expose-gc');
  // Twice, with a turn of the loop between, so weak callbacks and finalizers have run.
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

async function main(): Promise<void> {
  const { maxEntries, checkpoints, concurrency } = BENCH.memory;
  const store = new MemoryPayoutStore({ maxEntries });

  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        accounts: BENCH_ACCOUNTS,
        store,
        webhook: false,
      }),
    ],
    providers: [CountingListener],
  })
  class MemoryModule {}
  const app = await NestFactory.createApplicationContext(MemoryModule, {
    logger: false,
  });
  const payouts = app.get(PayoutService);
  const listener = app.get(CountingListener);

  const sample = async (notifications: number, perSecond = 0): Promise<MemorySample> => {
    await fullGc();
    const { heapUsed, rss } = process.memoryUsage();
    return {
      notifications,
      storeSize: store.size,
      heapUsed,
      rss,
      perSecond: Math.round(perSecond),
    };
  };

  const run = async () => {
    const samples: MemorySample[] = [await sample(0)];
    let handled = 0;
    for (const checkpoint of checkpoints) {
      const from = handled;
      const started = performance.now();
      while (handled < checkpoint) {
        const batch = Math.min(concurrency, checkpoint - handled);
        // As the webhook hands it over: the parsed body and the MerchantId header.
        await Promise.all(
          Array.from({ length: batch }, () => {
            // Peruvian: a Mexican success is kept for its return watch whatever maxEntries (rule 10).
            const { body, headers } = signedNotification(BENCH_ACCOUNTS[0]);
            return payouts
              .handleNotification(JSON.parse(body.toString('utf8')), headers.MerchantId)
              .then((result) => {
                if (result !== 'emitted')
                  throw new Error(`a distinct notification was ${result}, not emitted`);
              });
          }),
        );
        handled += batch;
      }
      samples.push(
        await sample(handled, ((handled - from) * 1000) / (performance.now() - started)),
      );
    }
    return { maxEntries, samples, emitted: listener.succeeded };
  };

  serveParent({ ready: () => ({ pid: process.pid }), run }, () => app.close());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Module, type Provider } from '@nestjs/common';
import { PayoutModule, type PayoutModuleOptions, PayoutService } from '../../lib';
import { CashySandbox, type CashySandboxOptions, freePort } from '../../lib/testing';
import { RecordingListener } from './host-app';

/** A sandbox gateway and a real Nest host wired to it (Express), for end-to-end reliability tests. */
export interface SandboxHost {
  sandbox: CashySandbox;
  app: INestApplication;
  payouts: PayoutService;
  listener: RecordingListener;
  /** Events received for one mchOrderNo. */
  eventsFor(mchOrderNo: string): RecordingListener['events'];
  close(): Promise<void>;
}

export async function startSandboxHost(
  sandboxOptions: CashySandboxOptions,
  moduleOptions: Partial<PayoutModuleOptions> = {},
  extra: { providers?: Provider[] } = {},
): Promise<SandboxHost> {
  const sandbox = new CashySandbox({
    processingMs: 5,
    payingMs: 10,
    timeScale: 0.0005,
    ...sandboxOptions,
  });
  await sandbox.start();
  const port = await freePort();

  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({
        ...sandbox.moduleOptions({
          notifyUrl: `http://127.0.0.1:${port}/payout/webhook`,
        }),
        timeoutMs: 150,
        retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 40 },
        // Longer than the sandbox's late commit (800 ms), so no create is sent again while one may land.
        resendWindowMs: 1_000,
        ...moduleOptions,
      }),
    ],
    providers: [RecordingListener, ...(extra.providers ?? [])],
  })
  class ReliabilityHostModule {}

  const app = await NestFactory.create(ReliabilityHostModule, {
    rawBody: true,
    logger: false,
    abortOnError: false,
  });
  await app.listen(port, '127.0.0.1');
  const listener = app.get(RecordingListener);
  return {
    sandbox,
    app,
    payouts: app.get(PayoutService),
    listener,
    eventsFor: (mchOrderNo) => listener.events.filter((e) => e.payload.mchOrderNo === mchOrderNo),
    async close() {
      await sandbox.stop();
      await app.close();
    },
  };
}

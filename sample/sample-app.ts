import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { PayoutModuleOptions } from 'nestjs-cashy-payout';
import { CashySandbox, freePort } from 'nestjs-cashy-payout/testing';
import { AppModule } from './app.module';

/** A running sample: the Nest app, its URL, and the embedded sandbox when no gateway was configured. */
export interface RunningSample {
  app: INestApplication;
  url: string;
  sandbox?: CashySandbox;
  close(): Promise<void>;
}

/** Options of `startSampleApp` (all optional; `npm start` uses the environment). */
export interface SampleOptions {
  env?: NodeJS.ProcessEnv;
  port?: number;
  logger?: false | LogLevel[] | LoggerService;
  /** Passed to the embedded sandbox: how fast orders settle and retries come. */
  sandbox?: ConstructorParameters<typeof CashySandbox>[0];
}

/**
 * Starts the sample. With `CASHY_BASE_URL`, `CASHY_MERCHANT_ID` and `CASHY_API_KEY` it talks to that
 * gateway; otherwise it starts an embedded `CashySandbox` and points the module at it.
 */
export async function startSampleApp(options: SampleOptions = {}): Promise<RunningSample> {
  const env = options.env ?? process.env;
  const port = options.port ?? Number(env.PORT ?? 3000);
  const listenPort = port === 0 ? await freePort() : port;
  const localWebhook = `http://127.0.0.1:${listenPort}/payout/webhook`;

  let sandbox: CashySandbox | undefined;
  let gateway: PayoutModuleOptions;
  if (env.CASHY_BASE_URL) {
    gateway = {
      baseUrl: env.CASHY_BASE_URL,
      merchantId: env.CASHY_MERCHANT_ID ?? '',
      apiKey: env.CASHY_API_KEY ?? '',
      notifyUrl: env.CASHY_NOTIFY_URL ?? localWebhook,
    };
  } else {
    // Slow enough to watch an order move, fast enough for a demo: one retry "minute" is one second.
    sandbox = new CashySandbox({ processingMs: 500, payingMs: 1500, timeScale: 1 / 60, ...options.sandbox });
    await sandbox.start();
    gateway = sandbox.moduleOptions({ notifyUrl: localWebhook });
  }

  let app: INestApplication;
  try {
    app = await NestFactory.create(AppModule.register(gateway), { rawBody: true, abortOnError: false, logger: options.logger });
    app.enableShutdownHooks();
    await app.listen(listenPort, '127.0.0.1');
  } catch (error) {
    await sandbox?.stop();
    throw error;
  }
  const url = `http://127.0.0.1:${listenPort}`;
  return {
    app,
    url,
    sandbox,
    async close() {
      await sandbox?.stop();
      await app.close();
    },
  };
}

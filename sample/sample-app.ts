import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
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
  /**
   * Where `PORT` and `CASHY_BASE_URL` are looked up (default `process.env`): without `CASHY_BASE_URL` the
   * embedded sandbox is used. The gateway settings themselves are read from `process.env` by `payoutConfig`.
   */
  env?: NodeJS.ProcessEnv;
  port?: number;
  logger?: false | LogLevel[] | LoggerService;
  /** Passed to the embedded sandbox: how fast orders settle and retries come. */
  sandbox?: ConstructorParameters<typeof CashySandbox>[0];
}

/**
 * Starts the sample. With `CASHY_BASE_URL` and the account variables `payoutConfig` reads (`CASHY_MERCHANT_ID`
 * and `CASHY_API_KEY`, or one pair per currency) it talks to that gateway; otherwise it starts an embedded
 * `CashySandbox` and points the module at it.
 */
export async function startSampleApp(options: SampleOptions = {}): Promise<RunningSample> {
  const env = options.env ?? process.env;
  const port = options.port ?? Number(env.PORT ?? 3000);
  const listenPort = port === 0 ? await freePort() : port;
  const localWebhook = `http://127.0.0.1:${listenPort}/payout/webhook`;

  let sandbox: CashySandbox | undefined;
  if (!env.CASHY_BASE_URL) {
    // Slow enough to watch an order move, fast enough for a demo: one retry "minute" is one second.
    sandbox = new CashySandbox({ processingMs: 500, payingMs: 1500, timeScale: 1 / 60, ...options.sandbox });
    await sandbox.start();
  }

  let app: INestApplication;
  try {
    const module = sandbox ? AppModule.register(sandbox.moduleOptions({ notifyUrl: localWebhook })) : AppModule.register();
    app = await NestFactory.create(module, { rawBody: true, abortOnError: false, logger: options.logger });
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

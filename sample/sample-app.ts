import type { Server } from 'node:http';
import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { useContainer } from 'class-validator';
import { CashySandbox, freePort } from 'nestjs-cashy-payout/testing';
import { AppModule } from './app.module';

/**
 * Server timeouts for an app whose webhook is reachable from the internet (Node's defaults let a
 * client that sends its request one byte at a time hold a socket for minutes). Cashy sends a
 * notification of well under 1 KiB in one go, so these never cut a real delivery short.
 */
export const WEBHOOK_SERVER_TIMEOUTS = {
  /** The whole request, headers and body, must have arrived by then (Node: 300 s). */
  requestTimeoutMs: 10_000,
  /** The headers must have arrived by then; also closes a connection that sends nothing (Node: 60 s). */
  headersTimeoutMs: 5_000,
  /** An idle keep-alive connection is closed after this (Node: 5 s). Behind a load balancer, make it longer than the balancer's idle timeout. */
  keepAliveTimeoutMs: 5_000,
  /** How often Node checks the first two (Node: every 30 s, which would let a slow client hold on up to 30 s longer). */
  checkIntervalMs: 1_000,
} as const;

/**
 * Applies `WEBHOOK_SERVER_TIMEOUTS` to the app's `http.Server` (Express: `app.getHttpServer()`).
 * Call it before `app.listen()`: Node starts its timeout checker, at `connectionsCheckingInterval`,
 * when the server starts listening. (On Fastify pass the same through the adapter:
 * `new FastifyAdapter({ requestTimeout, keepAliveTimeout, http: { headersTimeout, connectionsCheckingInterval } })`.)
 */
export function applyServerTimeouts(server: Server): void {
  server.requestTimeout = WEBHOOK_SERVER_TIMEOUTS.requestTimeoutMs;
  server.headersTimeout = WEBHOOK_SERVER_TIMEOUTS.headersTimeoutMs;
  server.keepAliveTimeout = WEBHOOK_SERVER_TIMEOUTS.keepAliveTimeoutMs;
  // A createServer option that Node keeps as a property and reads on 'listening'; not in @types/node's Server.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    WEBHOOK_SERVER_TIMEOUTS.checkIntervalMs;
}

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
   * Where `PORT`, `CASHY_BASE_URL` and `PAYOUT_STORE_URL` are looked up (default `process.env`): without
   * `CASHY_BASE_URL` the embedded sandbox is used; `PAYOUT_STORE_URL` (`postgres://…` or `redis://…`)
   * picks a shared store, the in-memory one when unset. The gateway settings themselves are read from `process.env` by `payoutConfig`.
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
    sandbox = new CashySandbox({
      processingMs: 500,
      payingMs: 1500,
      timeScale: 1 / 60,
      ...options.sandbox,
    });
    await sandbox.start();
  }

  let app: INestApplication;
  try {
    const module = AppModule.register(
      sandbox?.moduleOptions({ notifyUrl: localWebhook }),
      env.PAYOUT_STORE_URL,
    );
    app = await NestFactory.create(module, {
      rawBody: true,
      abortOnError: false,
      logger: options.logger,
    });
    app.enableShutdownHooks();
    applyServerTimeouts(app.getHttpServer());
    // The DTOs reach the module's options (amount limits) through Nest's container.
    useContainer(app, { fallbackOnErrors: true });
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

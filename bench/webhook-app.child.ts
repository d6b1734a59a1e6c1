// The app under load in the webhook phase: a host Nest app with the module's webhook route, a bare
// route (the floor) and a hand-written signed route (the baseline) side by side, run as its own
// process so autocannon (in the parent) does not share its event loop.
// Usage (from run.ts only): node webhook-app.child.js <express|fastify> '<WebhookAppOptions as JSON>'
import 'reflect-metadata';
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  Body,
  type CanActivate,
  Controller,
  type DynamicModule,
  type ExecutionContext,
  Header,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Post,
  Req,
  type Type,
  UnauthorizedException,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import {
  MemoryPayoutStore,
  PayoutModule,
  PayoutService,
  PayoutSignatureGuard,
  type PayoutRecord,
  type PayoutReportContext,
  type PayoutStore,
  type PayoutWebhookRequest,
} from 'nestjs-cashy-payout';
import { PostgresPayoutStore } from 'nestjs-cashy-payout/postgres';
import { RedisPayoutStore } from 'nestjs-cashy-payout/redis';
import { Pool } from 'pg';
import {
  BARE_PATH,
  BENCH,
  DEDUPE_TABLE,
  MODULE_GUARD_PATH,
  SERVICE_PATH,
  SIGNED_DEDUPE_PATH,
  SIGNED_EVENT,
  SIGNED_INSERT_PATH,
  SIGNED_PATH,
} from './bench.config';
import { BENCH_ACCOUNTS } from './notifications.fixture';
import { serveParent } from './ipc.util';
import { CountingListener } from './counting.listener';

/** Which app to build: the module's store, and whether the stage-breakdown routes are mounted. */
export interface WebhookAppOptions {
  /**
   * `memory`: the default `MemoryPayoutStore`; `redis`: `RedisPayoutStore` on `redisUrl`;
   * `postgres`: `PostgresPayoutStore` on a pool to `postgresUrl`; `bypass`: a `MemoryPayoutStore`
   * that does no order or attempt work (the stage breakdown's "store work off").
   */
  store: 'memory' | 'redis' | 'postgres' | 'bypass';
  redisUrl?: string;
  postgresUrl?: string;
  /** Mount `MODULE_GUARD_PATH` and `SERVICE_PATH` too. */
  stages?: boolean;
}

/** What the child reports about itself. */
export interface HostAppStats {
  /** payout.succeeded events the listener received: one per distinct notification acknowledged. */
  succeeded: number;
  /** Events the hand-written routes emitted. */
  signed: number;
  bareRequests: number;
  /** Commands the app has sent to Redis so far (Redis apps only). */
  redisCommands?: number;
  /** Statements the app has sent to PostgreSQL so far (PostgreSQL apps only). */
  postgresStatements?: number;
  /** Orders held by a MemoryPayoutStore (`undefined` on Redis). */
  storeSize?: number;
  heapUsed: number;
  rss: number;
  /** CPU this process has used so far (user + system), in µs. */
  cpuUs: number;
}

/** The floor: same app, same body parser (with the raw body kept), no payout logic. */
@Controller(BARE_PATH.slice(1))
class BareController {
  static requests = 0;

  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  receive(@Body() body: Record<string, unknown>): string {
    if (body) BareController.requests++;
    return 'SUCCESS';
  }
}

/** A signature check as a host would write it by hand: MerchantId's key, MD5(raw body + key), constant-time compare. */
@Injectable()
class HandWrittenSignatureGuard implements CanActivate {
  private readonly keys = new Map(
    BENCH_ACCOUNTS.map((account) => [account.merchantId, account.apiKey]),
  );

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      rawBody?: Buffer;
    }>();
    const key = this.keys.get(request.headers.merchantid ?? '');
    const sign = request.headers.sign ?? '';
    if (!key || !request.rawBody || !/^[0-9a-fA-F]{32}$/.test(sign))
      throw new UnauthorizedException();
    const given = Buffer.from(sign, 'hex');
    if (!timingSafeEqual(createHash('md5').update(request.rawBody).update(key).digest(), given))
      throw new UnauthorizedException();
    return true;
  }
}

/**
 * The baseline, what any signed webhook with a listener costs without the module: the guard
 * above, then one event to the same listener class. No validation, no dedupe, no state.
 */
@Controller(SIGNED_PATH.slice(1))
class SignedController {
  constructor(private readonly events: EventEmitter2) {}

  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @UseGuards(HandWrittenSignatureGuard)
  async receive(@Body() body: Record<string, unknown>): Promise<string> {
    await this.events.emitAsync(SIGNED_EVENT, body);
    return 'SUCCESS';
  }
}

/** The Redis baseline's client: the app's own, so its commands are counted like the store's. */
const DEDUPE_REDIS = Symbol('DEDUPE_REDIS');
/** How long the hand-written dedupe remembers an order: the store's default ttlMs. */
const DEDUPE_TTL_MS = 48 * 60 * 60 * 1000;

/**
 * The Redis baseline, what a user would write for several replicas: the signed route, plus one
 * `SET NX PX` per notification so that a duplicate (on any replica) emits nothing.
 */
@Controller(SIGNED_DEDUPE_PATH.slice(1))
class SignedDedupeController {
  constructor(
    private readonly events: EventEmitter2,
    @Inject(DEDUPE_REDIS) private readonly redis: Redis,
  ) {}

  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @UseGuards(HandWrittenSignatureGuard)
  async receive(@Body() body: Record<string, unknown>): Promise<string> {
    const first = await this.redis.set(
      `bench-dedupe:${String(body.orderNo)}:${String(body.orderStatus)}`,
      '1',
      'PX',
      DEDUPE_TTL_MS,
      'NX',
    );
    if (first === 'OK') await this.events.emitAsync(SIGNED_EVENT, body);
    return 'SUCCESS';
  }
}

/** The PostgreSQL baseline's pool: the app's own, shared with the store, so its statements are counted alike. */
const DEDUPE_POOL = Symbol('DEDUPE_POOL');

/**
 * The PostgreSQL baseline, what a user would write for several replicas on PostgreSQL: the signed
 * route, plus one `INSERT … ON CONFLICT DO NOTHING` per notification so that a duplicate (on any
 * replica) emits nothing.
 */
@Controller(SIGNED_INSERT_PATH.slice(1))
class SignedInsertController {
  constructor(
    private readonly events: EventEmitter2,
    @Inject(DEDUPE_POOL) private readonly pool: Pool,
  ) {}

  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @UseGuards(HandWrittenSignatureGuard)
  async receive(@Body() body: Record<string, unknown>): Promise<string> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${DEDUPE_TABLE} (key) VALUES ($1) ON CONFLICT DO NOTHING`,
      [`${String(body.orderNo)}:${String(body.orderStatus)}`],
    );
    if (rowCount === 1) await this.events.emitAsync(SIGNED_EVENT, body);
    return 'SUCCESS';
  }
}

/** Stage breakdown, signature: the signed route with the module's `PayoutSignatureGuard` in place of the hand-written one. */
@Controller(MODULE_GUARD_PATH.slice(1))
class ModuleGuardController {
  constructor(private readonly events: EventEmitter2) {}

  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @UseGuards(PayoutSignatureGuard)
  async receive(@Body() body: Record<string, unknown>): Promise<string> {
    await this.events.emitAsync(SIGNED_EVENT, body);
    return 'SUCCESS';
  }
}

/**
 * Stage breakdown, the service: `PayoutSignatureGuard`, then `PayoutService.handleNotification`
 * (validation, dedupe and state in the store, the typed event) from a plain host controller,
 * without the module's controller around it.
 */
@Controller(SERVICE_PATH.slice(1))
class ServiceController {
  constructor(private readonly payouts: PayoutService) {}

  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @UseGuards(PayoutSignatureGuard)
  async receive(@Req() request: PayoutWebhookRequest & { body?: unknown }): Promise<string> {
    await this.payouts.handleNotification(request.body, request.payoutAccount!.merchantId);
    return 'SUCCESS';
  }
}

const NOTHING = Promise.resolve(undefined);
const WRITTEN = Promise.resolve(true);
const NOTHING_KNOWN = Promise.resolve({});

/**
 * Stage breakdown, the store switched off: a `MemoryPayoutStore` that does no order or attempt
 * work: reads find nothing, writes succeed, nothing is kept. Everything else the module does per
 * notification still runs.
 */
class BypassPayoutStore extends MemoryPayoutStore {
  override get(): Promise<PayoutRecord | undefined> {
    return NOTHING;
  }

  override findByMchOrderNo(): Promise<PayoutRecord | undefined> {
    return NOTHING;
  }

  override compareAndSet(): Promise<boolean> {
    return WRITTEN;
  }

  override getAttempt(): Promise<undefined> {
    return NOTHING;
  }

  override getReportContext(): Promise<PayoutReportContext> {
    return NOTHING_KNOWN;
  }

  override untrackOpen(): Promise<void> {
    return NOTHING;
  }
}

function hostModule(
  options: WebhookAppOptions,
  store: PayoutStore,
  redis: Redis | undefined,
  pool: Pool | undefined,
): DynamicModule {
  const controllers: Type<unknown>[] = [BareController, SignedController];
  if (options.stages) controllers.push(ModuleGuardController, ServiceController);
  if (redis) controllers.push(SignedDedupeController);
  if (pool) controllers.push(SignedInsertController);
  @Module({})
  class HostModule {}
  return {
    module: HostModule,
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        accounts: BENCH_ACCOUNTS,
        store,
      }),
    ],
    controllers,
    providers: [
      CountingListener,
      ...(redis ? [{ provide: DEDUPE_REDIS, useValue: redis }] : []),
      ...(pool ? [{ provide: DEDUPE_POOL, useValue: pool }] : []),
    ],
  };
}

async function main(): Promise<void> {
  const adapter = process.argv[2] === 'fastify' ? 'fastify' : 'express';
  const options = JSON.parse(process.argv[3] ?? '{"store":"memory"}') as WebhookAppOptions;
  // A client as the store's documentation asks for: commands fail fast while Redis is down.
  const redis =
    options.store === 'redis'
      ? new Redis(options.redisUrl!, {
          maxRetriesPerRequest: 1,
          lazyConnect: true,
        })
      : undefined;
  let redisCommands = 0;
  if (redis) {
    await redis.connect();
    // Every command ioredis sends goes through sendCommand (no auto-pipelining): one round trip each.
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
      redisCommands++;
      return send(...args);
    };
  }
  // A pool as the store's documentation asks for: an error listener and a statement_timeout.
  const pool =
    options.store === 'postgres'
      ? new Pool({
          connectionString: options.postgresUrl,
          max: BENCH.postgres.poolMax,
          statement_timeout: PostgresPayoutStore.DEFAULTS.statementTimeoutMs,
        })
      : undefined;
  let postgresStatements = 0;
  if (pool) {
    pool.on('error', () => undefined);
    // Every statement goes through a pooled client's query (pool.query too): one round trip each.
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        postgresStatements++;
        return query(...args);
      }) as typeof client.query;
    });
  }
  const store: PayoutStore =
    options.store === 'redis'
      ? new RedisPayoutStore({ client: redis! })
      : options.store === 'postgres'
        ? new PostgresPayoutStore({ pool: pool! })
        : options.store === 'bypass'
          ? new BypassPayoutStore()
          : new MemoryPayoutStore();
  if (store instanceof PostgresPayoutStore) await store.migrate();
  const module = hostModule(options, store, redis, pool);
  const appOptions = { rawBody: true, logger: false as const };
  const app: INestApplication =
    adapter === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), appOptions)
      : await NestFactory.create(module, appOptions);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  const listener = app.get(CountingListener);

  serveParent(
    {
      ready: () => ({ url, adapter, store: options.store }),
      stats: (): HostAppStats => {
        const memory = process.memoryUsage();
        const cpu = process.cpuUsage();
        return {
          succeeded: listener.succeeded,
          signed: listener.signed,
          bareRequests: BareController.requests,
          redisCommands: redis ? redisCommands : undefined,
          postgresStatements: pool ? postgresStatements : undefined,
          storeSize: store instanceof MemoryPayoutStore ? store.size : undefined,
          heapUsed: memory.heapUsed,
          rss: memory.rss,
          cpuUs: cpu.user + cpu.system,
        };
      },
    },
    async () => {
      await app.close();
      redis?.disconnect();
      if (store instanceof PostgresPayoutStore) await store.close();
      await pool?.end();
    },
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

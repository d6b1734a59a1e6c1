// The app under load in phase 1: a host Nest app with the module's webhook route and a bare route
// side by side, run as its own process so autocannon (in the parent) does not share its event loop.
// Usage (from run.ts only): node webhook-app.child.js <express|fastify>
import 'reflect-metadata';
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Header,
  HttpCode,
  Injectable,
  Module,
  Post,
  UnauthorizedException,
  UseGuards,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { MemoryPayoutStore, PAYOUT_STORE, PayoutModule } from 'nestjs-cashy-payout';
import { BARE_PATH, SIGNED_EVENT, SIGNED_PATH } from './bench.config';
import { BENCH_ACCOUNTS } from './notifications.fixture';
import { serveParent } from './ipc.util';
import { CountingListener } from './counting.listener';

/** What the child reports about itself. */
export interface HostAppStats {
  /** payout.succeeded events the listener received: one per distinct notification acknowledged. */
  succeeded: number;
  /** Events the hand-written signed route emitted. */
  signed: number;
  bareRequests: number;
  storeSize: number;
  heapUsed: number;
  rss: number;
  /** CPU this process has used so far (user + system), in µs. */
  cpuUs: number;
}

/** The baseline: same app, same body parser (with the raw body kept), no payout logic. */
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
  private readonly keys = new Map(BENCH_ACCOUNTS.map((account) => [account.merchantId, account.apiKey]));

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; rawBody?: Buffer }>();
    const key = this.keys.get(request.headers.merchantid ?? '');
    const sign = request.headers.sign ?? '';
    if (!key || !request.rawBody || !/^[0-9a-fA-F]{32}$/.test(sign)) throw new UnauthorizedException();
    const given = Buffer.from(sign, 'hex');
    if (!timingSafeEqual(createHash('md5').update(request.rawBody).update(key).digest(), given)) throw new UnauthorizedException();
    return true;
  }
}

/**
 * What any signed webhook with a listener costs, without the module: the guard above, then one
 * event to the same listener class. No validation, no dedupe, no state.
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

@Module({
  imports: [
    EventEmitterModule.forRoot(),
    PayoutModule.forRoot({ baseUrl: 'http://127.0.0.1:9', accounts: BENCH_ACCOUNTS }),
  ],
  controllers: [BareController, SignedController],
  providers: [CountingListener],
})
class HostModule {}

async function main(): Promise<void> {
  const adapter = process.argv[2] === 'fastify' ? 'fastify' : 'express';
  const options = { rawBody: true, logger: false as const };
  const app: INestApplication =
    adapter === 'fastify' ? await NestFactory.create(HostModule, new FastifyAdapter(), options) : await NestFactory.create(HostModule, options);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  const listener = app.get(CountingListener);
  const store = app.get<MemoryPayoutStore>(PAYOUT_STORE);

  serveParent(
    {
      ready: () => ({ url, adapter }),
      stats: (): HostAppStats => {
        const memory = process.memoryUsage();
        const cpu = process.cpuUsage();
        return {
          succeeded: listener.succeeded,
          signed: listener.signed,
          bareRequests: BareController.requests,
          storeSize: store.size,
          heapUsed: memory.heapUsed,
          rss: memory.rss,
          cpuUs: cpu.user + cpu.system,
        };
      },
    },
    () => app.close(),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

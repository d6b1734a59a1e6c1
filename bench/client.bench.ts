import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { HttpModule, HttpService } from '@nestjs/axios';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { firstValueFrom } from 'rxjs';
import { PayoutModule, PayoutService } from 'nestjs-cashy-payout';
import { samplePayout, type SandboxModuleOptions } from 'nestjs-cashy-payout/testing';
import { alternate } from './alternation.util';
import { BENCH } from './bench.config';
import { startChild } from './ipc.util';
import { cpuMicros, median, ratio, round, Samples } from './stats.util';

/** One closed-loop segment. Latencies in ms. */
export interface CallFigures {
  /** Completed calls per second. */
  perSecond: number;
  p50: number;
  p99: number;
  /** This process's CPU per call, in µs: the client-side cost the gateway's speed cannot hide. */
  cpuUsPerCall: number;
  calls: number;
}

/** One path's segments and their medians. */
export interface PathFigures {
  callsPerSec: number;
  p50: number;
  p99: number;
  cpuUsPerCall: number;
  segments: CallFigures[];
}

/**
 * One path over another: `callsPerSec` is the median of the per-round ratios (what the targets
 * compare); p50, p99 and cpuUsPerCall (lower is better) are ratios of the medians.
 */
export interface PathRatios {
  callsPerSec: number;
  p50: number;
  p99: number;
  cpuUsPerCall: number;
}

/**
 * Phase 2: `createPayout` against the hand-written signed POST through `HttpService` (the baseline),
 * with the same POST on `node:http` (the floor) beside them; the same body to the same sandbox.
 */
export interface ClientResult {
  /** The baseline: a signed POST through an `HttpModule`-registered `HttpService`, written by hand. */
  httpService: PathFigures;
  createPayout: PathFigures;
  /** The floor: the same signed POST on `node:http`, no HTTP client library at all. */
  raw: PathFigures;
  /** createPayout / the HttpService baseline: what the targets compare. */
  ratios: PathRatios;
  /** createPayout / baseline calls/s, round by round. */
  roundRatios: number[];
  /** Each path over the raw floor: what axios, HttpService and the library cost on top of node:http. */
  overFloor: { createPayout: PathRatios; httpService: PathRatios };
  /** createPayout / floor and baseline / floor calls/s, round by round. */
  floorRoundRatios: { createPayout: number[]; httpService: number[] };
  setup: {
    sandbox: string;
    agent: string;
    baseline: string;
    concurrency: number;
    orders: number;
  };
}

type Path = 'httpService' | 'createPayout' | 'raw';

/** Cashy's answer as the hand-written clients read it. */
interface Envelope {
  code: number;
  msg: string;
  data?: { orderNo?: string };
}

/** A merchant account as the sandbox hands it out. */
interface BenchAccount {
  merchantId: string;
  apiKey: string;
}

const RUN = Date.now().toString(36).slice(-6);
let sequence = 0;
/** A fresh mchOrderNo for every call of every path (the sandbox refuses repeats). */
const nextMchOrderNo = () => `BN-${RUN}-${++sequence}`;

const NONCE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The part every hand-written client shares: a fresh `nonceStr`, the body serialized once, `MD5(body + apiKey)`. */
function signedBody(account: BenchAccount, body: object): { text: string; sign: string } {
  let nonceStr = '';
  for (const byte of randomBytes(16)) nonceStr += NONCE_ALPHABET[byte % NONCE_ALPHABET.length];
  const text = JSON.stringify({ ...body, nonceStr });
  return {
    text,
    sign: createHash('md5')
      .update(text + account.apiKey, 'utf8')
      .digest('hex')
      .toUpperCase(),
  };
}

function accepted(envelope: Envelope, path: string): void {
  if (envelope.code !== 200 || !envelope.data?.orderNo)
    throw new Error(`${path} payOut: ${envelope.code} ${envelope.msg}`);
}

/**
 * The baseline: a payOut as a Nest developer writes it by hand with `@nestjs/axios`, with nothing
 * from this library. `HttpService` from `HttpModule.register({ httpAgent, timeout })`; the body
 * serialized once and signed with `node:crypto`; that string posted with its headers; the
 * envelope read from `data`. Everything else is axios's defaults.
 */
@Injectable()
class HandWrittenPayoutClient {
  constructor(private readonly http: HttpService) {}

  async payOut(url: string, account: BenchAccount, body: object): Promise<void> {
    const { text, sign } = signedBody(account, body);
    const { data } = await firstValueFrom(
      this.http.post<Envelope>(url, text, {
        headers: {
          'Content-Type': 'application/json',
          MerchantId: account.merchantId,
          Sign: sign,
        },
      }),
    );
    accepted(data, 'HttpService');
  }
}

/**
 * Runs the three paths closed-loop (`concurrency` calls in flight) against a CashySandbox in a
 * child process, in alternating segments (see `alternate`). Throws if any call failed or the
 * sandbox saw a request it did not accept.
 */
export async function benchClient(log: (line: string) => void): Promise<ClientResult> {
  const { concurrency, warmupSeconds, segmentSeconds, rounds } = BENCH.client;
  const sandbox = await startChild<SandboxModuleOptions>('sandbox.child');
  const options = sandbox.ready;
  // The same kind of agent the module makes for itself (PAYOUT_DEFAULTS.http.agent), one per hand-written path.
  const baselineAgent = new Agent({ keepAlive: true });
  const floorAgent = new Agent({ keepAlive: true });

  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({ ...options, webhook: false }),
      // A timeout, as a careful developer sets one: the module's default timeoutMs.
      HttpModule.register({ httpAgent: baselineAgent, timeout: 10_000 }),
    ],
    providers: [HandWrittenPayoutClient],
  })
  class ClientModule {}
  const app = await NestFactory.createApplicationContext(ClientModule, {
    logger: false,
  });
  try {
    const payouts = app.get(PayoutService);
    const handWritten = app.get(HandWrittenPayoutClient);
    const account = options.accounts.find((a) => a.currencies.includes('MXN'))!;
    const payOutUrl = new URL('/api/payOut', options.baseUrl);
    const body = () => ({
      ...samplePayout('MXN', { mchOrderNo: nextMchOrderNo() }),
      notifyUrl: options.notifyUrl!,
    });
    const calls: Record<Path, () => Promise<unknown>> = {
      httpService: () => handWritten.payOut(payOutUrl.href, account, body()),
      createPayout: () =>
        payouts.createPayout(samplePayout('MXN', { mchOrderNo: nextMchOrderNo() })),
      raw: () => rawSignedPost(floorAgent, payOutUrl, account, body()),
    };
    let orders = 0;

    const segment = async (path: Path, seconds: number): Promise<CallFigures> => {
      const figures = await closedLoop(calls[path], concurrency, seconds * 1000);
      const seen = await sandbox.ask<{ seen: number; failed: number }>('reset');
      if (seen.failed > 0 || seen.seen !== figures.calls) {
        throw new Error(
          `client ${path}: ${figures.calls} calls, but the sandbox saw ${seen.seen} requests (${seen.failed} not accepted)`,
        );
      }
      orders += figures.calls;
      return figures;
    };

    const result = await alternate(
      rounds,
      ['httpService', 'createPayout', 'raw'] as const,
      (path, warmup) => segment(path, warmup ? warmupSeconds : segmentSeconds),
      (n, path, f) =>
        log(
          `  client round ${n} ${path.padEnd(12)} ${f.perSecond.toFixed(0).padStart(6)} calls/s  p99 ${f.p99.toFixed(2).padStart(6)} ms  ${f.cpuUsPerCall} µs CPU/call`,
        ),
    );
    const httpService = summarize(result.segments.httpService);
    const createPayout = summarize(result.segments.createPayout);
    const raw = summarize(result.segments.raw);
    const floorRounds = (path: Path) =>
      result.segments[path].map((f, i) => ratio(f.perSecond, result.segments.raw[i].perSecond));
    const floorRoundRatios = {
      createPayout: floorRounds('createPayout'),
      httpService: floorRounds('httpService'),
    };
    return {
      httpService,
      createPayout,
      raw,
      ratios: compare(createPayout, httpService, result.ratios.createPayout),
      roundRatios: result.roundRatios.createPayout,
      overFloor: {
        createPayout: compare(createPayout, raw, round(median(floorRoundRatios.createPayout), 3)),
        httpService: compare(httpService, raw, round(median(floorRoundRatios.httpService), 3)),
      },
      floorRoundRatios,
      setup: {
        sandbox: 'CashySandbox (autoSettle: false) in a separate process',
        agent: 'a keep-alive http.Agent each ({ keepAlive: true }, as the module makes its own)',
        baseline:
          "HttpModule.register({ httpAgent, timeout }) and a hand-written signed POST through its HttpService, axios's defaults otherwise",
        concurrency,
        orders,
      },
    };
  } finally {
    await app.close();
    baselineAgent.destroy();
    floorAgent.destroy();
    await sandbox.stop();
  }
}

/** `path` over `base`: the given calls/s ratio (a median of round ratios), the others ratios of medians. */
function compare(path: PathFigures, base: PathFigures, callsPerSec: number): PathRatios {
  return {
    callsPerSec,
    p50: ratio(path.p50, base.p50),
    p99: ratio(path.p99, base.p99),
    cpuUsPerCall: ratio(path.cpuUsPerCall, base.cpuUsPerCall),
  };
}

/**
 * The floor: the same signed POST on `node:http` with no HTTP client library. Body serialized once
 * with a fresh `nonceStr`, signed, those bytes posted to a URL parsed once, the envelope parsed.
 */
function rawSignedPost(agent: Agent, url: URL, account: BenchAccount, body: object): Promise<void> {
  const { text, sign } = signedBody(account, body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(text),
          MerchantId: account.merchantId,
          Sign: sign,
        },
      },
      (res) => {
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (answer += chunk));
        res.on('end', () => {
          try {
            accepted(JSON.parse(answer) as Envelope, 'raw');
            resolve();
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** `concurrency` workers each awaiting `call` in a loop until `durationMs` has passed. */
async function closedLoop(
  call: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<CallFigures> {
  const latencies = new Samples();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - started;
  const calls = latencies.length;
  return {
    perSecond: round((calls * 1000) / elapsed, 0),
    p50: round(latencies.percentile(50), 3),
    p99: round(latencies.percentile(99), 3),
    cpuUsPerCall: round(cpuMicros(cpuBefore) / calls, 1),
    calls,
  };
}

function summarize(segments: CallFigures[]): PathFigures {
  const pick = (key: keyof CallFigures) => median(segments.map((s) => s[key]));
  return {
    callsPerSec: pick('perSecond'),
    p50: pick('p50'),
    p99: pick('p99'),
    cpuUsPerCall: pick('cpuUsPerCall'),
    segments,
  };
}

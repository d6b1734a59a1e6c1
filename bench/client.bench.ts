import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
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

/** Phase 2: `createPayout` against a raw signed POST of the same body to the same sandbox. */
export interface ClientResult {
  raw: PathFigures;
  createPayout: PathFigures;
  /**
   * createPayout / raw. `callsPerSec` is the median of the per-round ratios (what the target
   * compares); p50, p99 and cpuUsPerCall (lower is better) are ratios of the medians.
   */
  ratios: { callsPerSec: number; p50: number; p99: number; cpuUsPerCall: number };
  roundRatios: number[];
  setup: { sandbox: string; agent: string; concurrency: number; orders: number };
}

type Path = 'raw' | 'createPayout';

const RUN = Date.now().toString(36).slice(-6);
let sequence = 0;
/** A fresh mchOrderNo for every call of either path (the sandbox refuses repeats). */
const nextMchOrderNo = () => `BN-${RUN}-${++sequence}`;

/**
 * Runs both paths closed-loop (`concurrency` calls in flight) against a CashySandbox in a child
 * process, in alternating segments (see `alternate`). Throws if any call failed or the sandbox
 * saw a request it did not accept.
 */
export async function benchClient(log: (line: string) => void): Promise<ClientResult> {
  const { concurrency, warmupSeconds, segmentSeconds, rounds } = BENCH.client;
  const sandbox = await startChild<SandboxModuleOptions>('sandbox.child');
  const options = sandbox.ready;

  @Module({ imports: [EventEmitterModule.forRoot(), PayoutModule.forRoot({ ...options, webhook: false })] })
  class ClientModule {}
  const app = await NestFactory.createApplicationContext(ClientModule, { logger: false });
  try {
    const payouts = app.get(PayoutService);
    const { agent, shared } = clientAgent(payouts);
    const account = options.accounts.find((a) => a.currencies.includes('MXN'))!;
    const payOutUrl = new URL('/api/payOut', options.baseUrl);
    const calls: Record<Path, () => Promise<unknown>> = {
      createPayout: () => payouts.createPayout(samplePayout('MXN', { mchOrderNo: nextMchOrderNo() })),
      raw: () => rawSignedPost(agent, payOutUrl, account, { ...samplePayout('MXN', { mchOrderNo: nextMchOrderNo() }), notifyUrl: options.notifyUrl! }),
    };
    let orders = 0;

    const segment = async (path: Path, seconds: number): Promise<CallFigures> => {
      const figures = await closedLoop(calls[path], concurrency, seconds * 1000);
      const seen = await sandbox.ask<{ seen: number; failed: number }>('reset');
      if (seen.failed > 0 || seen.seen !== figures.calls) {
        throw new Error(`client ${path}: ${figures.calls} calls, but the sandbox saw ${seen.seen} requests (${seen.failed} not accepted)`);
      }
      orders += figures.calls;
      return figures;
    };

    const result = await alternate(
      rounds,
      ['raw', 'createPayout'] as const,
      (path, warmup) => segment(path, warmup ? warmupSeconds : segmentSeconds),
      (n, path, f) =>
        log(`  client round ${n} ${path.padEnd(12)} ${f.perSecond.toFixed(0).padStart(6)} calls/s  p99 ${f.p99.toFixed(2).padStart(6)} ms  ${f.cpuUsPerCall} µs CPU/call`),
    );
    const raw = summarize(result.segments.raw);
    const createPayout = summarize(result.segments.createPayout);
    return {
      raw,
      createPayout,
      ratios: {
        callsPerSec: result.ratios.createPayout,
        p50: ratio(createPayout.p50, raw.p50),
        p99: ratio(createPayout.p99, raw.p99),
        cpuUsPerCall: ratio(createPayout.cpuUsPerCall, raw.cpuUsPerCall),
      },
      roundRatios: result.roundRatios.createPayout,
      setup: {
        sandbox: 'CashySandbox (autoSettle: false) in a separate process',
        agent: shared ? "the CashyHttpClient's own keep-alive http.Agent" : 'a keep-alive http.Agent configured like the client (its own could not be reached)',
        concurrency,
        orders,
      },
    };
  } finally {
    await app.close();
    await sandbox.stop();
  }
}

/**
 * The keep-alive agent the module's HTTP client uses, so both paths share one connection pool.
 * It is private, so fall back to an identically configured agent if the library renames it.
 */
function clientAgent(payouts: PayoutService): { agent: Agent; shared: boolean } {
  const candidate = (payouts as unknown as { client?: { agent?: unknown } }).client?.agent;
  return candidate instanceof Agent ? { agent: candidate, shared: true } : { agent: new Agent({ keepAlive: true }), shared: false };
}

const NONCE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The baseline: what a careful hand-written client must do for one payOut, with nothing from this
 * library. Serialize the body with a fresh `nonceStr`, sign it (`MD5(body + apiKey)` with
 * `node:crypto`), POST exactly those bytes to a URL parsed once, parse the envelope.
 */
function rawSignedPost(agent: Agent, url: URL, account: { merchantId: string; apiKey: string }, body: object): Promise<void> {
  let nonceStr = '';
  for (const byte of randomBytes(16)) nonceStr += NONCE_ALPHABET[byte % NONCE_ALPHABET.length];
  const text = JSON.stringify({ ...body, nonceStr });
  const sign = createHash('md5').update(text + account.apiKey, 'utf8').digest('hex').toUpperCase();
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
          const envelope = JSON.parse(answer) as { code: number; msg: string; data?: { orderNo?: string } };
          if (envelope.code === 200 && envelope.data?.orderNo) resolve();
          else reject(new Error(`raw payOut: ${envelope.code} ${envelope.msg}`));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** `concurrency` workers each awaiting `call` in a loop until `durationMs` has passed. */
async function closedLoop(call: () => Promise<unknown>, concurrency: number, durationMs: number): Promise<CallFigures> {
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
  return { callsPerSec: pick('perSecond'), p50: pick('p50'), p99: pick('p99'), cpuUsPerCall: pick('cpuUsPerCall'), segments };
}

import 'reflect-metadata';
import { createHash } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { PayoutModule, PayoutSignatureGuard } from 'nestjs-cashy-payout';
import { signCashyPayload } from 'nestjs-cashy-payout/testing';
import { BENCH } from './bench.config';
import { BENCH_ACCOUNTS, signedNotification } from './notifications.fixture';
import { median, round } from './stats.util';

/** Phase 2b: signing and verifying against a bare MD5 of the same bytes. */
export interface SigningResult {
  bytes: number;
  opsPerSec: { md5: number; sign: number; verify: number };
  /** operation / md5 ops per second, median of the per-round ratios (1 = no overhead beyond the hash itself). */
  ratios: { sign: number; verify: number };
}

/**
 * Times, in interleaved batches, over one notification body (the bytes a webhook verifies):
 * - md5: `createHash('md5').update(body ‖ apiKey).digest('hex')`, the floor;
 * - sign: `signCashyPayload(body, apiKey)`, the function the client signs every request with;
 * - verify: `PayoutSignatureGuard.canActivate` on a request with that raw body and its headers,
 *   i.e. everything the webhook does before the body is looked at.
 */
export async function benchSigning(): Promise<SigningResult> {
  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        accounts: BENCH_ACCOUNTS,
        webhook: false,
      }),
    ],
  })
  class SigningModule {}
  const app = await NestFactory.createApplicationContext(SigningModule, {
    logger: false,
  });
  try {
    const guard = app.get(PayoutSignatureGuard);
    const { body, headers } = signedNotification();
    const account = BENCH_ACCOUNTS.find((a) => a.merchantId === headers.MerchantId)!;
    const text = body.toString('utf8');
    const joined = Buffer.concat([body, Buffer.from(account.apiKey)]);
    const request = {
      headers: {
        'content-type': 'application/json',
        merchantid: headers.MerchantId,
        sign: headers.Sign,
      },
      rawBody: body,
    };
    const context = {
      switchToHttp: () => ({ getRequest: () => request }),
    } as unknown as ExecutionContext;

    let sink = 0; // keeps results alive so nothing is optimized away
    const ops = {
      md5: () => (sink += createHash('md5').update(joined).digest('hex').length),
      sign: () => (sink += signCashyPayload(text, account.apiKey).length),
      verify: () => (sink += guard.canActivate(context) ? 1 : 0),
    };
    if (!guard.canActivate(context))
      throw new Error('signing: the guard rejected a correctly signed notification');

    const { batch, rounds } = BENCH.signing;
    const samples: Record<keyof typeof ops, number[]> = {
      md5: [],
      sign: [],
      verify: [],
    };
    const names = Object.keys(ops) as (keyof typeof ops)[];
    for (let r = 0; r <= rounds; r++) {
      // Rotate the order each round so no operation always runs right after the same one.
      for (const name of names.map((_, i) => names[(i + r) % names.length])) {
        const op = ops[name];
        const started = process.hrtime.bigint();
        for (let i = 0; i < batch; i++) op();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (r > 0) samples[name].push(batch / seconds); // round 0 is the warm-up
      }
    }
    if (sink === 0) throw new Error('unreachable');
    const opsPerSec = {
      md5: round(median(samples.md5), 0),
      sign: round(median(samples.sign), 0),
      verify: round(median(samples.verify), 0),
    };
    // Like the HTTP phases: the median of each round's ratio, so a burst from a neighbour spoils one round, not the figure.
    const perRound = (name: 'sign' | 'verify') =>
      round(median(samples[name].map((v, i) => v / samples.md5[i])), 3);
    return {
      bytes: body.length,
      opsPerSec,
      ratios: { sign: perRound('sign'), verify: perRound('verify') },
    };
  } finally {
    await app.close();
  }
}

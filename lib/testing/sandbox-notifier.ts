import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CASHY_ACK } from '../client/cashy-protocol';
import type { SandboxTimers } from './sandbox-conventions';
import type { SandboxOrder, SandboxDeliveryRecord } from './sandbox.types';
import { cashyHeaders } from './sandbox-helpers';

/** Gaps before each retry, in minutes (Cashy's legacy docs): 10 retries after the first attempt. */
export const SANDBOX_RETRY_MINUTES: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** Enough of an answer to show in a record; the rest is read and dropped. */
const MAX_RESPONSE_CHARS = 64 * 1024;

/** Reads an answer, up to `MAX_RESPONSE_CHARS`, and settles the attempt with it. */
function readAnswer(response: IncomingMessage, finish: (result: AttemptResult) => void): void {
  let text = '';
  const settle = (responseBody: string, error: string | undefined) =>
    finish({ httpStatus: response.statusCode, responseBody, error });
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    if (text.length < MAX_RESPONSE_CHARS) text += chunk;
  });
  response.on('end', () =>
    finish({ httpStatus: response.statusCode, responseBody: text.slice(0, MAX_RESPONSE_CHARS) }),
  );
  response.on('error', (error) => settle(text, error.message));
  // 'aborted' without 'end' (the peer died mid-answer) must still settle the attempt.
  response.on('close', () => settle(text, response.complete ? undefined : 'answer cut off'));
}

/** What a started delivery chain exposes. */
export interface SandboxDeliveryChain {
  /** Resolves when the first attempt has been made and recorded. */
  firstAttempt: Promise<void>;
  /** Resolves `true` when acknowledged, `false` when every attempt failed or the sandbox stopped. */
  done: Promise<boolean>;
}

interface AttemptResult {
  httpStatus: number | undefined;
  responseBody: string;
  error?: string;
}

/** An attempt that got no answer, and why. */
function unanswered(error: string): AttemptResult {
  return { httpStatus: undefined, responseBody: '', error };
}

/**
 * Delivers notifications as Cashy does: POST the signed JSON to `notifyUrl`, delivered only on the
 * body `SUCCESS`, else retried (`SANDBOX_RETRY_MINUTES` × `timeScale`). Chains are independent, so
 * a receiver may see statuses out of order, as in production.
 */
export class SandboxNotifier {
  private readonly httpAgent = new HttpAgent({ keepAlive: false });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: false });
  private readonly inFlight = new Set<ClientRequest>();
  private chains = 0;
  private activeChains = 0;
  private stopped = false;

  constructor(
    private readonly timers: SandboxTimers,
    private readonly settings: {
      timeScale: number;
      notifyTimeoutMs: number;
      apiKeyOf: (merchantId: string) => string;
    },
    private readonly record: (delivery: SandboxDeliveryRecord) => void,
  ) {}

  /** Chains still running (an attempt in flight or a retry pending). */
  get pending(): number {
    return this.activeChains;
  }

  /** Starts delivering the order's current state; the body is fixed now and resent unchanged. */
  deliver(order: SandboxOrder, body: string): SandboxDeliveryChain {
    const chain = ++this.chains;
    const headers = cashyHeaders(body, order.merchantId, this.settings.apiKeyOf(order.merchantId));
    const { orderNo, mchOrderNo, merchantId, orderStatus, notifyUrl: url } = order;
    const base = {
      chain,
      orderNo,
      mchOrderNo,
      merchantId,
      orderStatus,
      url,
      body,
      sign: headers.Sign,
    };
    let firstDone!: () => void;
    const firstAttempt = new Promise<void>((resolve) => (firstDone = resolve));
    this.activeChains++;
    const run = async (): Promise<boolean> => {
      try {
        for (let attempt = 1; attempt <= SANDBOX_RETRY_MINUTES.length + 1; attempt++) {
          if (attempt > 1) {
            const delayMs = SANDBOX_RETRY_MINUTES[attempt - 2] * 60_000 * this.settings.timeScale;
            if (!(await this.timers.sleep(`chain:${chain}`, delayMs))) return false;
          }
          if (this.stopped) return false;
          const at = Date.now();
          const result = await this.post(url, body, headers);
          const acknowledged = result.responseBody === CASHY_ACK;
          this.record({
            at,
            ...base,
            attempt,
            ...result,
            acknowledged,
            durationMs: Date.now() - at,
          });
          if (attempt === 1) firstDone();
          if (acknowledged) return true;
        }
        return false;
      } finally {
        firstDone();
        this.activeChains--;
      }
    };
    return { firstAttempt, done: run() };
  }

  /** Aborts attempts in flight and refuses new ones (pending retries are the timers' job). */
  stop(): void {
    this.stopped = true;
    for (const request of this.inFlight) request.destroy(new Error('sandbox stopped'));
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private post(url: string, body: string, headers: Record<string, string>): Promise<AttemptResult> {
    return new Promise<AttemptResult>((resolve) => {
      if (!URL.canParse(url)) return resolve(unanswered(`invalid notifyUrl ${url}`));
      const target = new URL(url);
      const https = target.protocol === 'https:';
      const send = https ? httpsRequest : httpRequest;
      let settled = false;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        this.inFlight.delete(request);
        resolve(result);
      };
      const request = send(target, {
        method: 'POST',
        agent: https ? this.httpsAgent : this.httpAgent,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
      });
      this.inFlight.add(request);
      const timeout = setTimeout(
        () => request.destroy(new Error(`timeout after ${this.settings.notifyTimeoutMs} ms`)),
        this.settings.notifyTimeoutMs,
      );
      request.on('error', (error) => finish(unanswered(error.message)));
      request.on('response', (response) => readAnswer(response, finish));
      request.end(body);
    });
  }
}

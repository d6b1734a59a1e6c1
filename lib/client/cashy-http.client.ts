import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HttpService } from '@nestjs/axios';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import axios, { AxiosError } from 'axios';
import { CashyApiError, CashyTransportError, errorMessage } from '../payout.errors';
import type { CashyAccount } from '../options/cashy-account';
import { PayoutConfig } from '../options/payout-config';
import { PAYOUT_DEFAULTS } from '../options/payout-options.resolver';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CashyAnswer,
  type CashyEndpoint,
  isRetryableApiError,
  parseEnvelope,
} from './cashy-protocol';
import { payoutDiagnostics, type PayoutRequestMessage } from '../payout.diagnostics';

/** A fresh `nonceStr`: 32 random hex characters (Cashy allows up to 32). */
export function createNonce(): string {
  return randomUUID().replace(/-/g, '');
}

/** Names the library to the gateway (some WAFs refuse requests without a User-Agent). */
const USER_AGENT = `nestjs-cashy-payout (node ${process.version})`;

/** Longest answer read from the gateway, in bytes; the longest real one (a bank list) is a few KiB. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * The agents signed requests go through: the host's (`http` option), else the module's own
 * keep-alive agents, which it closes when destroyed.
 */
@Injectable()
export class CashyHttpAgents implements OnModuleDestroy {
  /** The agent for `http:` (gateway or forward proxy). */
  readonly http: HttpAgent;
  /** The agent for `https:` (an `https.Agent`, or a tunnelling agent the host passed). */
  readonly https: HttpAgent;
  private readonly own: HttpAgent[] = [];

  constructor(config: PayoutConfig) {
    this.http = config.http.httpAgent ?? this.adopt(new HttpAgent(PAYOUT_DEFAULTS.http.agent));
    this.https = config.http.httpsAgent ?? this.adopt(new HttpsAgent(PAYOUT_DEFAULTS.http.agent));
  }

  onModuleDestroy(): void {
    for (const agent of this.own) agent.destroy();
  }

  private adopt(agent: HttpAgent): HttpAgent {
    this.own.push(agent);
    return agent;
  }
}

/**
 * The module's own `HttpService`, on an axios instance nothing else holds (the host's defaults and
 * interceptors never see a signed request): the body goes out as the exact string signed, the
 * answer comes back as text whatever its status, no redirect is followed, and environment proxies
 * are not read (an explicit `http.proxy` is).
 */
export function createCashyHttpService(config: PayoutConfig, agents: CashyHttpAgents): HttpService {
  const instance = axios.create();
  // axios.create() starts from a copy of axios.defaults as the host left them (common headers,
  // auth, params, timeout...): drop all of it and keep only what is set here.
  const defaults = instance.defaults as unknown as Record<string, unknown>;
  for (const key of Object.keys(defaults)) delete defaults[key];
  Object.assign(defaults, {
    adapter: 'http',
    httpAgent: agents.http,
    httpsAgent: agents.https,
    proxy: config.http.proxy,
    maxRedirects: 0,
    transformRequest: [(body: string) => body],
    transformResponse: [(text: string) => text],
    responseType: 'text',
    responseEncoding: 'utf8',
    validateStatus: () => true,
    maxContentLength: MAX_ANSWER_BYTES,
    decompress: true,
    // Each exchange has its own deadline over the whole of it (CashyHttpClient.exchange).
    timeout: 0,
  });
  return new HttpService(instance);
}

/** Cashy's transport: signs and sends the exact body string, and reads the envelope back. */
@Injectable()
export class CashyHttpClient {
  /** Headers every request carries, fixed once: the defaults, the host's extras, then Content-Type. */
  private readonly headers: Readonly<Record<string, string>>;

  constructor(
    private readonly config: PayoutConfig,
    private readonly http: HttpService,
  ) {
    const extra = config.http.headers;
    const replaced = new Set(Object.keys(extra).map((name) => name.toLowerCase()));
    const defaults = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    const kept = Object.entries(defaults).filter(([name]) => !replaced.has(name.toLowerCase()));
    this.headers = Object.freeze({
      ...Object.fromEntries(kept),
      ...extra,
      'Content-Type': 'application/json',
    });
  }

  /**
   * One signed exchange: resolves with the HTTP status and the envelope (when it is one), whatever
   * they say, for the caller to judge; rejects with `CashyTransportError` when there was no whole
   * answer. `timeoutMs` overrides the module's per-attempt timeout (a health probe).
   */
  async post(
    account: CashyAccount,
    endpoint: CashyEndpoint,
    payload: object,
    attempt = 1,
    timeoutMs = this.config.timeoutMs,
  ): Promise<CashyAnswer> {
    // Serialized once: these exact bytes are signed and sent (nonceStr last, as Cashy's samples show it).
    const body = JSON.stringify({ ...payload, nonceStr: createNonce() });
    const started = payoutDiagnostics.requestObserved ? performance.now() : 0;
    const report = (outcome: PayoutRequestMessage['outcome'], answer?: CashyAnswer) =>
      payoutDiagnostics.request(() => ({
        endpoint,
        merchantId: account.merchantId,
        attempt,
        durationMs: performance.now() - started,
        outcome,
        ...(answer ? { httpStatus: answer.httpStatus } : {}),
        ...(answer?.envelope ? { code: answer.envelope.code, msg: answer.envelope.msg } : {}),
      }));
    try {
      const { status, text } = await this.exchange(endpoint, body, account, timeoutMs);
      const answer = { httpStatus: status, envelope: parseEnvelope(text) };
      report('answered', answer);
      return answer;
    } catch (error) {
      report(error instanceof CashyTransportError ? error.failure : 'connection');
      throw error;
    }
  }

  /**
   * One exchange whose answer is data: `data` of a code-200 envelope on a 2xx; else rejects with
   * `CashyApiError` (another envelope) or `CashyTransportError` (no envelope to go by).
   */
  async send(
    account: CashyAccount,
    endpoint: CashyEndpoint,
    payload: object,
    attempt = 1,
  ): Promise<unknown> {
    const { httpStatus, envelope } = await this.post(account, endpoint, payload, attempt);
    const ok = httpStatus >= 200 && httpStatus <= 299;
    if (!envelope) {
      const failure = ok ? 'unparsable' : 'http-status';
      throw new CashyTransportError(failure, endpoint, `HTTP ${httpStatus}, not a Cashy envelope`);
    }
    if (envelope.code !== 200) throw new CashyApiError(envelope.code, envelope.msg, endpoint);
    if (!ok) {
      const detail = `HTTP ${httpStatus} with a code-200 envelope`;
      throw new CashyTransportError('http-status', endpoint, detail);
    }
    return envelope.data;
  }

  /** `send` retried (transport failures, busy) for calls that are safe to repeat: queries, lists. */
  async sendIdempotent(
    account: CashyAccount,
    endpoint: CashyEndpoint,
    payload: object,
  ): Promise<unknown> {
    const sent = (attempt: number) =>
      this.send(account, endpoint, payload, attempt).then(
        (data) => ({ data }),
        (error: unknown) => ({ error }),
      );
    const last = await this.retry(endpoint, account, sent, (result) =>
      'error' in result ? retryableFailure(result.error) : undefined,
    );
    if ('error' in last) throw last.error;
    return last.data;
  }

  /**
   * The retry policy of every gateway call: `call(attempt)` for attempt 1, 2, … up to
   * `retry.attempts`, while `retryReason` gives a reason to try again (`undefined`: done), each
   * retry reported (to `endpoint`, or where `endpoint()` says the next attempt goes) and preceded
   * by `backoff`. Resolves with the last call's outcome.
   */
  async retry<T>(
    endpoint: CashyEndpoint | (() => CashyEndpoint),
    account: CashyAccount,
    call: (attempt: number) => Promise<T>,
    retryReason: (outcome: T) => string | undefined,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await call(attempt);
      const reason = attempt < this.config.retry.attempts ? retryReason(outcome) : undefined;
      if (reason === undefined) return outcome;
      const next = typeof endpoint === 'function' ? endpoint() : endpoint;
      const { merchantId } = account;
      payoutDiagnostics.retry(() => ({ endpoint: next, merchantId, attempt: attempt + 1, reason }));
      await this.backoff(attempt);
    }
  }

  /** Waits before attempt `attempt + 1`: capped exponential backoff with full jitter. */
  backoff(attempt: number): Promise<void> {
    const { baseDelayMs, maxDelayMs } = this.config.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return sleep(Math.floor(Math.random() * ceiling));
  }

  /** POSTs `body` as is and reads the whole answer as text, all within `timeoutMs`. */
  private async exchange(
    endpoint: CashyEndpoint,
    body: string,
    account: CashyAccount,
    timeoutMs: number,
  ): Promise<{ status: number; text: string }> {
    const sign = account.sign(body);
    // A timer cleared when the exchange ends (AbortSignal.timeout's would outlive every call by timeoutMs).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    try {
      // Straight to the HttpService's axios instance: its Observable wrapper would add a CancelToken
      // and a second config merge to every call, and the deadline above already cancels.
      const answer = await this.http.axiosRef.request<string>({
        method: 'POST',
        url: this.config.baseUrl + endpoint,
        data: body,
        headers: {
          ...this.headers,
          'Content-Length': Buffer.byteLength(body),
          MerchantId: account.merchantId,
          Sign: sign,
        },
        signal: deadline.signal,
      });
      return { status: answer.status, text: answer.data };
    } catch (error) {
      throw deadline.signal.aborted
        ? new CashyTransportError('timeout', endpoint, `no complete answer within ${timeoutMs} ms`)
        : transportError(endpoint, error);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Why a failed idempotent call may be sent again (a transport failure, or busy), else `undefined`. */
function retryableFailure(error: unknown): string | undefined {
  const retryable = error instanceof CashyTransportError || isRetryableApiError(error);
  return retryable ? error.message : undefined;
}

/**
 * What a failed exchange was: an answer over the size cap is `unparsable`, anything else
 * `connection`, named by its code (never with the Sign or body).
 */
function transportError(endpoint: CashyEndpoint, error: unknown): CashyTransportError {
  const badResponse = error instanceof AxiosError && error.code === AxiosError.ERR_BAD_RESPONSE;
  if (badResponse && error.message.startsWith('maxContentLength')) {
    const detail = `answer longer than ${MAX_ANSWER_BYTES} bytes`;
    return new CashyTransportError('unparsable', endpoint, detail);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '')
    return new CashyTransportError('connection', endpoint, code);
  return new CashyTransportError('connection', endpoint, errorMessage(error));
}

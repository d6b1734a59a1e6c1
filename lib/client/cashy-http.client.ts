import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HttpService } from '@nestjs/axios';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import axios, { AxiosError } from 'axios';
import { CashyApiError, CashyTransportError } from '../payout.errors';
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
 * The agents signed requests go through: the host's, when the `http` option gives them, else the
 * module's own keep-alive agents. The module closes its own when it is destroyed; the host's are
 * the host's to close.
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
 * The module's own `HttpService`, on an axios instance nothing else holds, set up for signed
 * exchanges: the body goes out as the exact string that was signed, the answer comes back as
 * text whatever its status, no redirect is followed, and environment proxies are not read (an
 * explicit `http.proxy` is). Provided inside `PayoutModule` and never exported, so the host's
 * `HttpModule`, `axios.defaults` and interceptors never see a signed request, and the host
 * never gets this instance.
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

/**
 * Cashy's transport: serializes the body once, signs that exact string, sends that same string
 * through the module's own `HttpService`, and maps the `{ code, msg, data }` envelope. Knows
 * nothing of payouts.
 */
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
    const defaults = Object.entries({
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
    }).filter(([name]) => !replaced.has(name.toLowerCase()));
    this.headers = Object.freeze({
      ...Object.fromEntries(defaults),
      ...extra,
      'Content-Type': 'application/json',
    });
  }

  /**
   * One signed exchange: resolves with the HTTP status and, when the body is Cashy's envelope, the
   * envelope, whatever they say; rejects with `CashyTransportError` when there was no whole answer.
   * What an answer means is for the caller to decide (see `cashy-protocol.ts`). `timeoutMs` shortens
   * the module's per-attempt timeout for this call (a health probe).
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
      const { status, text } = await this.exchange(
        endpoint,
        body,
        account.merchantId,
        account.sign(body),
        timeoutMs,
      );
      const answer = { httpStatus: status, envelope: parseEnvelope(text) };
      report('answered', answer);
      return answer;
    } catch (error) {
      report(error instanceof CashyTransportError ? error.failure : 'connection');
      throw error;
    }
  }

  /**
   * One exchange of a call whose answer is data (queries, bank lists, balances): resolves with
   * `data` of a code-200 envelope on a 2xx; rejects with `CashyApiError` for any other envelope, or
   * `CashyTransportError` when there is no envelope to go by.
   */
  async send(
    account: CashyAccount,
    endpoint: CashyEndpoint,
    payload: object,
    attempt = 1,
  ): Promise<unknown> {
    const { httpStatus, envelope } = await this.post(account, endpoint, payload, attempt);
    if (!envelope)
      throw new CashyTransportError(
        httpStatus >= 200 && httpStatus <= 299 ? 'unparsable' : 'http-status',
        endpoint,
        `HTTP ${httpStatus}, not a Cashy envelope`,
      );
    if (envelope.code !== 200) throw new CashyApiError(envelope.code, envelope.msg, endpoint);
    if (httpStatus < 200 || httpStatus > 299)
      throw new CashyTransportError(
        'http-status',
        endpoint,
        `HTTP ${httpStatus} with a code-200 envelope`,
      );
    return envelope.data;
  }

  /**
   * `send` with retries for requests that are safe to repeat (queries, bank lists, balances):
   * transport failures and `System_busy`/`System_Maintenance`/`System_error` are retried with
   * capped exponential backoff and full jitter.
   */
  async sendIdempotent(
    account: CashyAccount,
    endpoint: CashyEndpoint,
    payload: object,
  ): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send(account, endpoint, payload, attempt);
      } catch (error) {
        const retryable = error instanceof CashyTransportError || isRetryableApiError(error);
        if (!retryable || attempt >= this.config.retry.attempts) throw error;
        payoutDiagnostics.retry(() => ({
          endpoint,
          merchantId: account.merchantId,
          attempt: attempt + 1,
          reason: (error as Error).message,
        }));
        await this.backoff(attempt);
      }
    }
  }

  /** Waits before attempt `attempt + 1`. */
  backoff(attempt: number): Promise<void> {
    const { baseDelayMs, maxDelayMs } = this.config.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return sleep(Math.floor(Math.random() * ceiling));
  }

  /**
   * POSTs `body` as is and reads the whole answer as text, within `timeoutMs` from the first byte
   * sent to the last byte received. Redirects are not followed: a signed request goes nowhere else.
   */
  private async exchange(
    endpoint: CashyEndpoint,
    body: string,
    merchantId: string,
    sign: string,
    timeoutMs: number,
  ): Promise<{ status: number; text: string }> {
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
          MerchantId: merchantId,
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

/**
 * What a failed exchange was: an answer over the size cap is `unparsable`, anything else (refused,
 * reset, TLS verification, proxy) `connection`, named by its code. The apiKey is never sent, so no
 * error text can carry it; the Sign and body are left out all the same.
 */
function transportError(endpoint: CashyEndpoint, error: unknown): CashyTransportError {
  if (
    error instanceof AxiosError &&
    error.code === AxiosError.ERR_BAD_RESPONSE &&
    error.message.startsWith('maxContentLength')
  ) {
    return new CashyTransportError(
      'unparsable',
      endpoint,
      `answer longer than ${MAX_ANSWER_BYTES} bytes`,
    );
  }
  const code = (error as { code?: unknown } | null)?.code;
  return new CashyTransportError(
    'connection',
    endpoint,
    typeof code === 'string' && code !== ''
      ? code
      : error instanceof Error
        ? error.message
        : String(error),
  );
}

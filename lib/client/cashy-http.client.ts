import { randomFillSync } from 'node:crypto';
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage, type RequestOptions, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { CashyApiError } from '../errors/cashy-api.error';
import type { CashyAccount } from '../options/cashy-account';
import { PayoutConfig } from '../options/payout-config';
import { sleep } from '../utils/sleep';
import { type CashyAnswer, isRetryableApiError, parseEnvelope } from './cashy-answers';
import type { CashyEndpoint } from './cashy-endpoints';
import { CashyTransportError } from './cashy-transport.error';

const NONCE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const NONCE_LENGTH = 16;
// Random bytes are drawn from the OS 4 KiB at a time: one system call per 256 nonces, not one each.
const entropy = Buffer.alloc(4096);
let entropyOffset = entropy.length;

/** A fresh 16-character alphanumeric `nonceStr`. */
export function createNonce(): string {
  if (entropyOffset + NONCE_LENGTH > entropy.length) {
    randomFillSync(entropy);
    entropyOffset = 0;
  }
  let nonce = '';
  for (let i = 0; i < NONCE_LENGTH; i++) nonce += NONCE_ALPHABET[entropy[entropyOffset + i] % NONCE_ALPHABET.length];
  entropyOffset += NONCE_LENGTH;
  return nonce;
}

/** Names the library to the gateway (some WAFs refuse requests without a User-Agent). */
const USER_AGENT = `nestjs-cashy-payout (node ${process.version})`;

/** Longest answer read from the gateway, in characters; the longest real one (a bank list) is a few KiB. */
const MAX_ANSWER_CHARS = 4 * 1024 * 1024;

/** Where requests go: fixed once from `baseUrl`, so nothing is parsed per call. */
interface GatewayTarget {
  readonly send: (options: RequestOptions, onAnswer: (answer: IncomingMessage) => void) => ClientRequest;
  readonly agent: HttpAgent;
  readonly hostname: string;
  readonly port: number | undefined;
  readonly pathPrefix: string;
}

/**
 * Cashy's transport: serializes the body once, signs that exact string, sends that same string,
 * and maps the `{ code, msg, data }` envelope. Knows nothing of payouts.
 *
 * It speaks `node:http`/`node:https` directly through its own keep-alive agent: no HTTP client the
 * host configures (global agents, axios defaults or interceptors) can touch a signed request, and
 * a call costs no more than a hand-written signed POST (see the README's Performance section).
 */
@Injectable()
export class CashyHttpClient implements OnModuleDestroy {
  private readonly target: GatewayTarget;

  constructor(private readonly config: PayoutConfig) {
    const url = new URL(config.baseUrl);
    const secure = url.protocol === 'https:';
    this.target = {
      send: secure ? httpsRequest : httpRequest,
      agent: secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
      // URL keeps IPv6 literals in brackets; the socket wants them bare.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : undefined,
      pathPrefix: url.pathname.replace(/\/+$/, ''),
    };
  }

  /** The keep-alive agent every request goes through. */
  get agent(): HttpAgent {
    return this.target.agent;
  }

  onModuleDestroy(): void {
    this.target.agent.destroy();
  }

  /**
   * One signed exchange: resolves with the HTTP status and, when the body is Cashy's envelope, the
   * envelope, whatever they say; rejects with `CashyTransportError` when there was no whole answer.
   * What an answer means is for the caller to decide (see `cashy-answers.ts`).
   */
  async post(account: CashyAccount, endpoint: CashyEndpoint, payload: object): Promise<CashyAnswer> {
    const body = withNonce(JSON.stringify(payload), createNonce());
    const { status, text } = await this.exchange(endpoint, body, account.merchantId, account.sign(body));
    return { httpStatus: status, envelope: parseEnvelope(text) };
  }

  /**
   * One exchange of a call whose answer is data (queries, bank lists, balances): resolves with
   * `data` of a code-200 envelope on a 2xx; rejects with `CashyApiError` for any other envelope, or
   * `CashyTransportError` when there is no envelope to go by.
   */
  async send(account: CashyAccount, endpoint: CashyEndpoint, payload: object): Promise<unknown> {
    const { httpStatus, envelope } = await this.post(account, endpoint, payload);
    if (!envelope) throw new CashyTransportError(httpStatus >= 200 && httpStatus <= 299 ? 'unparsable' : 'http-status', endpoint, `HTTP ${httpStatus}, not a Cashy envelope`);
    if (envelope.code !== 200) throw new CashyApiError(envelope.code, envelope.msg, endpoint);
    if (httpStatus < 200 || httpStatus > 299) throw new CashyTransportError('http-status', endpoint, `HTTP ${httpStatus} with a code-200 envelope`);
    return envelope.data;
  }

  /**
   * `send` with retries for requests that are safe to repeat (queries, bank lists, balances):
   * transport failures and `System_busy`/`System_Maintenance`/`System_error` are retried with
   * capped exponential backoff and full jitter.
   */
  async sendIdempotent(account: CashyAccount, endpoint: CashyEndpoint, payload: object): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send(account, endpoint, payload);
      } catch (error) {
        const retryable = error instanceof CashyTransportError || isRetryableApiError(error);
        if (!retryable || attempt >= this.config.retry.attempts) throw error;
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
  private exchange(endpoint: CashyEndpoint, body: string, merchantId: string, sign: string): Promise<{ status: number; text: string }> {
    const { send, agent, hostname, port, pathPrefix } = this.target;
    const timeoutMs = this.config.timeoutMs;
    return new Promise((resolve, reject) => {
      let done = false;
      const fail = (failure: 'timeout' | 'connection' | 'unparsable', detail: string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        request.destroy();
        reject(new CashyTransportError(failure, endpoint, detail));
      };
      const request = send(
        {
          agent,
          hostname,
          port,
          path: pathPrefix + endpoint,
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
            Accept: 'application/json',
            'User-Agent': USER_AGENT,
            MerchantId: merchantId,
            Sign: sign,
          },
        },
        (answer) => {
          let text = '';
          answer.setEncoding('utf8');
          answer.on('data', (chunk: string) => {
            text += chunk;
            if (text.length > MAX_ANSWER_CHARS) fail('unparsable', `answer longer than ${MAX_ANSWER_CHARS} characters`);
          });
          answer.on('end', () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve({ status: answer.statusCode ?? 0, text });
          });
          answer.on('error', (error: NodeJS.ErrnoException) => fail('connection', error.code ?? error.message));
          answer.on('close', () => fail('connection', 'connection closed before the answer was complete'));
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => fail('connection', error.code ?? error.message));
      const timer = setTimeout(() => fail('timeout', `no complete answer within ${timeoutMs} ms`), timeoutMs);
      request.end(body);
    });
  }
}

/** Appends `"nonceStr"` as the last member of a serialized object, without copying the object first. */
function withNonce(json: string, nonce: string): string {
  return json === '{}' ? `{"nonceStr":"${nonce}"}` : `${json.slice(0, -1)},"nonceStr":"${nonce}"}`;
}


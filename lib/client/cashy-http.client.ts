import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HttpService } from '@nestjs/axios';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { AxiosError } from 'axios';
import { CashyApiError } from '../errors/cashy-api.error';
import type { CashyAccount } from '../options/cashy-account';
import { PayoutConfig } from '../options/payout-config';
import { sleep } from '../utils/sleep';
import { CASHY_AMBIGUOUS_MESSAGE, CASHY_RETRYABLE_MESSAGES, type CashyEndpoint } from './cashy-endpoints';
import { CashyTransportError } from './cashy-transport.error';

const NONCE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh 16-character alphanumeric `nonceStr`. */
export function createNonce(): string {
  const bytes = randomBytes(16);
  let nonce = '';
  for (const byte of bytes) nonce += NONCE_ALPHABET[byte % NONCE_ALPHABET.length];
  return nonce;
}

const identity = <T>(data: T): T => data;

/**
 * Cashy's transport: serializes the body once, signs that exact string, sends that same string,
 * and maps the `{ code, msg, data }` envelope. Knows nothing of payouts.
 */
@Injectable()
export class CashyHttpClient implements OnModuleDestroy {
  private readonly logger = new Logger('CashyHttpClient');
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });

  constructor(
    private readonly http: HttpService,
    private readonly config: PayoutConfig,
  ) {}

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /**
   * One signed exchange. Resolves with `data` of a `code 200` envelope; rejects with
   * `CashyApiError` for any other code, or `CashyTransportError` when the outcome is unknown.
   */
  async send(account: CashyAccount, endpoint: CashyEndpoint, payload: object): Promise<unknown> {
    const body = JSON.stringify({ ...payload, nonceStr: createNonce() });
    const started = Date.now();
    let status: number;
    let text: unknown;
    try {
      const response = await this.http.axiosRef.request<string>({
        method: 'POST',
        url: this.config.baseUrl + endpoint,
        data: body,
        headers: { 'Content-Type': 'application/json', MerchantId: account.merchantId, Sign: account.sign(body) },
        // Send the signed string as is and read the answer as text: no re-serialization either way.
        transformRequest: [identity],
        transformResponse: [identity],
        responseType: 'text',
        timeout: this.config.timeoutMs,
        httpAgent: this.httpAgent,
        httpsAgent: this.httpsAgent,
        maxRedirects: 0,
        validateStatus: () => true,
      });
      status = response.status;
      text = response.data;
    } catch (error) {
      const axiosError = error as AxiosError;
      const timedOut = axiosError.code === 'ECONNABORTED' || axiosError.code === 'ETIMEDOUT';
      throw new CashyTransportError(timedOut ? 'timeout' : 'connection', endpoint, axiosError.code ?? 'request failed');
    }
    this.logger.debug(`${endpoint} merchant ${account.merchantId}: HTTP ${status} in ${Date.now() - started} ms`);
    if (status >= 500) throw new CashyTransportError('http-status', endpoint, `HTTP ${status}`);

    const envelope = parseEnvelope(text);
    if (!envelope) throw new CashyTransportError('unparsable', endpoint, `HTTP ${status}, not a Cashy envelope`);
    if (envelope.code !== 200) throw new CashyApiError(envelope.code, envelope.msg, endpoint);
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
        const retryable = error instanceof CashyTransportError || isTransientApiError(error, true);
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
}

/** True for Cashy errors worth repeating: busy/maintenance, and (when `ambiguousToo`) System_error. */
export function isTransientApiError(error: unknown, ambiguousToo: boolean): error is CashyApiError {
  return (
    error instanceof CashyApiError &&
    (CASHY_RETRYABLE_MESSAGES.includes(error.msg) || (ambiguousToo && error.msg === CASHY_AMBIGUOUS_MESSAGE))
  );
}

function parseEnvelope(text: unknown): { code: number; msg: string; data: unknown } | undefined {
  if (typeof text !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { code, msg, data } = parsed as Record<string, unknown>;
  const numericCode = typeof code === 'number' ? code : typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : NaN;
  if (!Number.isInteger(numericCode)) return undefined;
  return { code: numericCode, msg: typeof msg === 'string' ? msg : String(msg ?? ''), data };
}

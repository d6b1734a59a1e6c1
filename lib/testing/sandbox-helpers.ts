import { createServer } from 'node:net';
import type { PayoutStatus, PayoutCurrency } from '../payout.types';
import { signCashyBody } from '../client/cashy-signature';
import { errorMessage } from '../payout.errors';
import type { CashyPayOutBody } from '../validation/create-payout.rules';

/** `Sign` for a body: upper-case hex `MD5(body bytes + apiKey)`, as Cashy computes it. */
export const signCashyPayload: (body: string | Buffer, apiKey: string) => string = signCashyBody;

/** The three headers of a signed Cashy request or notification for `body`. */
export function cashyHeaders(
  body: string,
  merchantId: string,
  apiKey: string,
): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    MerchantId: merchantId,
    Sign: signCashyBody(body, apiKey),
  };
}

/** The fields of a payout notification, as Cashy sends them. */
export interface SandboxNotificationFields {
  orderStatus: PayoutStatus;
  amount: string;
  /** Only SUCCESS has one; default `null`. */
  fee?: string | null;
  mchOrderNo: string;
  merchantId: string | number;
  orderNo: string;
  /** `yyyy-MM-dd HH:mm:ss`, only SUCCESS has one; default `null`. */
  completionTime?: string | null;
  resultDesc?: string | null;
  /** Added at the end when given (some Cashy markets send it). */
  channelOrderNo?: string;
}

/** The notification body Cashy would send, keys in Cashy's order: sign this exact string. */
export function buildNotification(fields: SandboxNotificationFields): string {
  return JSON.stringify({
    orderStatus: fields.orderStatus,
    amount: fields.amount,
    fee: fields.fee ?? null,
    mchOrderNo: fields.mchOrderNo,
    merchantId: String(fields.merchantId),
    orderNo: fields.orderNo,
    completionTime: fields.completionTime ?? null,
    resultDesc: fields.resultDesc ?? null,
    ...(fields.channelOrderNo !== undefined ? { channelOrderNo: fields.channelOrderNo } : {}),
  });
}

/** What `postSignedNotification` got back. */
export interface SignedPostResult {
  status: number;
  body: string;
  /** Response headers with lower-case names. */
  headers: Record<string, string>;
}

/**
 * POSTs a notification to `url` signed for `account`, as Cashy would: a string body byte for byte,
 * an object serialized once. `init.sign` replaces the `Sign`; `init.headers` win over the defaults.
 */
export async function postSignedNotification(
  url: string,
  body: string | object,
  account: { merchantId: string; apiKey: string },
  init: { sign?: string; headers?: Record<string, string> } = {},
): Promise<SignedPostResult> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers = {
    ...cashyHeaders(text, account.merchantId, account.apiKey),
    ...(init.sign !== undefined ? { Sign: init.sign } : {}),
    ...init.headers,
  };
  const response = await fetch(url, { method: 'POST', headers, body: text });
  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    responseHeaders[name.toLowerCase()] = value;
  });
  return { status: response.status, body: await response.text(), headers: responseHeaders };
}

/** A create-payout input (what `PayoutService.createPayout` takes), as the samples build it. */
export type SandboxPayoutInput = Omit<CashyPayOutBody, 'notifyUrl'> & { notifyUrl?: string };

let sampleCounter = 0;

/** A fresh `mchOrderNo` (`SBX-<time>-<n>`, well under 32 characters). */
export function sandboxMchOrderNo(prefix = 'SBX'): string {
  sampleCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${sampleCounter}`;
}

/**
 * A create-payout input that passes every rule for its market, with a fresh `mchOrderNo` (PEN
 * 150.50 to a BCP savings account, MXN 1500 to a Banamex CLABE); set `remark` to pick an outcome.
 */
export function samplePayout(
  currency: PayoutCurrency,
  overrides: Partial<SandboxPayoutInput> = {},
): SandboxPayoutInput {
  const base: SandboxPayoutInput =
    currency === 'PEN'
      ? {
          accountName: 'Maria Quispe',
          accountNo: '19312345678901',
          accountType: 1,
          currency: 'PEN',
          amount: '150.50',
          bankId: 3,
          mchOrderNo: sandboxMchOrderNo(),
          idType: '1',
          idCard: '45671234',
          remark: 'payout',
        }
      : {
          accountName: 'Jose Hernandez',
          accountNo: '002010077777777771',
          accountType: 40,
          currency: 'MXN',
          amount: '1500',
          bankId: 80,
          mchOrderNo: sandboxMchOrderNo(),
          remark: 'retiro',
        };
  return { ...base, ...overrides };
}

/** A loopback port that was free a moment ago: a webhook URL known before the module is built. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) =>
    server.once('error', reject).listen(0, host, resolve),
  );
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Polls `probe` (awaited) every 5 ms until it gives something other than `undefined`, `null` or
 * `false`, retrying when it throws; rejects after `timeoutMs` with its source and last error.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastError: unknown;
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const source = String(probe).replace(/\s+/g, ' ').slice(0, 200);
      const cause = lastError === undefined ? '' : `; last error: ${errorMessage(lastError)}`;
      throw new Error(`waitFor: condition not met within ${timeoutMs} ms: ${source}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

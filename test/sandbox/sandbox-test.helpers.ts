import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CashySandbox, cashyHeaders, type CashySandboxOptions } from '../../lib/testing';
import type { PayoutCurrency } from '../../lib/payout.types';

/** One notification the receiver got. */
export interface ReceivedNotification {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver answers a notification with ('hang': nothing, ever). */
export type ReceiverAnswer = { status?: number; body: string } | 'hang';

/** A tiny webhook receiver: records every POST and answers with `answer(n)` (n is 1-based; may be a promise, to answer late). */
export interface Receiver {
  url: string;
  received: ReceivedNotification[];
  answer: (n: number, body: string) => ReceiverAnswer | Promise<ReceiverAnswer>;
  close(): Promise<void>;
}

/** Starts a receiver on an ephemeral port; by default it acknowledges everything with `SUCCESS`. */
export async function startReceiver(
  answer: Receiver['answer'] = () => ({ body: 'SUCCESS' }),
): Promise<Receiver> {
  const received: ReceivedNotification[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ at: Date.now(), headers: req.headers, body });
      void Promise.resolve(receiver.answer(received.length, body)).then((reply) => {
        if (reply === 'hang' || res.destroyed) return;
        res.writeHead(reply.status ?? 200, { 'Content-Type': 'text/plain' });
        res.end(reply.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/notify`,
    received,
    answer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return receiver;
}

/** What `call` got back. */
export interface CallResult {
  httpStatus: number;
  /** The `Content-Type` header of the answer. */
  contentType: string | null;
  text: string;
  json: any;
}

/** Options of `call`. */
export interface CallOptions {
  currency?: PayoutCurrency;
  merchantId?: string;
  apiKey?: string;
  /** Replaces the computed Sign. */
  sign?: string;
  /** Added last; a value of `undefined` removes the header. */
  headers?: Record<string, string | undefined>;
  method?: string;
  signal?: AbortSignal;
}

/**
 * Sends a signed request to the sandbox like a Cashy client: a string body is sent as is, an object
 * gets a `nonceStr` (unless it has one) and is serialized once.
 */
export async function call(
  sandbox: CashySandbox,
  endpoint: string,
  body: string | object,
  options: CallOptions = {},
): Promise<CallResult> {
  const account = sandbox.account(options.currency ?? 'PEN');
  const text = typeof body === 'string' ? body : JSON.stringify({ nonceStr: 'n0nce1234', ...body });
  const headers: Record<string, string> = cashyHeaders(
    text,
    options.merchantId ?? account.merchantId,
    options.apiKey ?? account.apiKey,
  );
  if (options.sign !== undefined) headers.Sign = options.sign;
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    delete headers[name];
    if (value !== undefined) headers[name] = value;
  }
  const method = options.method ?? 'POST';
  const response = await fetch(sandbox.baseUrl + endpoint, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : text,
    signal: options.signal,
  });
  const responseText = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(responseText);
  } catch {
    json = undefined;
  }
  return {
    httpStatus: response.status,
    contentType: response.headers.get('content-type'),
    text: responseText,
    json,
  };
}

/** Starts a sandbox with fast defaults for tests; remember to `stop()` it. */
export async function startSandbox(options: CashySandboxOptions = {}): Promise<CashySandbox> {
  const sandbox = new CashySandbox({
    processingMs: 10,
    payingMs: 20,
    timeScale: 0.001,
    ...options,
  });
  await sandbox.start();
  return sandbox;
}

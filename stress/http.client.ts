import { Agent, request } from 'node:http';
import { connect } from 'node:net';

/** What one POST got back: the status (0 when no answer came) and the body, or the error. */
export interface PostAnswer {
  status: number;
  body: string;
  /** Why no answer came (connection error, timeout). */
  error?: string;
  /** From writing the request to the last byte of the answer, in ms. */
  ms: number;
}

/** A keep-alive agent of at most `sockets` connections, closed with `destroy()`. */
export function keepAliveAgent(sockets: number): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets: sockets,
    maxFreeSockets: sockets,
  });
}

/** POSTs `body` to `url` with exactly `headers` (plus Content-Length); never rejects. */
export function post(
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
  body: string | Buffer,
  timeoutMs = 20_000,
): Promise<PostAnswer> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          ...headers,
          'Content-Length': String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: elapsed(),
          }),
        );
        res.on('error', (error) =>
          resolve({ status: 0, body: '', error: error.message, ms: elapsed() }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) =>
      resolve({ status: 0, body: '', error: error.message, ms: elapsed() }),
    );
    req.end(body);
  });
}

/** Runs `fn` over `items` with at most `limit` in flight; resolves with the results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** `{ 200: 4990, 503: 10 }` as `200:4990 503:10`. */
export function statusTally(answers: readonly PostAnswer[]): string {
  const counts = new Map<string, number>();
  for (const answer of answers) {
    const key = answer.status === 0 ? 'no-answer' : String(answer.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return (
    [...counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, count]) => `${status}:${count}`)
      .join(' ') || '-'
  );
}

/**
 * Sends `head` and `body` over a fresh connection in one write and reads until the server closes it:
 * for requests the server refuses before reading them whole (431), where a keep-alive client races
 * the server's close. Resolves with the status line's code (0 when none came).
 */
export function rawExchange(
  url: URL,
  head: string,
  body: string | Buffer = '',
  timeoutMs = 10_000,
): Promise<PostAnswer> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let received = '';
    let error: string | undefined;
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no answer within ${timeoutMs} ms`)),
    );
    socket.on('connect', () =>
      socket.end(
        Buffer.concat([
          Buffer.from(head, 'latin1'),
          Buffer.isBuffer(body) ? body : Buffer.from(body),
        ]),
      ),
    );
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', (e) => (error = e.message));
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received);
      resolve({
        status: status ? Number(status[1]) : 0,
        body: received.slice(received.indexOf('\r\n\r\n') + 4),
        error: status ? undefined : (error ?? 'closed without an answer'),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
  });
}

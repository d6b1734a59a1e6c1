import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the gateway received it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The exact bytes received. */
  raw: Buffer;
  json: Record<string, unknown>;
  /** The client's port: equal ports mean one reused keep-alive connection. */
  remotePort: number | undefined;
  /** `Date.now()` when the whole body had arrived. */
  receivedAt: number;
}

/** How the gateway answers one request. */
export type ScriptedAnswer =
  | { envelope: unknown; httpStatus?: number }
  | { text: string; httpStatus?: number; headers?: Record<string, string> }
  | { hang: true }
  | { drop: true };

/**
 * A minimal HTTP server that records every request's exact bytes and answers from a script, for
 * asserting what the client puts on the wire. (Behavioural tests use `CashySandbox` instead.)
 */
export class ScriptedGateway {
  readonly requests: ReceivedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  private readonly hung = new Set<ServerResponse>();
  private server?: Server;
  /** Answer used when the script is empty. */
  fallback: (request: ReceivedRequest) => ScriptedAnswer = () => ({
    envelope: { code: 500, msg: 'System_error' },
  });

  /** Queues answers for the next requests, in order. */
  then(...answers: ScriptedAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          /* recorded as received */
        }
        const request = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          raw,
          json,
          remotePort: req.socket.remotePort,
          receivedAt: Date.now(),
        };
        this.requests.push(request);
        const answer = this.script.shift() ?? this.fallback(request);
        if ('hang' in answer) {
          this.hung.add(res);
          return;
        }
        if ('drop' in answer) {
          req.socket.destroy();
          return;
        }
        const body = 'text' in answer ? answer.text : JSON.stringify(answer.envelope);
        res
          .writeHead(answer.httpStatus ?? 200, {
            'Content-Type': 'application/json',
            ...('headers' in answer ? answer.headers : {}),
          })
          .end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.socket?.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

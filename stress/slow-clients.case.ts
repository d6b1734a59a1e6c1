import { connect, type Socket } from 'node:net';
import { WEBHOOK_SERVER_TIMEOUTS } from '../sample/sample-app';
import { CaseChecks, type CaseRow } from './case.result';
import { keepAliveAgent, post } from './http.client';
import { round } from './stats.util';
import { sleep } from './stress.resources';

/** What kind of slow client a connection plays, and the server timeout that must cut it off. */
type SlowKind = 'headers' | 'body' | 'idle keep-alive';

/** Options of the slow-clients case. */
export interface SlowClientsOptions {
  /** Connections trickling their headers one byte a second. */
  headerTricklers: number;
  /** Connections sending whole headers, then the body one byte a second. */
  bodyTricklers: number;
  /** Connections that send one request and then stay idle. */
  idleKeepAlive: number;
  /** Allowed lateness over a timeout: Node checks request timeouts every `checkIntervalMs`, plus scheduling. */
  slackMs: number;
}

/** One signed notification a real client sends during the attack, to show the server still serves. */
export interface SlowClientsProbe {
  headers: Record<string, string>;
  body: string;
}

interface SlowConnection {
  kind: SlowKind;
  openedAt: number;
  closedAt?: number;
  /** The server answered something before closing (408 expected for the tricklers). */
  firstLine?: string;
  /** We closed it ourselves (the server never did). */
  heldOpen: boolean;
}

/** The server timeout each kind runs into. */
const LIMIT_MS: Record<SlowKind, number> = {
  headers: WEBHOOK_SERVER_TIMEOUTS.headersTimeoutMs,
  body: WEBHOOK_SERVER_TIMEOUTS.requestTimeoutMs,
  'idle keep-alive': WEBHOOK_SERVER_TIMEOUTS.keepAliveTimeoutMs,
};

function open(
  url: URL,
  kind: SlowKind,
  path: string,
): { connection: SlowConnection; socket: Socket; timer?: NodeJS.Timeout } {
  const connection: SlowConnection = {
    kind,
    openedAt: Date.now(),
    heldOpen: false,
  };
  const socket = connect(Number(url.port), url.hostname);
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    connection.firstLine ??= received.includes('\r\n')
      ? received.slice(0, received.indexOf('\r\n'))
      : undefined;
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    connection.closedAt ??= Date.now();
  });
  const head = `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nMerchantId: 1009001\r\nSign: ${'A'.repeat(32)}\r\nContent-Length: 600\r\n\r\n`;
  let timer: NodeJS.Timeout | undefined;
  if (kind === 'idle keep-alive') {
    // One complete request (401: unsigned), then nothing: the keep-alive timeout must close it.
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    );
  } else {
    const bytes = kind === 'headers' ? head : 'x'.repeat(600);
    if (kind === 'body') socket.write(head);
    let sent = 0;
    // One byte a second, for as long as the server lets the connection live.
    const trickle = () => {
      if (!socket.destroyed && sent < bytes.length) socket.write(bytes[sent++]);
    };
    trickle();
    timer = setInterval(trickle, 1_000);
  }
  return { connection, socket, timer };
}

/**
 * Slow clients against a host configured as the sample recommends: connections trickling their
 * headers or body one byte a second, and idle keep-alive connections. Each must be closed by the
 * server within its timeout (headers, request, keep-alive) plus `slackMs`, none may stay open past
 * it, and a real notification sent meanwhile is still answered at once.
 */
export async function slowClientsCase(
  adapter: string,
  store: string,
  webhookUrl: URL,
  probe: SlowClientsProbe,
  options: SlowClientsOptions,
): Promise<CaseRow> {
  const checks = new CaseChecks('slow clients (1 byte/s)', adapter, store);
  const opened: ReturnType<typeof open>[] = [];
  const agent = keepAliveAgent(1);
  try {
    const kinds: SlowKind[] = [
      ...Array.from({ length: options.headerTricklers }, () => 'headers' as const),
      ...Array.from({ length: options.bodyTricklers }, () => 'body' as const),
      ...Array.from({ length: options.idleKeepAlive }, () => 'idle keep-alive' as const),
    ];
    for (const kind of kinds) opened.push(open(webhookUrl, kind, webhookUrl.pathname));
    await sleep(1_500);
    // The server is not starved by the slow connections.
    const served = await post(agent, webhookUrl, probe.headers, probe.body, 5_000);
    checks.expect(
      served.status === 200,
      `a signed notification during the attack got ${served.status || served.error}`,
    );

    const deadline = Math.max(...Object.values(LIMIT_MS)) + options.slackMs + 1_000;
    const started = Math.min(...opened.map((o) => o.connection.openedAt));
    while (
      opened.some((o) => o.connection.closedAt === undefined) &&
      Date.now() - started < deadline
    )
      await sleep(100);
    for (const o of opened) {
      if (o.connection.closedAt === undefined) {
        o.connection.heldOpen = true;
        o.socket.destroy();
      }
    }

    const figures: string[] = [];
    for (const kind of ['headers', 'body', 'idle keep-alive'] as const) {
      const mine = opened.map((o) => o.connection).filter((c) => c.kind === kind);
      if (mine.length === 0) continue;
      const lifetimes = mine.filter((c) => !c.heldOpen).map((c) => c.closedAt! - c.openedAt);
      const held = mine.filter((c) => c.heldOpen).length;
      const limit = LIMIT_MS[kind] + options.slackMs;
      const late = lifetimes.filter((ms) => ms > limit).length;
      const answered408 = mine.filter((c) => c.firstLine?.includes(' 408 ')).length;
      checks.expect(
        held === 0,
        `${held} ${kind} connection(s) still open after ${deadline / 1000} s`,
      );
      checks.expect(late === 0, `${late} ${kind} connection(s) closed after ${limit} ms`);
      const range = lifetimes.length
        ? `${(Math.min(...lifetimes) / 1000).toFixed(1)}–${(Math.max(...lifetimes) / 1000).toFixed(1)} s`
        : '-';
      figures.push(
        `${mine.length} ${kind}: closed in ${range} (limit ${LIMIT_MS[kind] / 1000} s + ${options.slackMs / 1000} s)${kind === 'idle keep-alive' ? '' : `, ${answered408} got 408`}`,
      );
      checks.details[kind] = {
        connections: mine.length,
        held,
        late,
        limitMs: LIMIT_MS[kind],
        slackMs: options.slackMs,
        lifetimesMs: {
          min: Math.min(...lifetimes),
          max: Math.max(...lifetimes),
        },
        answered408,
      };
    }
    checks.details.probeMs = round(served.ms, 1);
    return checks.row(
      `${figures.join('; ')}; a notification meanwhile: ${served.status} in ${round(served.ms, 1)} ms`,
    );
  } finally {
    for (const o of opened) {
      clearInterval(o.timer);
      o.socket.destroy();
    }
    agent.destroy();
  }
}

import { signCashyPayload } from 'nestjs-cashy-payout/testing';
import { CaseChecks, type CaseRow, fmt } from './case.result';
import type { CapturingLogger } from './capturing.logger';
import type { AdapterName, StressHost } from './host.app';
import { keepAliveAgent, mapLimit, post, type PostAnswer, rawExchange } from './http.client';
import { STRESS_ACCOUNTS, signedNotifications } from './notifications.fixture';

/** One kind of hostile request: how to build it, how often to send it, the answer each adapter must give. */
interface HostileKind {
  name: string;
  times: number;
  expected: Record<AdapterName, number>;
  /** Sent over a fresh connection in one write (the server refuses it before reading it whole, then closes). */
  raw?: boolean;
  build(): { headers: Record<string, string>; body: string | Buffer };
}

const PEN = STRESS_ACCOUNTS[0];
const JSON_TYPE = 'application/json';

/** Headers signing `body` for the Peru account, with `contentType`. */
function signed(body: string | Buffer, contentType = JSON_TYPE): Record<string, string> {
  return {
    'Content-Type': contentType,
    MerchantId: PEN.merchantId,
    Sign: signCashyPayload(body, PEN.apiKey),
  };
}

/** The request kinds, with the answers the README and the webhook-hostile e2e suite define. */
function hostileKinds(valid: () => string): HostileKind[] {
  const padded = (bytes: number) => `${valid().slice(0, -1)},"padding":"${'x'.repeat(bytes)}"}`;
  const nested = (depth: number) =>
    `${valid().slice(0, -1)},"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const same = (status: number) => ({ express: status, fastify: status });
  return [
    // Fastify refuses an empty JSON body itself (400) before any guard runs; Express lets it reach the guard (401).
    {
      name: 'bodiless POST',
      times: 200,
      expected: { express: 401, fastify: 400 },
      build: () => ({ headers: { 'Content-Type': JSON_TYPE }, body: '' }),
    },
    {
      name: '2,000 headers',
      times: 10,
      expected: same(431),
      raw: true,
      build: () => {
        const headers: Record<string, string> = { 'Content-Type': JSON_TYPE };
        for (let i = 0; i < 2_000; i++) headers[`X-Junk-${i}`] = 'x';
        return { headers, body: '{}' };
      },
    },
    {
      name: 'Latin-1 charset',
      times: 20,
      expected: same(415),
      build: () => {
        const body = Buffer.from(valid().replace('"SUCCESS"}', '"Peñalosa"}'), 'latin1');
        return {
          headers: signed(body, 'application/json; charset=ISO-8859-1'),
          body,
        };
      },
    },
    {
      name: 'text/plain',
      times: 20,
      expected: same(415),
      build: () => ((body) => ({ headers: signed(body, 'text/plain'), body }))(valid()),
    },
    {
      name: '80 KiB body',
      times: 20,
      expected: same(413),
      build: () => ((body) => ({ headers: signed(body), body }))(padded(80 * 1024)),
    },
    {
      name: '2 MiB body',
      times: 10,
      expected: same(413),
      build: () => ((body) => ({ headers: signed(body), body }))(padded(2 * 1024 * 1024)),
    },
    {
      name: '20,000-deep nesting',
      times: 20,
      expected: same(400),
      build: () => ((body) => ({ headers: signed(body), body }))(nested(20_000)),
    },
    {
      name: 'garbage JSON signed',
      times: 20,
      expected: same(400),
      build: () =>
        ((body) => ({ headers: signed(body), body }))('{"orderNo":"PAYOUT1", "amount": '),
    },
    {
      name: 'garbage JSON unsigned',
      times: 20,
      expected: same(400),
      build: () => ({
        headers: { 'Content-Type': JSON_TYPE },
        body: '\u0000\u00ff{{not json',
      }),
    },
    {
      name: 'wrong Sign',
      times: 20,
      expected: same(401),
      build: () =>
        ((body) => ({
          headers: { ...signed(body), Sign: '0'.repeat(32) },
          body,
        }))(valid()),
    },
    {
      name: 'absent Sign',
      times: 20,
      expected: same(401),
      build: () =>
        ((body) => ({
          headers: { 'Content-Type': JSON_TYPE, MerchantId: PEN.merchantId },
          body,
        }))(valid()),
    },
    {
      name: 'absent MerchantId',
      times: 20,
      expected: same(401),
      build: () =>
        ((body) => ({
          headers: {
            'Content-Type': JSON_TYPE,
            Sign: signCashyPayload(body, PEN.apiKey),
          },
          body,
        }))(valid()),
    },
    {
      name: 'unknown MerchantId',
      times: 20,
      expected: same(401),
      build: () =>
        ((body) => ({
          headers: { ...signed(body), MerchantId: '4242' },
          body,
        }))(valid()),
    },
  ];
}

/** The request line and headers of a POST to `url` that closes its connection. */
function rawHead(url: URL, headers: Record<string, string>, body: string | Buffer): string {
  const lines = Object.entries({
    Host: url.host,
    Connection: 'close',
    ...headers,
    'Content-Length': String(Buffer.byteLength(body)),
  }).map(([name, value]) => `${name}: ${value}`);
  return `POST ${url.pathname} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** Everything written to stderr while `run` runs (Express's final handler prints there, not to Nest's logger). */
async function capturingStderr<T>(run: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  const original = process.stderr.write;
  let stderr = '';
  process.stderr.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return original.call<typeof process.stderr, [typeof chunk, ...never[]], boolean>(
      process.stderr,
      chunk,
      ...(rest as []),
    );
  };
  try {
    return { result: await run(), stderr };
  } finally {
    process.stderr.write = original;
  }
}

/**
 * Hostile and malformed requests, several of each at 8 in flight: every answer must be the one
 * defined for its kind on this adapter (400/401/413/415/431, never 500), no listener may run, no
 * ERROR line may reach the logger or stderr, and a valid notification is still acknowledged after.
 */
export async function hostileCase(host: StressHost, logger: CapturingLogger): Promise<CaseRow> {
  const checks = new CaseChecks('hostile bodies', host.adapter, host.store);
  const pool = signedNotifications(`H${host.adapter[0]}`.toUpperCase(), 400);
  let next = 0;
  // Each request a notification never sent validly, so any event it caused would show.
  const valid = () => pool[next++ % pool.length].body;
  const kinds = hostileKinds(valid);
  const before = logger.snapshot();
  const agent = keepAliveAgent(1);
  try {
    const errorsByKind = new Map<string, number>();
    const { result: byKind, stderr } = await capturingStderr(() =>
      mapLimit(kinds, 1, async (kind) => {
        const requests = Array.from({ length: kind.times }, () => kind.build());
        const mark = logger.snapshot();
        // A pool per kind: a connection the server closed after one kind's answer is never reused for the next.
        const kindAgent = keepAliveAgent(8);
        try {
          const answers = kind.raw
            ? await mapLimit(requests, 1, (r) =>
                rawExchange(host.webhookUrl, rawHead(host.webhookUrl, r.headers, r.body), r.body),
              )
            : await mapLimit(requests, 8, (r) =>
                post(kindAgent, host.webhookUrl, r.headers, r.body),
              );
          const errors = logger.since(mark).error;
          if (errors > 0) errorsByKind.set(kind.name, errors);
          return answers;
        } finally {
          kindAgent.destroy();
        }
      }),
    );
    let total = 0;
    const wrong: string[] = [];
    const cells: string[] = [];
    // The kinds grouped by the answer they must get, for a short table cell.
    const byStatus = new Map<number, string[]>();
    kinds.forEach((kind, i) => {
      const answers: PostAnswer[] = byKind[i];
      total += answers.length;
      const expected = kind.expected[host.adapter];
      const off = answers.filter((a) => a.status !== expected);
      if (off.length > 0)
        wrong.push(
          `${kind.name}: ${off.length}× ${off[0].status || off[0].error} (expected ${expected})`,
        );
      cells.push(`${kind.name} ${expected}`);
      byStatus.set(expected, [...(byStatus.get(expected) ?? []), `${kind.name} ×${kind.times}`]);
    });
    const expectedText = [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, names]) => `${status}: ${names.join(', ')}`)
      .join('; ');
    const logged = logger.since(before);
    const events = pool.reduce((sum, n) => sum + host.listener.count(n.orderNo), 0);
    checks.expect(wrong.length === 0, `unexpected answers: ${wrong.join('; ')}`);
    checks.expect(
      byKind.flat().every((a) => a.status !== 500),
      'a 500 was answered',
    );
    const byKindText = [...errorsByKind].map(([kind, count]) => `${count} for ${kind}`).join(', ');
    checks.expect(
      logged.error === 0,
      `${logged.error} ERROR line(s) logged (${byKindText}), e.g. ${logger.lastErrors(2).join(' | ')}`,
    );
    checks.expect(stderr === '', `stderr got ${stderr.length} characters: ${stderr.slice(0, 200)}`);
    checks.expect(events === 0, `${events} event(s) emitted for hostile requests`);
    const after = signedNotifications(`HA${host.adapter[0]}`.toUpperCase(), 1)[0];
    const healthy = await post(agent, host.webhookUrl, after.headers, after.body);
    checks.expect(
      healthy.status === 200 && host.listener.count(after.orderNo) === 1,
      `a valid notification afterwards got ${healthy.status}`,
    );
    Object.assign(checks.details, {
      requests: total,
      answers: cells,
      wrong,
      errorLines: logged.error,
      errorLinesByKind: Object.fromEntries(errorsByKind),
      warnLines: logged.warn,
      stderrChars: stderr.length,
    });
    return checks.row(
      `${fmt(total)} requests, ${wrong.length === 0 ? 'all answered as defined' : `${wrong.length} kind(s) answered otherwise`} (${expectedText}); ${logged.error} ERROR lines; ${events} events; a valid one after: ${healthy.status}`,
    );
  } finally {
    agent.destroy();
  }
}

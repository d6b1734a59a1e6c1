import { CaseChecks, type CaseRow, expectOneEventEach, fmt, tallyEvents } from './case.result';
import type { StressHost } from './host.app';
import { keepAliveAgent, mapLimit, post } from './http.client';
import { signedNotifications } from './notifications.fixture';
import { round } from './stats.util';

/** The slice of autocannon 8's result this case reads (the package ships no types). */
interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number; max: number };
  statusCodeStats?: Record<string, { count: number }>;
}
interface AutocannonRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
type Autocannon = (
  options: {
    url: string;
    method: string;
    connections: number;
    pipelining: number;
    amount: number;
    timeout: number;
    requests: AutocannonRequest[];
  },
  done: (error: Error | null, result: AutocannonResult) => void,
) => { stop(): void; on(event: 'response', listener: () => void): void };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

/** Options of the load case. */
export interface LoadOptions {
  notifications: number;
  connections: number;
}

/**
 * `notifications` distinct signed notifications through autocannon at `connections` keep-alive
 * connections: every one answered 200 `SUCCESS`, exactly one event each. autocannon prepares a
 * connection's next request before it knows the run is over, so a few notifications are taken but
 * never sent; those are sent afterwards, so every notification taken ends with its one event.
 */
export async function loadCase(host: StressHost, options: LoadOptions): Promise<CaseRow> {
  const checks = new CaseChecks('load', host.adapter, host.store);
  const pool = signedNotifications(
    `L${host.adapter[0]}${host.store[0]}`.toUpperCase(),
    options.notifications + 2 * options.connections,
  );
  let taken = 0;
  // autocannon notices the end of a run on a one-second tick: req/s run to the last answer instead.
  const started = process.hrtime.bigint();
  let lastAnswer = started;
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: host.webhookUrl.href,
        method: 'POST',
        connections: options.connections,
        pipelining: 1,
        amount: options.notifications,
        timeout: 20,
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => {
              const next = pool[Math.min(taken++, pool.length - 1)];
              return { ...request, headers: next.headers, body: next.body };
            },
          },
        ],
      },
      (error, answer) => (error ? reject(error) : resolve(answer)),
    );
    instance.on('response', () => (lastAnswer = process.hrtime.bigint()));
  });
  const seconds = Number(lastAnswer - started) / 1e9;
  const sent = pool.slice(0, Math.min(taken, pool.length));
  const acknowledged = result['2xx'];
  const eventsDuringLoad = sent.reduce((sum, n) => sum + host.listener.count(n.orderNo), 0);
  checks.expect(
    taken < pool.length,
    `autocannon took all ${pool.length} prepared notifications; some were sent twice`,
  );
  checks.expect(
    acknowledged === options.notifications,
    `${fmt(acknowledged)} of ${fmt(options.notifications)} answered 2xx`,
  );
  checks.expect(
    result.non2xx === 0 && result.errors === 0 && result.timeouts === 0,
    `non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`,
  );
  checks.expect(
    eventsDuringLoad === acknowledged,
    `${fmt(eventsDuringLoad)} events for ${fmt(acknowledged)} acknowledged notifications`,
  );

  // The few prepared but never sent: each must now emit its first and only event.
  const unsent = sent.filter((n) => host.listener.count(n.orderNo) === 0);
  const agent = keepAliveAgent(8);
  try {
    const answers = await mapLimit(unsent, 8, (n) =>
      post(agent, host.webhookUrl, n.headers, n.body),
    );
    checks.expect(
      answers.every((a) => a.status === 200),
      `re-sending the ${unsent.length} unsent notifications: not all 200`,
    );
  } finally {
    agent.destroy();
  }
  const tally = tallyEvents(host.listener, sent);
  expectOneEventEach(checks, tally, sent.length);

  const perSecond = round(acknowledged / seconds, 0);
  Object.assign(checks.details, {
    notifications: options.notifications,
    connections: options.connections,
    perSecond,
    seconds: round(seconds, 2),
    latencyMs: result.latency,
    statusCodes: result.statusCodeStats,
    unsentAfterwards: unsent.length,
  });
  return checks.row(
    `${fmt(acknowledged)}/${fmt(options.notifications)} × 200 at ${options.connections} conn, ${fmt(perSecond)} req/s, p99 ${result.latency.p99} ms; events: ${fmt(tally.once)} once, ${tally.doubled} double, ${tally.lost} lost`,
  );
}

import autocannon from 'autocannon';
import type { NotificationPool } from './notifications.fixture';
import { cpuMicros, round, Samples } from './stats.util';

/** One segment of load on one route. Latencies in ms. */
export interface LoadFigures {
  /** Answered (2xx) requests per second. */
  perSecond: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  /** The load generator's CPU over the segment, in cores: near 1 means autocannon itself was the limit. */
  generatorCores: number;
  /**
   * The app's CPU per answered request, in µs (filled in by the caller, which can ask the app): its
   * CPU over the segment's whole cycle, up to its route's next segment, so GC work left behind counts.
   */
  appCpuUsPerRequest?: number;
  /** The app's CPU per answered request during the segment alone, in µs. */
  appCpuUsInSegment?: number;
  /** The app's CPU over the segment, in cores: below ~0.9 the app was not the bottleneck. */
  appCores?: number;
  /** Redis's CPU per answered request, in µs (filled in by the caller, on a Redis-backed app). */
  redisCpuUsPerRequest?: number;
  /** Commands the app sent to Redis per answered request (likewise). */
  redisCommandsPerRequest?: number;
  /** PostgreSQL's CPU (postmaster and backends) per answered request, in µs (on a PostgreSQL-backed app). */
  postgresCpuUsPerRequest?: number;
  /** Statements the app sent to PostgreSQL per answered request (likewise). */
  postgresStatementsPerRequest?: number;
}

/**
 * Runs autocannon against `url + path` for `seconds` with `connections` keep-alive connections,
 * every request a distinct signed notification from `pool` (the same bodies whichever route).
 */
export function runLoad(
  url: string,
  path: string,
  pool: NotificationPool,
  seconds: number,
  connections: number,
): Promise<LoadFigures> {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  // autocannon's own histogram keeps whole milliseconds; sub-ms latencies need the raw times.
  const latencies = new Samples();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: url + path,
        method: 'POST',
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            // A shared counter across connections: every request takes the next unused notification.
            setupRequest: (request) => {
              const next = pool.take();
              request.headers = next.headers;
              request.body = next.body;
              return request;
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const elapsedUs = Number(process.hrtime.bigint() - started) / 1000;
        resolve({
          perSecond: round(result['2xx'] / result.duration, 0),
          p50: round(latencies.percentile(50), 3),
          p99: round(latencies.percentile(99), 3),
          ok: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          seconds: result.duration,
          generatorCores: round(cpuMicros(cpuBefore) / elapsedUs, 2),
        });
      },
    );
    instance.on(
      'response',
      (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      },
    );
  });
}

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RedisServer } from '../test/support/redis-server';

/** A throwaway `redis-server` the bench started: loopback only, no persistence, its own directory. */
export interface BenchRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** `redis-server --version`, for the report. */
  readonly version: string;
  /** CPU the server has used so far (user + system), in µs; `undefined` where /proc is not readable. */
  cpuUs(): number | undefined;
  /** Stops it (SIGTERM, SIGKILL after 3 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Whether `redis-server` can be run here. */
export function redisServerVersion(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return undefined;
  return /v=(\S+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim();
}

/**
 * Starts `redis-server` on a free loopback port with nothing written to disk and waits until it
 * accepts connections (10 s at most). It dies with this process.
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  const version = redisServerVersion();
  if (!version) throw new Error('redis-server is not installed');
  const server = await RedisServer.start();
  const pid = server.pid!;
  return {
    url: server.url,
    port: server.port,
    pid,
    version,
    cpuUs: () => processCpuUs(pid),
    stop: () => server.dispose(),
  };
}

/**
 * utime + stime of a process from /proc/<pid>/stat, in µs (Linux; clock ticks taken as 100 Hz);
 * with `reapedChildren`, also the CPU of its children that ended (cutime + cstime).
 */
export function processCpuUs(pid: number, reapedChildren = false): number | undefined {
  const fields = statFields(pid);
  if (!fields) return undefined;
  // utime (14) and stime (15), cutime (16) and cstime (17), 1-based from pid.
  let ticks = Number(fields[11]) + Number(fields[12]);
  if (reapedChildren) ticks += Number(fields[13]) + Number(fields[14]);
  return Number.isFinite(ticks) ? ticks * 10_000 : undefined;
}

/** The fields of /proc/<pid>/stat after the command name (which is in parentheses and may contain spaces). */
export function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

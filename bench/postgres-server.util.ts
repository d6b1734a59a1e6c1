import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { postgresBinDir, PostgresServer } from '../test/support/postgres-server';
import { DEDUPE_TABLE } from './bench.config';
import { processCpuUs, statFields } from './redis-server.util';

/** A throwaway PostgreSQL cluster the bench started: loopback only, its own directory. */
export interface BenchPostgres {
  readonly url: string;
  readonly pid: number;
  /** `postgres --version`, for the report. */
  readonly version: string;
  /** CPU the postmaster and every backend have used so far (user + system), in µs; `undefined` where /proc is not readable. */
  cpuUs(): number | undefined;
  /** Kills the cluster and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** `postgres --version` of the binaries the test support would run, or `undefined` when there are none. */
export function postgresServerVersion(): string | undefined {
  const bin = postgresBinDir();
  if (!bin) return undefined;
  const probe = spawnSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return undefined;
  return /(\d+(?:\.\d+)+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim();
}

/**
 * Starts a cluster (test/support's `PostgresServer`: `fsync=on`, synchronous commit, data in
 * /dev/shm when there is one) and creates the hand-written baseline's dedupe table, once, before any
 * app starts (several apps creating it at once could race in the catalog).
 */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const version = postgresServerVersion();
  if (!version) throw new Error('PostgreSQL is not installed');
  const server = await PostgresServer.start();
  try {
    const admin = new Pool(server.config());
    try {
      await admin.query(`CREATE TABLE ${DEDUPE_TABLE} (key text PRIMARY KEY)`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await server.dispose();
    throw error;
  }
  const pid = server.pid!;
  return {
    url: server.url(),
    pid,
    version,
    cpuUs: () => clusterCpuUs(pid),
    stop: () => server.dispose(),
  };
}

/**
 * The CPU of a postmaster and of all its children, live (backends, background workers) or ended
 * (counted in the postmaster's cutime and cstime), in µs.
 */
function clusterCpuUs(postmaster: number): number | undefined {
  let total = processCpuUs(postmaster, true);
  if (total === undefined) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    // The parent's pid is the second field after the command name.
    if (fields && Number(fields[1]) === postmaster) total += processCpuUs(Number(entry)) ?? 0;
  }
  return total;
}

import { execFile, spawnSync } from 'node:child_process';
import {
  accessSync,
  chownSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool, type PoolConfig } from 'pg';
import { freePort } from '../../lib/testing';

const run = promisify(execFile);
/** The command that installs PostgreSQL's server on Debian. */
export const POSTGRES_INSTALL = 'apt-get update && apt-get install -y postgresql';

/**
 * The directory of `initdb` and `pg_ctl`: Debian's newest `/usr/lib/postgresql/<version>/bin`
 * (not on the PATH), else the PATH's. `undefined` when PostgreSQL is not installed.
 */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length > 0) return join(root, versions[0], 'bin');
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return found.status === 0 ? join(found.stdout.trim(), '..') : undefined;
}

/** tmpfs when there is one: a throwaway cluster on it starts in well under a second. */
function scratchRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** The processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fields after the command name (which may hold spaces) start at its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

/** Whether `pid` runs (a zombie waiting to be reaped does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * A throwaway PostgreSQL cluster on a free 127.0.0.1 port, in a directory of its own, for the test
 * suites (and the soak, stress and bench). PostgreSQL refuses to run as root, so as root it runs as
 * the `postgres` user. Durable like a production server (`fsync=on`, synchronous commit); it can be
 * killed like a crashed machine (`kill()`: SIGKILL to the postmaster and every backend), stopped
 * cleanly, and started again on the same directory and port. Killed with the process whatever happens.
 */
export class PostgresServer {
  private running = false;
  private readonly killOnExit = () => this.killNow();

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  /** Creates a cluster (`initdb`) and starts it (10 s at most). */
  static async start(): Promise<PostgresServer> {
    const bin = postgresBinDir();
    if (!bin) throw new Error(`PostgreSQL is not installed: ${POSTGRES_INSTALL}`);
    const dir = mkdtempSync(join(scratchRoot(), 'cashy-pg-'));
    const server = new PostgresServer(await freePort(), dir, bin);
    try {
      if (process.getuid?.() === 0) {
        const { uid, gid } = postgresUser();
        chownSync(dir, uid, gid);
      }
      await server.exec('initdb', [
        '-D',
        server.dataDir,
        '-A',
        'trust',
        '-U',
        'postgres',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ]);
      await server.restart();
    } catch (error) {
      await server.dispose();
      throw error;
    }
    return server;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Connection settings of the `postgres` database (or `database`) as the `postgres` superuser. */
  config(database = 'postgres'): PoolConfig {
    return { host: '127.0.0.1', port: this.port, user: 'postgres', database };
  }

  /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** The postmaster's pid while it runs. */
  get pid(): number | undefined {
    if (!this.running) return undefined;
    try {
      return Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  }

  /** Starts the server (again) on the same directory and port; after a kill it recovers from its WAL. */
  async restart(): Promise<void> {
    if (this.running) throw new Error('PostgreSQL is already running');
    await this.exec('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=50`,
      '-w',
      '-t',
      '10',
      'start',
    ]);
    this.running = true;
    process.once('exit', this.killOnExit);
  }

  /** A crash: SIGKILL to the postmaster and every backend at once, and waits until they are gone. */
  async kill(): Promise<void> {
    const pid = this.pid;
    this.killNow();
    if (pid !== undefined) {
      for (let i = 0; i < 400 && alive(pid); i++) await new Promise((r) => setTimeout(r, 5));
      // Its pid may linger as a zombie nobody reaps, which the next postmaster would take for a
      // live one: its lock files go, as after a machine's reboot.
      rmSync(join(this.dataDir, 'postmaster.pid'), { force: true });
      rmSync(join(this.dir, `.s.PGSQL.${this.port}.lock`), { force: true });
    }
  }

  /** A clean stop (`pg_ctl stop -m fast`): sessions are ended, nothing is lost. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.exec('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
    this.running = false;
    process.off('exit', this.killOnExit);
  }

  /** Kills the server and removes its directory. Idempotent. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Creates a database and gives a pool on it (the caller ends the pool). */
  async createDatabase(name: string, extra: PoolConfig = {}): Promise<Pool> {
    const admin = new Pool(this.config());
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    const pool = new Pool({ ...this.config(name), ...extra });
    // A dropped idle connection (a kill in a test) is expected; the next query gets a new one.
    pool.on('error', () => undefined);
    return pool;
  }

  private killNow(): void {
    const pid = this.pid;
    this.running = false;
    process.off('exit', this.killOnExit);
    if (pid === undefined) return;
    // Stopped first, so it forks no backend between the listing and the kill.
    signal(pid, 'SIGSTOP');
    for (const child of childrenOf(pid)) signal(child, 'SIGKILL');
    signal(pid, 'SIGKILL');
  }

  private async exec(tool: string, args: string[]): Promise<void> {
    const path = join(this.bin, tool);
    const [file, argv] =
      process.getuid?.() === 0
        ? ['runuser', ['-u', 'postgres', '--', path, ...args]]
        : [path, args];
    try {
      await run(file, argv, { timeout: 20_000 });
    } catch (error) {
      let log = '';
      try {
        log = readFileSync(join(this.dir, 'server.log'), 'utf8').slice(-2_000);
      } catch {
        // No log yet.
      }
      throw new Error(`${tool} failed on port ${this.port}: ${(error as Error).message}\n${log}`, {
        cause: error,
      });
    }
  }
}

/** The uid and gid of the `postgres` user, which Debian's package creates. */
function postgresUser(): { uid: number; gid: number } {
  const found = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (found.status !== 0 || group.status !== 0)
    throw new Error(
      `there is no postgres user to run PostgreSQL as (root cannot): ${POSTGRES_INSTALL}`,
    );
  return { uid: Number(found.stdout), gid: Number(group.stdout) };
}

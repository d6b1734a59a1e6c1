import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../lib/testing';

const READY = /Ready to accept connections/;

/** Options of `RedisServer.start`. */
export interface RedisServerOptions {
  /** A one-node Redis Cluster that owns every slot. */
  cluster?: boolean;
  /**
   * An append-only file with `appendfsync always`, so every write a client saw acknowledged survives
   * a SIGKILL. Otherwise nothing is persisted (`--save '' --appendonly no`).
   */
  persistent?: boolean;
}

/** tmpfs when there is one: `appendfsync always` then costs no disk flush. */
function scratchRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/**
 * A throwaway `redis-server` on a free 127.0.0.1 port, in a directory of its own, for the test
 * suites, the soak, the stress suite and the bench. It can be killed (an abrupt outage) and started
 * again on the same port and directory, and is killed with the process whatever happens.
 */
export class RedisServer {
  private child?: ChildProcess;
  private readonly killOnExit = () => void this.child?.kill('SIGKILL');

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** Starts a server and waits until it accepts connections (10 s at most). */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(
      await freePort(),
      mkdtempSync(join(scratchRoot(), 'cashy-redis-')),
      options,
    );
    try {
      await server.restart();
      if (options.cluster) await server.claimAllSlots();
    } catch (error) {
      await server.dispose();
      throw error;
    }
    return server;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The server's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server (again) on the same port and directory; without persistence it starts empty. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
    ];
    args.push(
      ...(this.options.persistent
        ? ['--appendonly', 'yes', '--appendfsync', 'always']
        : ['--appendonly', 'no']),
    );
    if (this.options.cluster) {
      // Announce an address, or CLUSTER SLOTS names the node with an empty host that clients cannot reach.
      args.push(
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(this.dir, 'nodes.conf'),
        '--cluster-announce-ip',
        '127.0.0.1',
      );
    }
    const child = spawn('redis-server', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    process.once('exit', this.killOnExit);
    try {
      await new Promise<void>((resolve, reject) => {
        let output = '';
        const settle = (error?: Error) => {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          child.stderr.off('data', onData);
          child.off('exit', onExit);
          child.off('error', settle);
          if (error)
            reject(
              new Error(
                `redis-server on port ${this.port}: ${error.message}\n${output.slice(-2_000)}`,
              ),
            );
          else resolve();
        };
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (READY.test(output)) settle();
        };
        const onExit = (code: number | null) => settle(new Error(`exited with code ${code}`));
        const timer = setTimeout(() => settle(new Error('not ready within 10 s')), 10_000);
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', onExit);
        child.once('error', settle);
      });
    } catch (error) {
      await this.stop();
      throw error;
    }
    // Keep draining its output so the pipes never fill up.
    child.stdout.resume();
    child.stderr.resume();
  }

  /** Kills the server (SIGKILL: an abrupt outage) and waits for it to exit. */
  async stop(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** Stops the server (SIGTERM, SIGKILL after 3 s) and removes its directory. Idempotent. */
  async dispose(): Promise<void> {
    await this.end('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(force);
    }
    process.off('exit', this.killOnExit);
  }

  // A cluster node serves nothing until it owns slots: take them all and wait for the state to settle.
  private async claimAllSlots(): Promise<void> {
    const admin = new Redis({
      host: '127.0.0.1',
      port: this.port,
      lazyConnect: true,
    });
    try {
      await admin.connect();
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      for (const until = Date.now() + 10_000; ;) {
        if (/cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO')))) return;
        if (Date.now() > until) throw new Error('cluster did not reach state ok');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      admin.disconnect();
    }
  }
}

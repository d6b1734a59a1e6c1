import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../lib/testing';

const INSTALL = 'apt-get update && apt-get install -y redis-server';
const READY = /Ready to accept connections/;

/** Whether a `redis-server` binary is on the PATH. */
function redisServerInstalled(): boolean {
  return !spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error;
}

/**
 * `describe` when `redis-server` is installed. Without it: on CI (`CI` set) the suite fails loudly,
 * elsewhere it is skipped with a warning saying how to install it.
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (redisServerInstalled()) return describe(name, body);
  if (process.env.CI) {
    describe(name, () => {
      it('needs redis-server', () => {
        throw new Error(
          `redis-server is not installed; the Redis suites need it on CI: ${INSTALL}`,
        );
      });
    });
    return;
  }
  // Straight to stderr: Jest drops console output of a file whose tests are all skipped.
  process.stderr.write(
    `\nSkipping "${name}": redis-server is not installed. Install it to run the Redis suites: ${INSTALL}\n`,
  );
  describe.skip(name, body);
}

/** Options of `RedisServer.start`. */
export interface RedisServerOptions {
  /** Start a one-node Redis Cluster that owns every slot. */
  cluster?: boolean;
}

/**
 * A throwaway `redis-server` on 127.0.0.1 for one suite: a free port, no persistence, its own
 * working directory. It can be stopped and started again on the same port, to simulate an outage.
 */
export class RedisServer {
  private process?: ChildProcess;
  private readonly killOnExit = () => this.process?.kill('SIGKILL');

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** Starts a server on a free port and waits until it accepts connections. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(
      await freePort(),
      mkdtempSync(join(tmpdir(), 'cashy-redis-')),
      options,
    );
    await server.restart();
    if (options.cluster) await server.claimAllSlots();
    return server;
  }

  /** Starts the server again on the same port (empty: nothing is persisted). */
  async restart(): Promise<void> {
    if (this.process) throw new Error('redis-server is already running');
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
    ];
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
    this.process = child;
    process.once('exit', this.killOnExit);
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const settle = (error?: Error) => {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.off('exit', onExit);
        child.off('error', settle);
        if (!error) return resolve();
        child.kill('SIGKILL');
        this.process = undefined;
        process.off('exit', this.killOnExit);
        reject(
          new Error(
            `redis-server on port ${this.port}: ${error.message}\n${output}`,
          ),
        );
      };
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (READY.test(output)) settle();
      };
      const onExit = (code: number | null) =>
        settle(new Error(`exited with ${code}`));
      const timer = setTimeout(
        () => settle(new Error('did not start within 10 s')),
        10_000,
      );
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', onExit);
      child.once('error', settle);
    });
    // Keep draining its output so the pipes never fill up.
    child.stdout.resume();
    child.stderr.resume();
  }

  /** Kills the server (SIGKILL: an abrupt outage) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    process.off('exit', this.killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Stops the server and removes its working directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
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
        if (
          /cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO')))
        )
          return;
        if (Date.now() > until)
          throw new Error('cluster did not reach state ok');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      admin.disconnect();
    }
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from 'nestjs-cashy-payout/testing';

const READY = /Ready to accept connections/;

/** Options of `RedisServerProcess.start`. */
export interface RedisServerProcessOptions {
  /**
   * Append-only file with `appendfsync always`: every write a client saw acknowledged survives a
   * SIGKILL (the kill-and-restart case needs it; the README says a Redis without persistence forgets
   * processed notifications on restart). Otherwise `--save '' --appendonly no`.
   */
  persistent?: boolean;
}

/** tmpfs when there is one: `appendfsync always` then costs no disk flush, and a process kill loses nothing. */
function scratchRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/**
 * A `redis-server` the stress run started on a free 127.0.0.1 port, in a directory of its own. It
 * can be killed (SIGKILL) and started again on the same port and directory, and is killed with the
 * process whatever happens.
 */
export class RedisServerProcess {
  private child?: ChildProcess;
  private readonly killOnExit = () => void this.child?.kill('SIGKILL');

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: RedisServerProcessOptions,
  ) {}

  /** Starts a server and waits until it accepts connections (10 s at most). */
  static async start(
    options: RedisServerProcessOptions = {},
  ): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(
      await freePort(),
      mkdtempSync(join(scratchRoot(), 'cashy-stress-redis-')),
      options,
    );
    try {
      await server.restart();
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

  /** Starts the server (again) on the same port and directory. */
  async restart(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const persistence = this.options.persistent
      ? ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always']
      : ['--save', '', '--appendonly', 'no'];
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        ...persistence,
        '--dir',
        this.dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
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
        const onExit = (code: number | null) =>
          settle(new Error(`exited with code ${code}`));
        const timer = setTimeout(
          () => settle(new Error('not ready within 10 s')),
          10_000,
        );
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', onExit);
        child.once('error', settle);
      });
    } catch (error) {
      await this.kill();
      throw error;
    }
    // Keep draining its output so the pipes never fill up.
    child.stdout.resume();
    child.stderr.resume();
  }

  /** SIGKILL (an abrupt crash), resolved once the process has exited. */
  async kill(): Promise<void> {
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
      const exited = new Promise<void>((resolve) =>
        child.once('exit', () => resolve()),
      );
      child.kill(signal);
      const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(force);
    }
    process.off('exit', this.killOnExit);
  }
}

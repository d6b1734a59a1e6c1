import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from 'nestjs-cashy-payout/testing';

const READY = /Ready to accept connections/;

/** A `redis-server` the soak started: no persistence, its own directory, stopped by `stop()`. */
export interface SoakRedisServer {
  readonly url: string;
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a throwaway `redis-server` on a free loopback port; rejects if it is not ready within 10 s. */
export async function startRedisServer(): Promise<SoakRedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cashy-soak-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // Whatever happens to the soak (even process.exit), the server goes with it.
  const killOnExit = () => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (
        child.exitCode === null &&
        child.signalCode === null &&
        child.pid !== undefined
      ) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const settle = (error?: Error) => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', settle);
        if (error)
          reject(
            new Error(
              `redis-server on port ${port}: ${error.message}${output ? `\n${output}` : ''}`,
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
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', settle);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  // Keep draining its output so the pipes never fill up.
  child.stdout!.resume();
  child.stderr!.resume();
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, stop };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** A replica running `fixtures/replica.fixture.ts` in a child process. */
export interface ReplicaProcess {
  child: ChildProcess;
  /** Its base URL. */
  url: string;
  /** Every message (JSON line on stdout) it sent so far. */
  messages: readonly Record<string, unknown>[];
  /** Resolves with the first message (JSON line on stdout) that has `key`. */
  next(key: string, ms?: number): Promise<Record<string, unknown>>;
  /** SIGKILL: the process dies at once, whatever it was doing. */
  kill(): Promise<void>;
}

/** Starts a replica process on the Redis at `redisPort` and waits until it listens. */
export async function spawnReplica(
  redisPort: number,
  claimTtlMs: number,
  options: {
    fixture?: string;
    env?: Record<string, string>;
    /** More `--require` hooks from fixtures/, loaded first (e.g. `wall-skew.js`). */
    preload?: string[];
  } = {},
): Promise<ReplicaProcess> {
  const fixtures = join(__dirname, 'fixtures');
  const child = spawn(
    process.execPath,
    [
      ...(options.preload ?? []).flatMap((hook) => ['--require', join(fixtures, hook)]),
      '--require',
      join(fixtures, 'ts-register.js'),
      join(fixtures, options.fixture ?? 'replica.fixture.ts'),
    ],
    {
      env: {
        ...process.env,
        REDIS_PORT: String(redisPort),
        CLAIM_TTL_MS: String(claimTtlMs),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let pending = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) messages.push(JSON.parse(line));
    waiters.forEach((wake) => wake());
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('exit', () => waiters.forEach((wake) => wake()));

  const next = (key: string, ms = 15_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new Error(`replica sent no "${key}" within ${ms} ms\n${stderr}`)),
        ms,
      );
      const settle = (error?: Error, message?: Record<string, unknown>) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve(message!);
      };
      const check = () => {
        const found = messages.find((m) => key in m);
        if (found) settle(undefined, found);
        else if (child.exitCode !== null || child.signalCode !== null)
          settle(new Error(`replica exited before "${key}"\n${stderr}`));
      };
      waiters.add(check);
      check();
    });

  const kill = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  try {
    const { url } = await next('url');
    return { child, url: String(url), messages, next, kill };
  } catch (error) {
    await kill();
    throw error;
  }
}

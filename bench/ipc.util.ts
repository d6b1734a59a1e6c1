import { fork } from 'node:child_process';
import { join } from 'node:path';

/** A request from the bench parent to a child: `{ id, type, payload }`; the child answers with the same id. */
interface IpcRequest {
  id: number;
  type: string;
  payload?: unknown;
}

interface IpcReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

type Handlers = Record<string, (payload: unknown) => unknown>;

/** A bench child process that has said it is ready, and a way to talk to it. */
export interface BenchChild<Ready> {
  /** What the child sent with `ready` (its URL, its options…). */
  readonly ready: Ready;
  readonly pid: number;
  /** Sends `type` and resolves with the child's answer (rejects with its error). */
  ask<T>(type: string, payload?: unknown): Promise<T>;
  /** Asks the child to exit cleanly (so `--cpu-prof` can write its profile), killing it after 10 s. */
  stop(): Promise<void>;
}

/**
 * Forks `dist-scripts/bench/<script>.js` and waits (up to 30 s) for its `ready` message. A child
 * that dies first rejects with its exit code; every child dies with its parent's IPC channel.
 */
export function startChild<Ready>(
  script: string,
  args: string[] = [],
  execArgv: string[] = [],
): Promise<BenchChild<Ready>> {
  const child = fork(join(__dirname, `${script}.js`), args, {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let exited: Error | undefined;

  child.on('message', (message: IpcReply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${script}: ${message.error}`));
  });
  child.on('exit', (code, signal) => {
    exited = new Error(`${script} exited (${signal ?? code})`);
    for (const waiter of pending.values()) waiter.reject(exited);
    pending.clear();
  });

  const ask = <T>(type: string, payload?: unknown): Promise<T> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve, reject });
      child.send({ id, type, payload } satisfies IpcRequest);
    });
  };

  const stop = async (): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.send({ id: 0, type: 'exit' } satisfies IpcRequest);
    await gone;
    clearTimeout(killer);
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} was not ready within 30 s`));
    }, 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before it was ready (${signal ?? code})`));
    });
    // Safe to ask at once: a child's IPC channel only starts reading once it listens for messages
    // (serveParent, after its app has started), so the request waits in the pipe until then.
    ask<Ready>('ready').then(
      (ready) => {
        clearTimeout(timer);
        resolve({ ready, pid: child.pid!, ask, stop });
      },
      (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      },
    );
  });
}

/**
 * The child's side: answers the parent's requests with `handlers[type](payload)` (`ready` must be
 * one of them, resolving once the child can serve). `exit` runs `onExit`, then exits with code 0.
 * The child also exits when the parent goes away, so no orphan keeps a port or a core.
 */
export function serveParent(
  handlers: Handlers,
  onExit: () => Promise<void> = async () => undefined,
): void {
  if (!process.send) throw new Error('this script is a bench child: run it through npm run bench');
  const reply = (message: IpcReply) => process.send!(message);
  process.on('message', (message: IpcRequest) => {
    if (message.type === 'exit') {
      void onExit().finally(() => process.exit(0));
      return;
    }
    const handler = handlers[message.type];
    if (!handler)
      return reply({
        id: message.id,
        ok: false,
        error: `unknown request ${message.type}`,
      });
    Promise.resolve()
      .then(() => handler(message.payload))
      .then(
        (result) => reply({ id: message.id, ok: true, result }),
        (error: unknown) =>
          reply({
            id: message.id,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

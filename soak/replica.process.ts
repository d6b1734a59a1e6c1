import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { CreatePayoutDto, PayoutModuleOptions } from 'nestjs-cashy-payout';

/** The store every replica shares: keys under `keyPrefix` on one Redis, or tables on one database. */
export type ReplicaStoreOptions =
  | { kind: 'redis'; url: string; keyPrefix: string }
  | { kind: 'postgres'; url: string; tablePrefix: string };

/** How a replica process starts: its port, the shared store, and the module options (no store). */
export interface ReplicaStartOptions {
  port: number;
  store: ReplicaStoreOptions;
  module: Omit<PayoutModuleOptions, 'store'>;
  adapter?: 'express' | 'fastify';
  /** How long its listener takes per event. */
  listenerMs?: number;
}

/** Where a replica's wall clock stands: ahead by `skewMs`, stepped by ±`stepMs` every `stepEveryMs`. */
export interface ReplicaWallClock {
  skewMs: number;
  stepMs?: number;
  stepEveryMs?: number;
}

/** What the parent asks of a replica. */
export type ReplicaRequest =
  | { type: 'start'; options: ReplicaStartOptions }
  | { type: 'create'; id: number; input: CreatePayoutDto }
  | { type: 'ack'; id: number }
  | { type: 'stop' };

/** What a replica tells the parent. */
export type ReplicaReply =
  | { type: 'listening' }
  | { type: 'failed'; message: string }
  | { type: 'event'; id: number; mchOrderNo: string; orderNo: string; name: string }
  | {
      type: 'created';
      id: number;
      outcome: 'order' | 'unknown' | 'rejected' | 'error';
      orderNo?: string;
      message?: string;
    };

/** How `createPayout` ended on a replica. */
export type ReplicaCreateResult = Extract<ReplicaReply, { type: 'created' }>;

/** A payout event a replica's listener received, as recorded by the parent. */
export interface ReplicaEvent {
  replica: string;
  mchOrderNo: string;
  orderNo: string;
  name: string;
}

// The hook lives with the Redis suites that first used it; compiled scripts run from dist-scripts/soak.
const WALL_SKEW_HOOK = join(__dirname, '..', '..', 'test', 'redis', 'fixtures', 'wall-skew.js');

/**
 * A host replica in a child process (`replica.child.ts`) whose wall clock is skewed and stepped.
 * `onEvent` runs for each event before the replica's listener returns, so an event is recorded
 * here before the webhook that caused it is answered.
 */
export class ReplicaProcess {
  private readonly child: ChildProcess;
  private readonly creates = new Map<number, (result: ReplicaCreateResult) => void>();
  private nextCreateId = 0;
  private stderr = '';

  private constructor(
    readonly name: string,
    readonly url: string,
    child: ChildProcess,
  ) {
    this.child = child;
  }

  /** Forks and starts a replica; resolves once it listens. */
  static async start(
    name: string,
    options: ReplicaStartOptions,
    clock: ReplicaWallClock,
    onEvent: (event: ReplicaEvent) => void,
  ): Promise<ReplicaProcess> {
    const child = fork(join(__dirname, 'replica.child.js'), [], {
      execArgv: ['--require', WALL_SKEW_HOOK],
      env: {
        ...process.env,
        WALL_SKEW_MS: String(clock.skewMs),
        WALL_STEP_MS: String(clock.stepMs ?? 0),
        WALL_STEP_EVERY_MS: String(clock.stepEveryMs ?? 0),
      },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const replica = new ReplicaProcess(
      name,
      `http://127.0.0.1:${options.port}/payout/webhook`,
      child,
    );
    child.stderr!.on('data', (chunk: Buffer) => (replica.stderr += chunk.toString()));
    const listening = new Promise<void>((resolve, reject) => {
      child.on('message', (message: ReplicaReply) => {
        if (message.type === 'listening') resolve();
        else if (message.type === 'failed')
          reject(new Error(`replica ${name} failed to start: ${message.message}`));
        else if (message.type === 'event') {
          onEvent({ replica: name, ...message });
          child.send({ type: 'ack', id: message.id } satisfies ReplicaRequest);
        } else if (message.type === 'created') {
          replica.creates.get(message.id)?.(message);
          replica.creates.delete(message.id);
        }
      });
      child.once('exit', (code, signal) =>
        reject(new Error(`replica ${name} exited (${code ?? signal}): ${replica.stderr}`)),
      );
    });
    child.send({ type: 'start', options } satisfies ReplicaRequest);
    await listening;
    return replica;
  }

  /** `createPayout(input)` on this replica. */
  create(input: CreatePayoutDto): Promise<ReplicaCreateResult> {
    const id = this.nextCreateId++;
    return new Promise((resolve, reject) => {
      this.creates.set(id, resolve);
      if (!this.child.connected) reject(new Error(`replica ${this.name} is gone`));
      else this.child.send({ type: 'create', id, input } satisfies ReplicaRequest);
    });
  }

  /** Closes the replica's app and waits for its process to end (SIGKILL after `ms`). */
  async stop(ms = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ReplicaRequest);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    await exited;
    clearTimeout(timer);
  }
}

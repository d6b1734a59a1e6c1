/**
 * Everything a soak run opened, closed in reverse order of opening. Each step runs on its own (one
 * that throws or hangs past its timeout does not keep the others open) and at most once, whether
 * the run ends normally, fails, or is cut short by its deadline or a signal.
 */
export class SoakResources {
  private readonly steps: { name: string; close: () => Promise<void> }[] = [];
  private closing?: Promise<void>;

  constructor(private readonly stepTimeoutMs = 10_000) {}

  /** Registers something just opened. */
  add(name: string, close: () => Promise<void>): void {
    if (this.closing) {
      // Opened while closing (a run cut short mid-start): close it straight away.
      void this.closeOne({ name, close });
      return;
    }
    this.steps.push({ name, close });
  }

  /** Closes everything registered, newest first; resolves when each step has ended or timed out. Idempotent. */
  closeAll(): Promise<void> {
    this.closing ??= (async () => {
      while (this.steps.length > 0) await this.closeOne(this.steps.pop()!);
    })();
    return this.closing;
  }

  private async closeOne(step: { name: string; close: () => Promise<void> }): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        step.close(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`still closing after ${this.stepTimeoutMs} ms`)),
            this.stepTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      console.error(
        `soak: could not close ${step.name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Rejects after `ms` if `promise` has not settled by then. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Exits with `code` once `close` has settled, or after 30 s if it has not (saying so as `tool`):
 * the way out of a run cut short by its deadline or a signal. Shared with the stress run.
 */
export function closeThenExit(tool: string, close: () => Promise<void>, code: number): void {
  const force = setTimeout(() => {
    console.error(`${tool}: closing took more than 30 s; exiting anyway`);
    process.exit(code);
  }, 30_000);
  force.unref();
  void close().finally(() => process.exit(code));
}

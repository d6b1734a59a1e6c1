import { closeThenExit, withTimeout } from '../soak/soak-resources';

/** The soak's, shared with the stress run. */
export { closeThenExit, withTimeout };

/**
 * What one part of the stress run opened (apps, clients, redis-servers), closed newest first. Each
 * step runs once and on its own: one that throws or hangs past its timeout does not keep the others
 * open. The hard deadline closes every scope still open through `closeAllScopes`.
 */
export class StressResources {
  private static readonly open = new Set<StressResources>();
  private readonly steps: { name: string; close: () => Promise<void> }[] = [];
  private closing?: Promise<void>;

  constructor(
    readonly label: string,
    private readonly stepTimeoutMs = 10_000,
  ) {
    StressResources.open.add(this);
  }

  /** Registers something just opened; when the scope is already closing, closes it at once. */
  add(name: string, close: () => Promise<void>): void {
    if (this.closing) {
      void this.closeOne({ name, close });
      return;
    }
    this.steps.push({ name, close });
  }

  /** Closes everything registered, newest first. Idempotent. */
  closeAll(): Promise<void> {
    this.closing ??= (async () => {
      while (this.steps.length > 0) await this.closeOne(this.steps.pop()!);
      StressResources.open.delete(this);
    })();
    return this.closing;
  }

  /** Closes every scope not closed yet, newest first (the deadline's and signals' way out). */
  static async closeAllScopes(): Promise<void> {
    for (const scope of [...StressResources.open].reverse()) await scope.closeAll();
  }

  private async closeOne(step: { name: string; close: () => Promise<void> }): Promise<void> {
    try {
      await withTimeout(step.close(), this.stepTimeoutMs, `closing ${step.name}`);
    } catch (error) {
      console.error(
        `stress: ${this.label}: could not close ${step.name}: ${(error as Error).message}`,
      );
    }
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

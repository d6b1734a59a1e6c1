import type { LoggerService } from '@nestjs/common';

/** A log line Nest or the module wrote at WARN or above. */
export interface CapturedLine {
  level: 'error' | 'warn' | 'fatal';
  context?: string;
  message: string;
}

/** How many lines of each level were written; `since` subtracts an earlier snapshot. */
export interface LogCounts {
  log: number;
  error: number;
  warn: number;
  other: number;
}

const KEEP = 200;

/**
 * The Nest logger of every stress host (`NestFactory.create(…, { logger })`): counts lines per level
 * and keeps the last ERROR and WARN lines, printing nothing, so a case can assert that it produced
 * no ERROR line. Thousands of `log` lines (one per outcome) cost a counter each.
 */
export class CapturingLogger implements LoggerService {
  private readonly counts: LogCounts = { log: 0, error: 0, warn: 0, other: 0 };
  /** The most recent ERROR/WARN/FATAL lines, oldest first. */
  readonly lines: CapturedLine[] = [];

  private readonly watchers: { pattern: RegExp; count: number }[] = [];

  log(message: unknown): void {
    this.counts.log++;
    this.match(message);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.counts.error++;
    this.match(message);
    this.keep('error', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.counts.error++;
    this.match(message);
    this.keep('fatal', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.counts.warn++;
    this.match(message);
    this.keep('warn', message, rest);
  }

  /** Counts lines (any level from LOG up) matching `pattern` from now on; call the result to read the count. */
  watch(pattern: RegExp): () => number {
    const watcher = { pattern, count: 0 };
    this.watchers.push(watcher);
    return () => watcher.count;
  }

  private match(message: unknown): void {
    if (this.watchers.length === 0 || typeof message !== 'string') return;
    for (const watcher of this.watchers) if (watcher.pattern.test(message)) watcher.count++;
  }

  debug(): void {
    this.counts.other++;
  }

  verbose(): void {
    this.counts.other++;
  }

  /** The counts so far. */
  snapshot(): LogCounts {
    return { ...this.counts };
  }

  /** Lines written since `before` (a snapshot). */
  since(before: LogCounts): LogCounts {
    return {
      log: this.counts.log - before.log,
      error: this.counts.error - before.error,
      warn: this.counts.warn - before.warn,
      other: this.counts.other - before.other,
    };
  }

  /** The last `count` ERROR lines kept, for a failure's details. */
  lastErrors(count = 3): string[] {
    return this.lines
      .filter((line) => line.level !== 'warn')
      .slice(-count)
      .map((line) => `${line.context ? `[${line.context}] ` : ''}${line.message}`);
  }

  private keep(level: CapturedLine['level'], message: unknown, rest: unknown[]): void {
    // Nest passes the context last (and a stack before it for errors).
    const context =
      typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.lines.push({
      level,
      context,
      message:
        typeof message === 'string' ? message : String((message as Error)?.message ?? message),
    });
    if (this.lines.length > KEEP) this.lines.splice(0, this.lines.length - KEEP);
  }
}

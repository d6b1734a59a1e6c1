import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PayoutConfig } from '../options/payout-config';
import { CREATE_LEASE_MS } from '../outcome/payout-attempt.ledger';
import { CLOCK_SYNC_EVERY_MS, PayoutClock } from './payout.clock';

/** While a clock cannot read its source, how soon it tries again. */
const RETRY_EVERY_MS = 1_000;

/** Keeps the module's clock in step with its source (the store's clock), when it has one. */
@Injectable()
export class PayoutClockSync implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('PayoutClock');
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly clock: PayoutClock,
    private readonly config: PayoutConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.clock.holdsLastUpTo(longestHoldMs(this.config));
    if (this.clock.sync) await this.syncNow();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async syncNow(): Promise<void> {
    let delay = CLOCK_SYNC_EVERY_MS;
    try {
      await this.clock.sync!();
      if (this.failing) this.logger.log("the store's clock is read again");
      this.failing = false;
    } catch (error) {
      // Nothing is decided meanwhile: a clock never read refuses, one read before keeps counting.
      delay = RETRY_EVERY_MS;
      if (!this.failing)
        this.logger.warn(
          `could not read the store's clock (${(error as Error).message}); trying again every ${delay} ms`,
        );
      this.failing = true;
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.syncNow(), delay);
    this.timer.unref();
  }
}

/**
 * The longest that any time this module writes lasts unrenewed, or that a reading it decides on
 * (a lookup's send time) stays in use: a re-send window, a webhook claim (renewed only every third
 * of it), a create's lease, the sweep's lease, a lookup with its retries.
 */
function longestHoldMs(config: PayoutConfig): number {
  return Math.max(
    config.timeoutMs + config.resendWindowMs,
    config.timeoutMs * config.retry.attempts,
    config.delivery.claimTtlMs,
    CREATE_LEASE_MS,
    config.reconciliation ? config.reconciliation.leaseMs : 0,
  );
}

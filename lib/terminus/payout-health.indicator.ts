import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  type HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { PayoutConfigurationError } from '../payout.errors';
import { PayoutProbe } from './payout-probe';

/** Options of `PayoutHealthIndicator.isHealthy`. */
export interface PayoutHealthCheckOptions {
  /** How long each account's `getBalance` may take, in ms (default 2000). Accounts are probed at once. */
  timeoutMs?: number;
}

/** One account in the health result. */
export interface PayoutAccountHealth {
  status: 'up' | 'down';
  merchantId: string;
  latencyMs: number;
  /** Why it is down: a timeout, a transport failure or the gateway's refusal. */
  reason?: string;
  /** The gateway's envelope `code` and `msg`, when it refused the call (for example `Sign_verify_error`). */
  code?: number;
  msg?: string;
}

/** The data under the indicator's key: every account by name, and on failure a one-line summary. */
export interface PayoutHealthDetails {
  accounts: Record<string, PayoutAccountHealth>;
  message?: string;
}

const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * A `@nestjs/terminus` health indicator for the Cashy gateway: one signed `getBalance` per configured
 * account, sent once with a short timeout and no retries, so a hung gateway costs one `timeoutMs`.
 * Down when any account is. The result names each account and its merchantId, never an apiKey
 * or a balance.
 *
 * ```ts
 * @Module({ imports: [TerminusModule], controllers: [HealthController], providers: [PayoutHealthIndicator] })
 * // in the controller:
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.payouts.isHealthy('cashy', { timeoutMs: 1500 })]); }
 * ```
 */
@Injectable()
export class PayoutHealthIndicator implements OnModuleInit {
  private readonly probe: PayoutProbe;

  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    moduleRef: ModuleRef,
  ) {
    this.probe = new PayoutProbe(moduleRef);
  }

  /** Fails at startup, with a message saying so, when `PayoutModule` is not registered. */
  onModuleInit(): void {
    this.probe.resolve();
  }

  /** Probes every account and reports each under `key` (default `cashy`). Never throws for a gateway failure. */
  async isHealthy<const Key extends string = 'cashy'>(
    key: Key = 'cashy' as Key,
    options: PayoutHealthCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key, 'up' | 'down', PayoutHealthDetails>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new PayoutConfigurationError(
        `PayoutHealthIndicator: timeoutMs must be a positive whole number of ms (got ${timeoutMs})`,
      );
    }
    const results = await this.probe.checkAll(timeoutMs);
    const accounts: Record<string, PayoutAccountHealth> = {};
    for (const {
      account,
      merchantId,
      up,
      latencyMs,
      reason,
      code,
      msg,
    } of results) {
      accounts[account] = {
        status: up ? 'up' : 'down',
        merchantId,
        latencyMs,
        ...(reason !== undefined ? { reason } : {}),
        ...(code !== undefined ? { code, msg } : {}),
      };
    }
    const session = this.healthIndicatorService.check(key);
    const down = results.filter((result) => !result.up);
    if (down.length === 0) return session.up({ accounts });
    const message = `${down.length} of ${results.length} Cashy account(s) down: ${down.map((r) => `${r.account} (${r.reason})`).join('; ')}`;
    return session.down({ accounts, message });
  }
}

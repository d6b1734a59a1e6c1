import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { CASHY_ENDPOINTS, type CashyAnswer } from '../client/cashy-protocol';
import { CashyHttpClient } from '../client/cashy-http.client';
import { withinDeadline } from '../clock/deadline';
import { toPayoutBalance } from '../client/cashy-response.mapper';
import { errorMessage, PayoutConfigurationError } from '../payout.errors';
import type { CashyAccount } from '../options/cashy-account';
import { OptionReader } from '../options/option.reader';
import { PayoutConfig } from '../options/payout-config';
import { PAYOUT_OPTION_RULES } from '../options/payout-options.resolver';
import { PAYOUT_STORE } from '../payout.constants';
import type { PayoutStore } from '../store/payout-store.interface';

/** Options of `PayoutHealthIndicator.isHealthy`. */
export interface PayoutHealthCheckOptions {
  /** How long each account's `getBalance` may take, in ms (default 2000). Accounts are probed at once. */
  timeoutMs?: number;
}

/** One account in the health result. Never carries the apiKey or any balance figure. */
export interface PayoutAccountHealth {
  status: 'up' | 'down';
  merchantId: string;
  /** Time from sending to the answer (or to giving up), in ms. */
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
  /** Payouts the reconciliation tracks, when the store can count them; never makes it down. */
  payouts?: { open: number; watchingReturns: number };
  /** The store, when it has `countOpen`: down when that fails or outlasts `timeoutMs` (the webhook would answer 503). */
  store?: { status: 'up' | 'down'; latencyMs: number; reason?: string };
  message?: string;
}

/** `isHealthy`'s options: `[min, max, default]`, bounded like the module's own `timeoutMs`. */
const HEALTH_CHECK_RULES = { timeoutMs: [1, PAYOUT_OPTION_RULES.timeoutMs[1], 2_000] } as const;

/** Why a `getBalance` answer means down, if it does (the figures themselves are dropped). */
function refusal(
  { httpStatus, envelope }: CashyAnswer,
  merchantId: string,
): Partial<PayoutAccountHealth> | undefined {
  if (!envelope) return { reason: `HTTP ${httpStatus} without a Cashy envelope` };
  if (envelope.code !== 200)
    return {
      reason: `Cashy answered code ${envelope.code}: ${envelope.msg || 'no msg'}`,
      code: envelope.code,
      msg: envelope.msg,
    };
  if (httpStatus < 200 || httpStatus > 299)
    return { reason: `HTTP ${httpStatus} with a code-200 envelope` };
  try {
    toPayoutBalance(envelope.data, CASHY_ENDPOINTS.getBalance, merchantId);
  } catch (error) {
    return { reason: (error as Error).message };
  }
  return undefined;
}

/**
 * A `@nestjs/terminus` health indicator for the Cashy gateway (see docs/operations.md): one signed
 * `getBalance` per account, once, with a short timeout and no retries, and the store when it can
 * count. Down when any account or the store is; never shows an apiKey or a balance.
 */
@Injectable()
export class PayoutHealthIndicator implements OnModuleInit {
  private gateway?: { client: CashyHttpClient; config: PayoutConfig };

  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Fails at startup, with a message saying so, when `PayoutModule` is not registered. */
  onModuleInit(): void {
    this.resolve();
  }

  /** Probes every account and reports each under `key` (default `cashy`). Never throws for a gateway failure. */
  async isHealthy<const Key extends string = 'cashy'>(
    key: Key = 'cashy' as Key,
    options: PayoutHealthCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key, 'up' | 'down', PayoutHealthDetails>> {
    const reader = new OptionReader();
    const { timeoutMs } = reader.read({ ...options }, HEALTH_CHECK_RULES);
    reader.throwIfAny('PayoutHealthIndicator: ');
    // Every account and the store at once, so the whole check takes about one `timeoutMs`.
    const [probed, stored] = await Promise.all([
      Promise.all(
        this.resolve().config.accounts.map(
          async (account) => [account.name, await this.probe(account, timeoutMs)] as const,
        ),
      ),
      this.probeStore(timeoutMs),
    ]);
    const accounts = Object.fromEntries(probed);
    const session = this.healthIndicatorService.check(key);
    const down = probed.filter(([, health]) => health.status === 'down');
    const problems = down.map(([name, health]) => `${name} (${health.reason})`);
    if (stored.store?.status === 'down') problems.push(`store (${stored.store.reason})`);
    if (problems.length === 0) return session.up({ accounts, ...stored });
    const message =
      down.length > 0
        ? `${down.length} of ${probed.length} Cashy account(s) down: ${problems.join('; ')}`
        : `the payout store is down: ${stored.store!.reason}`;
    return session.down({ accounts, ...stored, message });
  }

  /** The store's health and what it tracks, when it can count it; nothing for a store that cannot. */
  private async probeStore(
    timeoutMs: number,
  ): Promise<Pick<PayoutHealthDetails, 'payouts' | 'store'>> {
    const store = this.moduleRef.get<PayoutStore>(PAYOUT_STORE, { strict: false });
    if (!store.countOpen) return {};
    const started = Date.now();
    try {
      const counted = await withinDeadline(store.countOpen(), timeoutMs, true);
      if (counted === 'late') {
        const reason = `no answer within ${timeoutMs} ms`;
        return { store: { status: 'down', latencyMs: Date.now() - started, reason } };
      }
      return {
        payouts: { open: counted.open, watchingReturns: counted.watching },
        store: { status: 'up', latencyMs: Date.now() - started },
      };
    } catch (error) {
      return {
        store: { status: 'down', latencyMs: Date.now() - started, reason: errorMessage(error) },
      };
    }
  }

  /**
   * Finds `PayoutModule`'s client and accounts through `ModuleRef`: the module does not export its
   * client, and the host's health module usually does not import it.
   */
  private resolve(): { client: CashyHttpClient; config: PayoutConfig } {
    try {
      this.gateway ??= {
        client: this.moduleRef.get(CashyHttpClient, { strict: false }),
        config: this.moduleRef.get(PayoutConfig, { strict: false }),
      };
    } catch {
      throw new PayoutConfigurationError(
        'PayoutHealthIndicator checks the accounts of PayoutModule, and none is registered: import PayoutModule.forRoot() or forRootAsync() in the application',
      );
    }
    return this.gateway;
  }

  /** One account: up when the gateway answers a code-200 balance on a 2xx. */
  private async probe(account: CashyAccount, timeoutMs: number): Promise<PayoutAccountHealth> {
    const { client } = this.resolve();
    const started = Date.now();
    let down: Partial<PayoutAccountHealth> | undefined;
    try {
      // One attempt, with the probe's own timeout: a hung gateway answers "down" on time.
      const answer = await client.post(account, CASHY_ENDPOINTS.getBalance, {}, 1, timeoutMs);
      down = refusal(answer, account.merchantId);
    } catch (error) {
      down = { reason: errorMessage(error) };
    }
    return {
      status: down ? 'down' : 'up',
      merchantId: account.merchantId,
      latencyMs: Date.now() - started,
      ...down,
    };
  }
}

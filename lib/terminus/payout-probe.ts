import type { ModuleRef } from '@nestjs/core';
import type { CashyAnswer } from '../client/cashy-protocol';
import { CASHY_ENDPOINTS } from '../client/cashy-protocol';
import { CashyHttpClient } from '../client/cashy-http.client';
import { toPayoutBalance } from '../client/cashy-response.mapper';
import { PayoutConfigurationError } from '../payout.errors';
import type { CashyAccount } from '../options/cashy-account';
import { PayoutConfig } from '../options/payout-config';

/** What one probe of one account found. Never carries the apiKey or any balance figure. */
export interface PayoutProbeResult {
  /** The account's name (`accounts[].name`, or its merchantId when unnamed). */
  account: string;
  merchantId: string;
  up: boolean;
  /** Time from sending to the answer (or to giving up), in ms. */
  latencyMs: number;
  /** Why the account is down. */
  reason?: string;
  /** The gateway's envelope `code` and `msg`, when it answered with a refusal. */
  code?: number;
  msg?: string;
}

/**
 * One signed `getBalance` per account, sent once (no retries) and given up on after `timeoutMs`.
 * It borrows the running `PayoutModule`'s client and accounts through `ModuleRef`, because the
 * module does not export its client and the host's health module usually does not import it.
 */
export class PayoutProbe {
  private gateway?: { client: CashyHttpClient; config: PayoutConfig };

  constructor(private readonly moduleRef: ModuleRef) {}

  /** Finds `PayoutModule`'s client and accounts; throws `PayoutConfigurationError` when it is not registered. */
  resolve(): { client: CashyHttpClient; config: PayoutConfig } {
    if (!this.gateway) {
      try {
        this.gateway = {
          client: this.moduleRef.get(CashyHttpClient, { strict: false }),
          config: this.moduleRef.get(PayoutConfig, { strict: false }),
        };
      } catch {
        throw new PayoutConfigurationError(
          'PayoutHealthIndicator checks the accounts of PayoutModule, and none is registered: import PayoutModule.forRoot() or forRootAsync() in the application',
        );
      }
    }
    return this.gateway;
  }

  /** Probes every configured account at once, so the whole check takes about one `timeoutMs`. */
  checkAll(timeoutMs: number): Promise<PayoutProbeResult[]> {
    return Promise.all(
      this.resolve().config.accounts.map((account) =>
        this.check(account, timeoutMs),
      ),
    );
  }

  /** Probes one account: up when the gateway answers a code-200 balance on a 2xx. */
  async check(
    account: CashyAccount,
    timeoutMs: number,
  ): Promise<PayoutProbeResult> {
    const { client } = this.resolve();
    const started = Date.now();
    const result = (
      up: boolean,
      extra: Partial<PayoutProbeResult> = {},
    ): PayoutProbeResult => ({
      account: account.name,
      merchantId: account.merchantId,
      up,
      latencyMs: Date.now() - started,
      ...extra,
    });
    let answer: CashyAnswer;
    try {
      // One attempt, with the probe's own timeout: a hung gateway answers "down" on time.
      answer = await client.post(
        account,
        CASHY_ENDPOINTS.getBalance,
        {},
        1,
        timeoutMs,
      );
    } catch (error) {
      return result(false, {
        reason: error instanceof Error ? error.message : String(error),
      });
    }

    const { httpStatus, envelope } = answer;
    if (!envelope)
      return result(false, {
        reason: `HTTP ${httpStatus} without a Cashy envelope`,
      });
    if (envelope.code !== 200) {
      return result(false, {
        reason: `Cashy answered code ${envelope.code}: ${envelope.msg || 'no msg'}`,
        code: envelope.code,
        msg: envelope.msg,
      });
    }
    if (httpStatus < 200 || httpStatus > 299)
      return result(false, {
        reason: `HTTP ${httpStatus} with a code-200 envelope`,
      });
    try {
      toPayoutBalance(
        envelope.data,
        CASHY_ENDPOINTS.getBalance,
        account.merchantId,
      ); // shape check only: the figures are dropped
    } catch (error) {
      return result(false, { reason: (error as Error).message });
    }
    return result(true);
  }
}

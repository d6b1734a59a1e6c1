import type { PayoutAmountLimitsOptions } from '../interfaces/payout-module-options.interface';
import type { PayoutCurrency } from '../interfaces/payout-types.interface';

/** A merchant account the sandbox knows: the `MerchantId` header it accepts and the key it verifies with. */
export interface SandboxAccount {
  /** Numeric merchant id, as the `MerchantId` header carries it. */
  merchantId: string;
  /** Signing key of this account (requests and notifications are signed with it). */
  apiKey: string;
  /** Currencies the account pays out; a payOut in any other currency is refused. */
  currencies: PayoutCurrency[];
  /** Opening balance, a decimal with at most 2 places (default `'1000000.00'`). */
  balance?: string;
}

/**
 * How the sandbox misbehaves on purpose.
 *
 * | mode | effect |
 * |---|---|
 * | `timeout` | nothing is done and nothing is answered; the socket stays open until the client gives up or `stop()` |
 * | `timeout-after-create` | the request is processed (a payOut creates its order), then nothing is answered |
 * | `drop-after-create` | the request is processed, then the socket is destroyed without a response |
 * | `http-500` | HTTP 500 with a text body; nothing is done |
 * | `system-busy` | envelope `{"code":500,"msg":"System_busy"}`; nothing is done |
 * | `system-error` | the request is processed (a payOut creates its order), then envelope `{"code":500,"msg":"System_error"}` |
 */
export type SandboxFaultMode = 'timeout' | 'timeout-after-create' | 'drop-after-create' | 'http-500' | 'system-busy' | 'system-error';

/** Every fault mode, in a fixed order (the default set of random faults). */
export const SANDBOX_FAULT_MODES: readonly SandboxFaultMode[] = [
  'timeout',
  'timeout-after-create',
  'drop-after-create',
  'http-500',
  'system-busy',
  'system-error',
];

/** Random faults: each matching request draws from a seeded PRNG, so a seed replays the same faults. */
export interface SandboxRandomFaults {
  /** Probability in [0, 1] that a matching request gets a fault. */
  rate: number;
  /** PRNG seed (mulberry32); default a fixed seed, so runs are reproducible unless you vary it. */
  seed?: number;
  /** Modes to pick from, uniformly (default every mode). */
  modes?: SandboxFaultMode[];
  /** Endpoints affected, as paths (`'/api/payOut'`) or names (`'payOut'`); default all four. */
  endpoints?: string[];
}

/** Faults for the next `count` matching requests (`CashySandbox.injectFaults`). */
export interface SandboxFaultSpec {
  mode: SandboxFaultMode;
  count: number;
  /** Endpoints affected, as paths (`'/api/payOut'`) or names (`'payOut'`); default all four. */
  endpoints?: string[];
}

/** Options of `new CashySandbox(options)`. Every field is optional. */
export interface CashySandboxOptions {
  /**
   * Merchant accounts. Default: `1002001` / `sandbox-pen-key` serving PEN and `1002002` /
   * `sandbox-mxn-key` serving MXN.
   */
  accounts?: SandboxAccount[];
  /** Port to listen on; default 0 (an ephemeral port). */
  port?: number;
  /** Interface to listen on; default `'127.0.0.1'`. */
  host?: string;
  /** Delay from PROCESSING to PAYING, in ms (default 20). */
  processingMs?: number;
  /**
   * Delay from PAYING to the final status, in ms (default 40). A `REVERSE` order's second callback
   * (the SPEI return) comes `payingMs` after its SUCCESS is acknowledged or its deliveries end.
   */
  payingMs?: number;
  /** Default true; false leaves every order PROCESSING until `settle()`, and nothing happens by itself. */
  autoSettle?: boolean;
  /**
   * Multiplies the webhook retry schedule (1, 2, 4 … 512 minutes): 1 is real time (default),
   * 0.001 makes one "minute" 60 ms.
   */
  timeScale?: number;
  /** Random faults drawn from a seeded PRNG. */
  faults?: SandboxRandomFaults;
  /** Per-currency amount limits, with the same shape and defaults as the module option `limits`. */
  limits?: Partial<Record<PayoutCurrency, PayoutAmountLimitsOptions>>;
  /** Timeout of each webhook delivery attempt, in ms (default 5000). */
  notifyTimeoutMs?: number;
}

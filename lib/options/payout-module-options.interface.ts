import type { Agent as HttpAgent } from 'node:http';
import type { AxiosProxyConfig } from 'axios';
import type { PayoutReconciliationOptions } from '../reconciliation/payout-reconciliation.options';
import type { PayoutStore } from '../store/payout-store.interface';
import type { PayoutCurrency } from '../payout.types';

/** One Cashy merchant account. Enterprises usually hold one per country. */
export interface PayoutAccountOptions {
  /** A name to pick the account with (`{ account: 'peru' }`); defaults to the merchant id. */
  name?: string;
  /** Numeric merchant id issued by Cashy. */
  merchantId: string | number;
  /** The account's signing key. Never logged, never put in an error. */
  apiKey: string;
  /** Currencies this account pays out; omit when it serves every currency the module knows. */
  currencies?: PayoutCurrency[];
}

/** An override of a currency's amount limits; each bound is a decimal at the market's scale. */
export interface PayoutAmountLimitsOptions {
  min?: string | number;
  max?: string | number;
}

/** How gateway calls are retried when the failure is transient. */
export interface PayoutRetryOptions {
  /** Attempts in all, the first one included (default 3, at most 10). */
  attempts?: number;
  /** First backoff before jitter, in ms (default 200). */
  baseDelayMs?: number;
  /** Largest backoff, in ms (default 5000). */
  maxDelayMs?: number;
}

/** Where the module mounts its webhook controller. */
export interface PayoutWebhookOptions {
  /** Route path, default `payout/webhook`. */
  path?: string;
}

/** How concurrent deliveries of one order are serialized. */
export interface PayoutDeliveryOptions {
  /** How long a delivery may hold an order while its listeners run, in ms (default 120000). */
  claimTtlMs?: number;
  /** How long a concurrent delivery waits for the holder before answering 503, in ms (default 10000). */
  claimWaitMs?: number;
}

/**
 * What the network to Cashy may need (an egress proxy, a private CA, a client certificate): the
 * module's own axios instance never reads `HTTP_PROXY`/`HTTPS_PROXY` nor the host's `HttpModule`.
 * See docs/configuration.md, "Transport".
 */
export interface PayoutHttpOptions {
  /** Agent for an `http:` gateway or proxy (default: the module's own keep-alive agent); never closed by the module. */
  httpAgent?: HttpAgent;
  /** Agent for an `https:` gateway (private CA, mutual TLS, tunnelling); `rejectUnauthorized: false` is refused. */
  httpsAgent?: HttpAgent;
  /** An explicit egress proxy (CONNECT tunnel for `https:`); default `false`, whatever the environment says. */
  proxy?: AxiosProxyConfig | false;
  /** Extra headers for every request; never one the module sets to sign and frame it. Values are never logged. */
  headers?: Record<string, string>;
}

/** Options of `PayoutModule.forRoot()` and of the factory given to `forRootAsync()`. */
export interface PayoutModuleOptions {
  /** Gateway base URL, as Cashy operations hand it out (http or https). */
  baseUrl: string;
  /** Merchant id of a single-account setup (use `accounts` for several). */
  merchantId?: string | number;
  /** Signing key of a single-account setup. */
  apiKey?: string;
  /** Several merchant accounts, each with its own key (use instead of `merchantId`/`apiKey`). */
  accounts?: PayoutAccountOptions[];
  /** Default callback URL for `createPayout`; a `notifyUrl` given per call wins. */
  notifyUrl?: string;
  /** The webhook controller: `{ path }`, or `false` for none. With `forRootAsync`, give it beside `useFactory`. */
  webhook?: PayoutWebhookOptions | false;
  /** Where notification state lives; default a bounded `MemoryPayoutStore`. */
  store?: PayoutStore;
  /** Per-currency overrides of the amount limits (Cashy sets them per merchant). */
  limits?: Partial<Record<PayoutCurrency, PayoutAmountLimitsOptions>>;
  /** Timeout of each HTTP attempt to the gateway, in ms (default 10000). */
  timeoutMs?: number;
  /** Retry policy for transient gateway failures, or `false` for a single attempt. */
  retry?: PayoutRetryOptions | false;
  /** The transport's agents, egress proxy and extra headers (see `PayoutHttpOptions`). */
  http?: PayoutHttpOptions;
  /** How concurrent deliveries of the same order are serialized. */
  delivery?: PayoutDeliveryOptions;
  /**
   * Money-safety rule 3: after a create of unknown outcome, how long (ms, default 120000) its
   * `mchOrderNo` is neither sent again nor called not created, unless the gateway shows the order.
   */
  resendWindowMs?: number;
  /** Override how Cashy's unpublished messages are recognised (see the README's "Guarantees"). */
  gatewayMessages?: PayoutGatewayMessagesOptions;
  /** The built-in sweep that settles open payouts (on by default; `false` turns it off). */
  reconciliation?: PayoutReconciliationOptions | false;
}

/**
 * Patterns for the gateway messages Cashy does not publish, each tested against the whole `msg`.
 * Keep them narrow: a message wrongly read as "not found" could lead to a second payout.
 */
export interface PayoutGatewayMessagesOptions {
  /** A create refused because an order with this `mchOrderNo` exists (default matches `Params_mchOrderNo_repeat`, `Duplicate_order`, `Order_already_exists` …). */
  duplicateOrder?: RegExp;
  /** A query for an order the gateway does not have (default matches `Order_not_exist`, `Order_not_found`, `Params_orderNo_not_exist` …). */
  orderNotFound?: RegExp;
}

/** What `useClass` / `useExisting` of `forRootAsync` must implement. */
export interface PayoutOptionsFactory {
  createPayoutOptions(): PayoutModuleOptions | Promise<PayoutModuleOptions>;
}

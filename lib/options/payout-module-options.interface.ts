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
  /**
   * How long a delivery may hold an order while its listeners run, in ms (default 120000). If its
   * process dies, another delivery may run the listeners once this has passed.
   */
  claimTtlMs?: number;
  /** How long a concurrent delivery waits for the holder before answering 503, in ms (default 10000). */
  claimWaitMs?: number;
}

/**
 * The transport's agents and settings: what the network between your service and Cashy may need
 * (an egress proxy, a private CA, a client certificate). Signed requests go through the module's
 * own `HttpService` on its own axios instance; your `HttpModule`, `axios.defaults` and axios
 * interceptors never touch them, so whatever they need is given here.
 *
 * Environment proxies: `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` are NOT read. A payout's
 * route to the gateway is configuration, not an accident of the environment the process was
 * started in; opt in with `proxy` (for instance built from `process.env.HTTPS_PROXY`) or with a
 * tunnelling `httpsAgent` such as `new HttpsProxyAgent(url)`.
 */
export interface PayoutHttpOptions {
  /**
   * Agent for an `http:` gateway (or an `http:` proxy). Default: the module's own keep-alive
   * agent, closed with the module. An agent given here is yours: the module never closes it.
   */
  httpAgent?: HttpAgent;
  /**
   * Agent for an `https:` gateway: `new https.Agent({ keepAlive: true, ca })` for a private CA,
   * `{ keepAlive: true, cert, key }` for mutual TLS, or a tunnelling agent such as
   * `new HttpsProxyAgent(proxyUrl, { keepAlive: true })`. An agent with `rejectUnauthorized: false`
   * is refused. Default: the module's own keep-alive `https.Agent`, closed with the module.
   */
  httpsAgent?: HttpAgent;
  /**
   * An explicit egress proxy, `{ protocol?: 'http' | 'https', host, port, auth?: { username, password } }`:
   * an `https:` gateway is reached through a CONNECT tunnel (the proxy sees neither the body nor
   * the Sign), an `http:` one through a forwarding request. Default `false`: no proxy, whatever
   * the environment says.
   */
  proxy?: AxiosProxyConfig | false;
  /**
   * Extra headers sent with every request (an egress gateway's token, a tracing header). They
   * may replace `Accept` and `User-Agent`, never `Content-Type`, `Content-Length`, `MerchantId`,
   * `Sign`, `Host`, `Connection` or `Transfer-Encoding`. Values are never logged.
   */
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
  /**
   * The webhook controller: `{ path }` or `false` to mount none (then protect your own route with
   * `PayoutSignatureGuard`). With `forRootAsync`, give it beside `useFactory`, not in its result,
   * because routes are fixed when the module is registered.
   */
  webhook?: PayoutWebhookOptions | false;
  /** Where notification state lives; default a bounded `MemoryPayoutStore`. */
  store?: PayoutStore;
  /** Per-currency overrides of the amount limits (Cashy sets them per merchant). */
  limits?: Partial<Record<PayoutCurrency, PayoutAmountLimitsOptions>>;
  /** Timeout of each HTTP attempt to the gateway, in ms (default 10000). */
  timeoutMs?: number;
  /** Retry policy for transient gateway failures, or `false` for a single attempt. */
  retry?: PayoutRetryOptions | false;
  /**
   * The transport's agents, egress proxy and extra headers (see `PayoutHttpOptions`). Default: the
   * module's own keep-alive agents, no proxy (`HTTP_PROXY`/`HTTPS_PROXY` are not read), no extra headers.
   */
  http?: PayoutHttpOptions;
  /** How concurrent deliveries of the same order are serialized. */
  delivery?: PayoutDeliveryOptions;
  /**
   * After a create whose outcome is unknown (a timeout, a reset, an answer the library cannot
   * classify), how long, in ms, the same `mchOrderNo` is neither sent again nor reported as not
   * created, unless the gateway shows the order (default 120000). A gateway may commit a create
   * after the client gave up; sending it again inside this window could pay twice.
   */
  resendWindowMs?: number;
  /** Override how Cashy's unpublished messages are recognised (see the README's "Guarantees"). */
  gatewayMessages?: PayoutGatewayMessagesOptions;
  /**
   * The built-in sweep that settles payouts still open or of unknown outcome, so no outcome is lost
   * when webhooks are (on by default; `false` turns it off). See `PayoutReconciliationOptions`.
   */
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

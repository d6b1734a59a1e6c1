import type { PayoutAmountLimitsOptions } from '../options/payout-module-options.interface';
import type { PayoutCurrency, PayoutStatus } from '../payout.types';
import type { CashyPayOutBody } from '../validation/create-payout.rules';
import type { SandboxOutcome } from './sandbox-triggers';

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
 * Every fault mode, in a fixed order, and what it does. The first six imitate a gateway that fails;
 * the others, one that breaks the promises money code relies on (see also `dedupeMchOrderNo:
 * false`). `reply` and `mismatch` need their spec field, so they can only be injected
 * (`injectFaults`), never drawn at random.
 */
export const SANDBOX_FAULT_EFFECTS = {
  timeout:
    'nothing is done and nothing is answered; the socket stays open until the client gives up or `stop()`',
  'timeout-after-create':
    'the request is processed (a payOut creates its order), then nothing is answered',
  'drop-after-create': 'the request is processed, then the socket is destroyed without a response',
  'http-500': 'HTTP 500 with a text body; nothing is done',
  'system-busy': 'envelope `{"code":500,"msg":"System_busy"}`; nothing is done',
  'system-error':
    'the request is processed (a payOut creates its order), then envelope `{"code":500,"msg":"System_error"}`',
  'late-commit':
    'payOut: checked as usual, nothing is answered (as `timeout`), and the order is created `lateCommitMs` after the request arrived ' +
    '(nothing if the check fails, or if by then the `mchOrderNo` is taken and `dedupeMchOrderNo` is on); other endpoints: as `timeout`',
  reply:
    'the scripted `SandboxFaultSpec.reply` is sent (any HTTP status, body and content type); nothing is done, unless `process: true`, ' +
    'which processes the request first (a payOut creates its order)',
  'notify-before-answer':
    'payOut: the order is created, moved at once to the final status its remark gives (SUCCESS for `HOLD`) and notified; ' +
    "the normal PROCESSING answer goes out only after that notification's first attempt; other endpoints: answered normally",
  mismatch:
    "the request is processed normally, but the answer's `data` carries the `SandboxFaultSpec.mismatch` values " +
    '(payOut and payOutQuery success answers; others are answered unchanged)',
} as const;

/** How the sandbox misbehaves on purpose: one of `SANDBOX_FAULT_EFFECTS`. */
export type SandboxFaultMode = keyof typeof SANDBOX_FAULT_EFFECTS;

/** Every fault mode, in a fixed order. */
export const SANDBOX_FAULT_MODES = Object.keys(
  SANDBOX_FAULT_EFFECTS,
) as readonly SandboxFaultMode[];

/**
 * The modes random faults draw from when `faults.modes` is not given: the six gateway failures
 * (the set before the money-safety modes existed, so a seed keeps replaying the same faults).
 * `late-commit` and `notify-before-answer` may be listed in `faults.modes` explicitly.
 */
export const SANDBOX_DEFAULT_RANDOM_FAULT_MODES: readonly SandboxFaultMode[] =
  SANDBOX_FAULT_MODES.slice(0, 6);

/** Random faults: each matching request draws from a seeded PRNG, so a seed replays the same faults. */
export interface SandboxRandomFaults {
  /** Probability in [0, 1] that a matching request gets a fault. */
  rate: number;
  /** PRNG seed (mulberry32); default a fixed seed, so runs are reproducible unless you vary it. */
  seed?: number;
  /**
   * Modes to pick from, uniformly (default `SANDBOX_DEFAULT_RANDOM_FAULT_MODES`). `reply` and
   * `mismatch` are refused: they need data only `injectFaults` can give.
   */
  modes?: SandboxFaultMode[];
  /** Endpoints affected, as paths (`'/api/payOut'`) or names (`'payOut'`); default all four. */
  endpoints?: string[];
}

/** The scripted answer of the `reply` fault. */
export interface SandboxScriptedReply {
  /** HTTP status, a whole number from 100 to 599 (default 200). */
  httpStatus?: number;
  /**
   * The body: a string is sent as is, an object is serialized with `JSON.stringify` once, when the
   * fault is injected (e.g. `{ code: 500, msg: 'Internal_error' }`).
   */
  body: string | object;
  /** `Content-Type` header (default `application/json;charset=UTF-8`, whatever the body). */
  contentType?: string;
}

/**
 * Values the `mismatch` fault puts in the answer's `data` instead of the real ones (at least one).
 * The order itself keeps what was requested.
 */
export interface SandboxMismatch {
  amount?: string;
  mchOrderNo?: string;
  orderStatus?: string;
  orderNo?: string;
}

/** Faults for the next `count` matching requests (`CashySandbox.injectFaults`). */
export interface SandboxFaultSpec {
  mode: SandboxFaultMode;
  count: number;
  /** Endpoints affected, as paths (`'/api/payOut'`) or names (`'payOut'`); default all four. */
  endpoints?: string[];
  /** Required for (and only allowed with) mode `reply`: what to answer. */
  reply?: SandboxScriptedReply;
  /**
   * Only with mode `reply`. Default false: nothing is done (like `system-busy`). True: the request
   * is processed first (a payOut creates its order) and the scripted reply replaces the normal
   * answer, which is recorded as `withheld`.
   */
  process?: boolean;
  /** Required for (and only allowed with) mode `mismatch`: the fields to falsify in the answer's `data`. */
  mismatch?: SandboxMismatch;
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
  /**
   * Default true: a payOut reusing a `mchOrderNo` the account already has gets
   * `Params_mchOrderNo_repeat`. False imitates a gateway that does not enforce uniqueness: every
   * such payOut creates another order, `ordersByMchOrderNo()` returns them all, and a payOutQuery by
   * `mchOrderNo` answers the oldest.
   */
  dedupeMchOrderNo?: boolean;
  /**
   * For the `late-commit` fault: how long after a payOut arrives its order is created, in ms
   * (default 800).
   */
  lateCommitMs?: number;
}

/** One status change of a sandbox order. */
export interface SandboxOrderEvent {
  orderStatus: PayoutStatus;
  resultDesc: string | null;
  /** `Date.now()` of the change. */
  at: number;
}

/** A payout order held by the sandbox (the getters return copies; change orders with `settle()`/`reverse()`). */
export interface SandboxOrder {
  /** Cashy's order number: `PAYOUT` + 19 digits, increasing. */
  orderNo: string;
  mchOrderNo: string;
  merchantId: string;
  currency: PayoutCurrency;
  /** Decimal string at the market's scale (`'150.50'`, `'1500'`). */
  amount: string;
  /** The fee charged; the API shows it only once the order is SUCCESS. */
  fee: string;
  orderStatus: PayoutStatus;
  resultDesc: string | null;
  /** `yyyy-MM-dd HH:mm:ss` in the market's local time while the order is SUCCESS, else `null`. */
  completionTime: string | null;
  notifyUrl: string;
  remark: string;
  /** What the remark asked for (see `SANDBOX_TRIGGERS`). */
  outcome: SandboxOutcome;
  /** True once a SUCCESS was returned (SPEI return, MXN only). */
  reversed: boolean;
  /** The create fields as accepted (validated and normalized, without `nonceStr`). */
  request: CashyPayOutBody;
  /** `Date.now()` of creation. */
  createdAt: number;
  /** Every status the order has had, oldest first (starts with PROCESSING). */
  history: SandboxOrderEvent[];
}

/** What the sandbox answered. */
export interface SandboxHttpReply {
  httpStatus: number;
  body: string;
}

/**
 * A request that met a fault: what was sent instead of (or in place of) its normal answer. The
 * record is added when the request arrives; for `late-commit` and `notify-before-answer` some fields
 * are filled in later, as noted.
 */
export interface SandboxFaultReply {
  fault: SandboxFaultMode;
  /**
   * What was actually sent, for every mode that answers: `http-500`, `system-busy`, `system-error`,
   * `reply`, `mismatch` and `notify-before-answer` (for the last, set when the request arrives,
   * although it goes out later: see `answeredAt`). Absent when nothing was sent.
   */
  httpStatus?: number;
  body?: string;
  /** `reply`: the `Content-Type` sent. */
  contentType?: string;
  /**
   * The normal answer the fault replaced, for the modes that process the request first
   * (`timeout-after-create`, `drop-after-create`, `system-error`, `reply` with `process: true`,
   * `mismatch`). For a `late-commit` payOut: the answer its commit would have given, set when the
   * order is created `lateCommitMs` later (or at once when the check fails; absent if `stop()`
   * came first).
   */
  withheld?: SandboxHttpReply;
  /** `notify-before-answer` on a payOut that created its order: `Date.now()` when the answer was sent. */
  answeredAt?: number;
}

/** One request the sandbox received. */
export interface SandboxRequestRecord {
  /** `Date.now()` when the whole body had arrived. */
  at: number;
  method: string;
  /** The request path, e.g. `/api/payOut`. */
  endpoint: string;
  /** Headers with lower-case names (repeated headers joined with `, `). */
  headers: Record<string, string>;
  /** The body exactly as received, decoded as UTF-8. */
  body: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
  /** The `MerchantId` header, if any. */
  merchantId: string | undefined;
  response: SandboxHttpReply | SandboxFaultReply;
}

/** One webhook delivery attempt. */
export interface SandboxDeliveryRecord {
  /** `Date.now()` when the attempt started. */
  at: number;
  /** Identifies the delivery chain (one per status change or `notifyAgain`), 1-based. */
  chain: number;
  orderNo: string;
  mchOrderNo: string;
  merchantId: string;
  orderStatus: PayoutStatus;
  /** 1 for the first attempt of the chain, up to 11. */
  attempt: number;
  url: string;
  /** The exact notification body sent (the same bytes on every attempt of a chain). */
  body: string;
  /** The `Sign` header sent. */
  sign: string;
  /** HTTP status of the answer; `undefined` when there was none (network error, timeout). */
  httpStatus: number | undefined;
  /** The answer's body, as text ('' when there was none). */
  responseBody: string;
  /** True when the answer body was exactly `SUCCESS`. */
  acknowledged: boolean;
  /** Why there was no answer (connection refused, timeout, sandbox stopped). */
  error?: string;
  durationMs: number;
}

import type { PayoutAmountLimitsOptions } from '../options/payout-module-options.interface';
import type { PayoutCurrency, PayoutStatus } from '../payout.types';
import type { CashyPayOutBody } from '../validation/create-payout.rules';
import type { SandboxOutcome } from './sandbox-triggers';

/** A merchant account the sandbox knows: the `MerchantId` header it accepts and the key it verifies with. */
export interface SandboxAccount {
  merchantId: string;
  apiKey: string;
  /** Currencies the account pays out; a payOut in any other currency is refused. */
  currencies: PayoutCurrency[];
  /** Opening balance, a decimal with at most 2 places (default `'1000000.00'`). */
  balance?: string;
}

/**
 * What each fault mode does, in a fixed order: the first six imitate a gateway that fails, the
 * others one that breaks the promises money code relies on.
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

/** Random faults' default modes: the six gateway failures, so old seeds replay the same faults. */
export const SANDBOX_DEFAULT_RANDOM_FAULT_MODES: readonly SandboxFaultMode[] =
  SANDBOX_FAULT_MODES.slice(0, 6);

/** Random faults drawn from a seeded PRNG (mulberry32), so a seed replays the same faults. */
export interface SandboxRandomFaults {
  /** Probability in [0, 1] that a matching request gets a fault. */
  rate: number;
  /** Default a fixed seed. */
  seed?: number;
  /** Default `SANDBOX_DEFAULT_RANDOM_FAULT_MODES`; `reply` and `mismatch` are refused. */
  modes?: SandboxFaultMode[];
  /** Paths (`'/api/payOut'`) or names (`'payOut'`); default all four. */
  endpoints?: string[];
}

/** The scripted answer of the `reply` fault. */
export interface SandboxScriptedReply {
  /** 100 to 599 (default 200). */
  httpStatus?: number;
  /** A string is sent as is; an object is serialized once, at injection. */
  body: string | object;
  /** Default `application/json;charset=UTF-8`. */
  contentType?: string;
}

/** Values the `mismatch` fault puts in the answer's `data` (at least one). */
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
  /** Paths (`'/api/payOut'`) or names (`'payOut'`); default all four. */
  endpoints?: string[];
  /** Mode `reply` only (required): what to answer. */
  reply?: SandboxScriptedReply;
  /** Mode `reply` only: process the request first, recording its normal answer as `withheld`. */
  process?: boolean;
  /** Mode `mismatch` only (required): the fields to falsify. */
  mismatch?: SandboxMismatch;
}

/** Options of `new CashySandbox(options)`; every field is optional. */
export interface CashySandboxOptions {
  /** Default: `1002001` / `sandbox-pen-key` (PEN) and `1002002` / `sandbox-mxn-key` (MXN). */
  accounts?: SandboxAccount[];
  /** Default 0 (ephemeral) on `'127.0.0.1'`. */
  port?: number;
  host?: string;
  /** PROCESSING to PAYING, in ms (default 20). */
  processingMs?: number;
  /** PAYING to final, and SUCCESS to a SPEI return, in ms (default 40). */
  payingMs?: number;
  /** Default true; false leaves every order PROCESSING until `settle()`. */
  autoSettle?: boolean;
  /** Scales the webhook retry schedule: 1 is real time (default), 0.001 makes a minute 60 ms. */
  timeScale?: number;
  faults?: SandboxRandomFaults;
  /** Per-currency amount limits, as the module option `limits`. */
  limits?: Partial<Record<PayoutCurrency, PayoutAmountLimitsOptions>>;
  /** Timeout of each webhook delivery attempt, in ms (default 5000). */
  notifyTimeoutMs?: number;
  /** Default true: a reused `mchOrderNo` is refused; false creates another order. */
  dedupeMchOrderNo?: boolean;
  /** `late-commit`: from a payOut's arrival to its order's creation, in ms (default 800). */
  lateCommitMs?: number;
}

/** One status change of a sandbox order. */
export interface SandboxOrderEvent {
  orderStatus: PayoutStatus;
  resultDesc: string | null;
  at: number;
}

/** A payout order held by the sandbox (getters return copies; change orders with `settle()`/`reverse()`). */
export interface SandboxOrder {
  orderNo: string;
  mchOrderNo: string;
  merchantId: string;
  currency: PayoutCurrency;
  amount: string;
  /** The fee charged; the API shows it only once the order is SUCCESS. */
  fee: string;
  orderStatus: PayoutStatus;
  resultDesc: string | null;
  /** `yyyy-MM-dd HH:mm:ss`, market local time, while SUCCESS; else `null`. */
  completionTime: string | null;
  notifyUrl: string;
  remark: string;
  outcome: SandboxOutcome;
  /** True once a SUCCESS was returned (SPEI return, MXN only). */
  reversed: boolean;
  /** The create fields as accepted (normalized, without `nonceStr`). */
  request: CashyPayOutBody;
  createdAt: number;
  history: SandboxOrderEvent[];
}

/** What the sandbox answered. */
export interface SandboxHttpReply {
  httpStatus: number;
  body: string;
}

/** A request that met a fault: what was sent, if anything, and the normal answer it replaced. */
export interface SandboxFaultReply {
  fault: SandboxFaultMode;
  /** What was sent (absent when nothing was); `notify-before-answer` sends it at `answeredAt`. */
  httpStatus?: number;
  body?: string;
  contentType?: string;
  /** The normal answer replaced (`late-commit`: set once checked or booked). */
  withheld?: SandboxHttpReply;
  /** `notify-before-answer` payOut: `Date.now()` when the answer was sent. */
  answeredAt?: number;
}

/** One request the sandbox received. */
export interface SandboxRequestRecord {
  at: number;
  method: string;
  endpoint: string;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
  json: unknown;
  merchantId: string | undefined;
  response: SandboxHttpReply | SandboxFaultReply;
}

/** One webhook delivery attempt. */
export interface SandboxDeliveryRecord {
  at: number;
  /** The delivery chain (one per status change or `notifyAgain`), 1-based. */
  chain: number;
  orderNo: string;
  mchOrderNo: string;
  merchantId: string;
  orderStatus: PayoutStatus;
  attempt: number;
  url: string;
  /** The exact body sent (the same bytes on every attempt of a chain). */
  body: string;
  sign: string;
  httpStatus: number | undefined;
  responseBody: string;
  /** True when the answer body was exactly `SUCCESS`. */
  acknowledged: boolean;
  /** Why there was no answer (connection refused, timeout, sandbox stopped). */
  error?: string;
  durationMs: number;
}

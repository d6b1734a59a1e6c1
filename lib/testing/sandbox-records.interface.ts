import type { PayoutStatus } from '../interfaces/payout-types.interface';
import type { SandboxFaultMode } from './sandbox-options.interface';

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

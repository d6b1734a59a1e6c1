/** Base class of every error this module throws on purpose. */
export class PayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** One broken rule: which field, which rule, and a sentence for people. */
export interface PayoutFieldError {
  field: string;
  rule: string;
  message: string;
}

/** Reports one broken rule. */
export type ReportBroken = (field: string, rule: string, message: string) => void;

/** A list for a check's broken rules, and the function that adds one to it. */
export function brokenRules(): [PayoutFieldError[], ReportBroken] {
  const errors: PayoutFieldError[] = [];
  return [errors, (field, rule, message) => errors.push({ field, rule, message })];
}

/**
 * The input broke one or more rules. Thrown before any network call; `errors` lists every broken
 * rule, not just the first.
 */
export class PayoutValidationError extends PayoutError {
  readonly errors: PayoutFieldError[];

  constructor(errors: PayoutFieldError[]) {
    super(`Invalid payout input: ${errors.map((e) => e.message).join('; ')}`);
    this.errors = errors;
  }
}

/** Cashy answered with an envelope whose `code` is not 200. */
export class CashyApiError extends PayoutError {
  /** Cashy's `code` (for example 500). */
  readonly code: number;
  /** Cashy's symbolic `msg` (for example `Params_bankId_error`). */
  readonly msg: string;

  constructor(code: number, msg: string, endpoint?: string) {
    super(`Cashy${endpoint ? ` ${endpoint}` : ''} answered code ${code}: ${msg}`);
    this.code = code;
    this.msg = msg;
  }
}

/** Why an exchange with the gateway gave no usable answer. */
export type CashyTransportFailure = 'timeout' | 'connection' | 'http-status' | 'unparsable';

/**
 * The gateway could not be reached or gave no usable answer (timeout, reset connection, HTTP 5xx,
 * a body that is not Cashy's envelope). Whether the request took effect is unknown.
 */
export class CashyTransportError extends PayoutError {
  constructor(
    readonly failure: CashyTransportFailure,
    readonly endpoint: string,
    detail: string,
  ) {
    super(`Cashy ${endpoint}: ${failure} (${detail})`);
  }
}

/**
 * The gateway may or may not hold the order: every attempt to create it or look it up ended
 * ambiguously. Never retry under a new `mchOrderNo`: the built-in reconciliation settles this one
 * (with its outcome event, or `payout.not_created`), or call `reconcile({ mchOrderNo })`.
 */
export class PayoutOutcomeUnknownError extends PayoutError {
  readonly mchOrderNo: string;

  constructor(mchOrderNo: string, reason: string) {
    super(
      `Outcome of payout ${mchOrderNo} is unknown (${reason}); it is settled by reconciliation; never send it again under a new mchOrderNo`,
    );
    this.mchOrderNo = mchOrderNo;
  }
}

/**
 * The gateway holds another payout under this `mchOrderNo` (another amount, currency or order), or
 * answered a create with an order that differs from the request. Nothing is sent again: look at
 * `orderNo` (when the gateway gave one) before doing anything, and use a new `mchOrderNo` only for
 * a new payout.
 */
export class PayoutOrderConflictError extends PayoutError {
  readonly mchOrderNo: string;
  /** Cashy's order number of the conflicting order, when known. */
  readonly orderNo: string | undefined;

  constructor(mchOrderNo: string, orderNo: string | undefined, detail: string) {
    super(
      `mchOrderNo ${mchOrderNo} holds another payout${orderNo ? ` (order ${orderNo})` : ''}: ${detail}`,
    );
    this.mchOrderNo = mchOrderNo;
    this.orderNo = orderNo;
  }
}

/** A module option, or the host's wiring, is wrong. Thrown at startup or at the call that needs it. */
export class PayoutConfigurationError extends PayoutError {}

/** The message of anything thrown: an `Error`'s message, else the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The `PayoutStore` failed (for example Redis is unreachable); the webhook answers 503 so Cashy retries. */
export class PayoutStoreError extends PayoutError {
  constructor(operation: string, cause: unknown) {
    super(`PayoutStore ${operation} failed: ${errorMessage(cause)}`);
  }
}

/** Another delivery of the same order is still running its listeners; the webhook answers 503 and Cashy retries. */
export class PayoutBusyError extends PayoutError {}

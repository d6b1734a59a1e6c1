import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';
import { BUSY_MSG, DEFAULT_CASHY_MESSAGE_PATTERNS } from './client/cashy-protocol';
import {
  CashyApiError,
  CashyTransportError,
  PayoutBusyError,
  PayoutConfigurationError,
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutStoreError,
  PayoutValidationError,
} from './payout.errors';

/**
 * The largest notification accepted, in bytes. Cashy's are well under 1 KiB; the same limit on both
 * adapters (Express's parser stops at 100 KiB, Fastify's at 1 MiB) gives one answer, 413.
 */
export const MAX_NOTIFICATION_BYTES = 64 * 1024;

/** Message for hosts that forgot `rawBody: true`. */
export const RAW_BODY_MISSING =
  'PayoutSignatureGuard needs the raw request body: create the app with NestFactory.create(AppModule, { rawBody: true }) ' +
  '(with Fastify: NestFactory.create(AppModule, new FastifyAdapter(), { rawBody: true }))';

/** One HTTP answer the module gives for a failure. */
export interface PayoutHttpAnswerSpec {
  status: number;
  /** What the body says: fixed, or about the error's `mchOrderNo`. Never an error's own text. */
  message: string | ((mchOrderNo: string) => string);
  /** For a 503: seconds in `Retry-After`. */
  retryAfter?: number;
  /** For a webhook answer: the `reason` its diagnostics message gives. */
  reason?: string;
}

const GATEWAY_BUSY = 'the payout gateway is busy; nothing was done, try again later';
const INTERNAL = 'Internal server error';

const ANSWERS = {
  // The PayoutError family (PayoutExceptionFilter); the webhook answers the first three as well.
  invalid: { status: 400, message: 'the input broke one or more rules', reason: 'invalid' },
  busy: {
    status: 503,
    message: 'another delivery of this order is still being processed; try again later',
    retryAfter: 5,
    reason: 'busy',
  },
  store: {
    status: 503,
    message: 'payout state is unavailable; try again later',
    retryAfter: 5,
    reason: 'store',
  },
  'order-conflict': {
    status: 409,
    message: (mchOrderNo: string) =>
      `mchOrderNo ${mchOrderNo} already holds another payout; look that order up, and use a new mchOrderNo only for a new payout`,
  },
  // The caller asks again with the same mchOrderNo (the module looks it up first), never a new one.
  'outcome-unknown': {
    status: 503,
    message: (mchOrderNo: string) =>
      `the outcome of payout ${mchOrderNo} is not known yet; ask again later with the same mchOrderNo, never a new one`,
    retryAfter: 30,
  },
  'gateway-unknown-order': { status: 404, message: 'the payout gateway has no such order' },
  'gateway-duplicate': {
    status: 409,
    message: 'the payout gateway already holds an order with this mchOrderNo',
  },
  // A published Params_* refusal: a value the caller can change.
  'gateway-params': { status: 422, message: 'the payout gateway refused a field of the request' },
  'gateway-busy': { status: 503, message: GATEWAY_BUSY, retryAfter: 5 },
  'gateway-maintenance': { status: 503, message: GATEWAY_BUSY, retryAfter: 60 },
  // MerchantId_*, Request* and Sign_verify_error are this server's setup; System_error and the
  // rest, the gateway's failure: neither is the caller's to fix.
  'gateway-refused': { status: 502, message: 'the payout gateway refused the request' },
  'gateway-timeout': { status: 504, message: 'the payout gateway did not answer in time' },
  'gateway-unusable': { status: 502, message: 'the payout gateway gave no usable answer' },
  // Its text names options and accounts, which are the server's business.
  configuration: { status: 500, message: INTERNAL },
  internal: { status: 500, message: INTERNAL },
  // The webhook's own refusals: the guard's, the body parser's and the controller's.
  'content-type': {
    status: 415,
    message: 'Content-Type must be application/json (UTF-8)',
    reason: 'content-type',
  },
  'too-large': {
    status: 413,
    message: `a notification may be at most ${MAX_NOTIFICATION_BYTES} bytes`,
    reason: 'too-large',
  },
  'raw-body': { status: 500, message: RAW_BODY_MISSING, reason: 'raw-body' },
  'sign-mismatch': { status: 401, message: 'Sign does not match the body', reason: 'signature' },
  'sign-missing': { status: 401, message: 'Sign header is missing', reason: 'signature' },
  'merchant-missing': { status: 401, message: 'MerchantId header is missing', reason: 'merchant' },
  'merchant-unknown': {
    status: 401,
    message: 'MerchantId is not a configured account',
    reason: 'merchant',
  },
  'listener-failed': {
    status: 500,
    message: 'a payout listener failed; the notification will be retried',
    reason: 'listener-failed',
  },
} satisfies Record<string, PayoutHttpAnswerSpec>;

/** A kind of failure the module answers over HTTP. */
export type PayoutFailureKind = keyof typeof ANSWERS;

/**
 * Every HTTP answer the module gives for a failure, by kind: status, message, `Retry-After` and
 * diagnostics reason. `PayoutExceptionFilter`, the webhook's guard, controller and body handler
 * all answer from it.
 */
export const PAYOUT_HTTP_ANSWERS: Readonly<Record<PayoutFailureKind, PayoutHttpAnswerSpec>> =
  ANSWERS;

/** What the body of a kind's answer says. */
export function answerText(kind: PayoutFailureKind, mchOrderNo = ''): string {
  const { message } = PAYOUT_HTTP_ANSWERS[kind];
  return typeof message === 'string' ? message : message(mchOrderNo);
}

/** Published rejections of what the caller sent: the caller can correct the request. */
const PARAMS_MSG = /^Params_\w+$/;

/** The kind of a gateway refusal, by its `msg` (the order wording by the module's default patterns). */
function gatewayKind(msg: string): PayoutFailureKind {
  if (DEFAULT_CASHY_MESSAGE_PATTERNS.orderNotFound.test(msg)) return 'gateway-unknown-order';
  if (DEFAULT_CASHY_MESSAGE_PATTERNS.duplicateOrder.test(msg)) return 'gateway-duplicate';
  if (msg === 'System_Maintenance') return 'gateway-maintenance';
  if (BUSY_MSG.test(msg)) return 'gateway-busy';
  if (PARAMS_MSG.test(msg)) return 'gateway-params';
  return 'gateway-refused';
}

/** The kind of an error: by its class (the most specific wins), a gateway refusal by its `msg`. */
export function payoutErrorKind(error: unknown): PayoutFailureKind {
  if (error instanceof PayoutValidationError) return 'invalid';
  if (error instanceof PayoutOrderConflictError) return 'order-conflict';
  if (error instanceof CashyApiError) return gatewayKind(error.msg);
  if (error instanceof PayoutOutcomeUnknownError) return 'outcome-unknown';
  if (error instanceof PayoutConfigurationError) return 'configuration';
  if (error instanceof PayoutStoreError) return 'store';
  if (error instanceof PayoutBusyError) return 'busy';
  if (error instanceof CashyTransportError)
    return error.failure === 'timeout' ? 'gateway-timeout' : 'gateway-unusable';
  return 'internal';
}

/** The first kind of `kinds` answered with `status`, if any. */
export function kindOfStatus(
  status: number,
  kinds: readonly PayoutFailureKind[],
): PayoutFailureKind | undefined {
  return kinds.find((kind) => PAYOUT_HTTP_ANSWERS[kind].status === status);
}

/** Nest's body of an HTTP error: `{ statusCode, error, message }`, `error` the status's reason phrase. */
export function errorBody(status: number, message: string | string[]) {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
}

/** The kinds a webhook refuses with, in the order a bare status is read back to one. */
const WEBHOOK_KINDS: readonly PayoutFailureKind[] = Object.entries(ANSWERS)
  .filter(([, answer]) => 'reason' in answer)
  .map(([kind]) => kind as PayoutFailureKind);

/** A webhook's diagnostics reason: a refusal's own; another exception (a guard subclass's) by status. */
export function webhookReason(error: HttpException): string {
  if (error instanceof PayoutWebhookRefusal) return error.reason;
  const kind = kindOfStatus(error.getStatus(), WEBHOOK_KINDS) ?? 'invalid';
  return PAYOUT_HTTP_ANSWERS[kind].reason!;
}

/**
 * A webhook's refusal: the HTTP exception Nest answers with, from the table, carrying its kind so
 * that diagnostics need not read its text.
 */
export class PayoutWebhookRefusal extends HttpException {
  constructor(
    readonly kind: PayoutFailureKind,
    message: string | string[] = answerText(kind),
  ) {
    const { status } = PAYOUT_HTTP_ANSWERS[kind];
    super(errorBody(status, message), status);
  }

  /** The `reason` of this refusal's diagnostics message. */
  get reason(): string {
    return PAYOUT_HTTP_ANSWERS[this.kind].reason ?? this.kind;
  }
}

import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpStatus,
  Logger,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PayoutError } from './payout.errors';
import type {
  CashyTransportError,
  CashyApiError,
  PayoutBusyError,
  PayoutConfigurationError,
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutStoreError,
  PayoutValidationError,
} from './payout.errors';
import {
  answerText,
  errorBody,
  kindOfStatus,
  PAYOUT_HTTP_ANSWERS,
  type PayoutFailureKind,
  payoutErrorKind,
} from './payout-http.answers';

/** The JSON body `PayoutExceptionFilter` answers with: Nest's usual three fields, and more per error. */
export interface PayoutHttpErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  [field: string]: unknown;
}

/** One HTTP answer: status, extra headers (such as `Retry-After`) and the JSON body. */
export interface PayoutHttpAnswer {
  status: number;
  headers?: Record<string, string>;
  body: PayoutHttpErrorBody;
}

/** What a reply looks like on both adapters when no `HttpAdapterHost` was injected. */
interface NeutralReply {
  status?(code: number): unknown;
  code?(code: number): unknown;
  header(name: string, value: string): unknown;
  send(body: unknown): unknown;
  headersSent?: boolean;
  sent?: boolean;
}

/** The kinds of a gateway's refusal, in the order its status is read back to one. */
const GATEWAY_KINDS: readonly PayoutFailureKind[] = [
  'gateway-unknown-order',
  'gateway-duplicate',
  'gateway-params',
  'gateway-busy',
  'gateway-refused',
];

/**
 * Maps the `PayoutError` family to HTTP answers (`PAYOUT_HTTP_ANSWERS`), on Express and Fastify; see
 * docs/errors.md. A 5xx body never carries an error's own text (it may name hosts, stores or
 * options): that is logged instead. Every mapping is a protected method a subclass can change.
 */
@Catch(PayoutError)
export class PayoutExceptionFilter implements ExceptionFilter<PayoutError> {
  protected readonly logger = new Logger('PayoutExceptionFilter');

  constructor(@Optional() protected readonly adapterHost?: HttpAdapterHost) {}

  /** Answers the request with `toHttpAnswer(error)`. Outside HTTP it rethrows: there is nothing to map to. */
  catch(error: PayoutError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const answer = this.toHttpAnswer(error);
    this.log(error, answer);
    this.send(host, answer);
  }

  /** Picks the mapping for `error`'s kind (`payoutErrorKind`: by class, the most specific wins). */
  protected toHttpAnswer(error: PayoutError): PayoutHttpAnswer {
    switch (payoutErrorKind(error)) {
      case 'invalid':
        return this.forValidation(error as PayoutValidationError);
      case 'order-conflict':
        return this.forOrderConflict(error as PayoutOrderConflictError);
      case 'outcome-unknown':
        return this.forOutcomeUnknown(error as PayoutOutcomeUnknownError);
      case 'configuration':
        return this.forConfiguration(error);
      case 'store':
        return this.forStore(error);
      case 'busy':
        return this.forBusy(error);
      case 'gateway-timeout':
      case 'gateway-unusable':
        return this.forTransport(error as CashyTransportError);
      case 'internal':
        return this.forOther(error);
      default:
        return this.forCashyApi(error as CashyApiError);
    }
  }

  /** 400 with every broken rule, in the shape of Nest's `ValidationPipe` plus `errors`. */
  protected forValidation(error: PayoutValidationError): PayoutHttpAnswer {
    const errors = error.errors.map(({ field, rule, message }) => ({ field, rule, message }));
    const messages = errors.map((e) => e.message);
    return this.answer(PAYOUT_HTTP_ANSWERS.invalid.status, messages, { errors });
  }

  /** 409: this `mchOrderNo` holds another payout; `orderNo` is the gateway's order when known. */
  protected forOrderConflict(error: PayoutOrderConflictError): PayoutHttpAnswer {
    return this.fromTable('order-conflict', error, {
      mchOrderNo: error.mchOrderNo,
      orderNo: error.orderNo ?? null,
    });
  }

  /** The gateway's own answer, with its `code` and `msg`, at `cashyApiStatus`; a 503 with `Retry-After`. */
  protected forCashyApi(error: CashyApiError): PayoutHttpAnswer {
    const status = this.cashyApiStatus(error);
    const kind = kindOfStatus(status, GATEWAY_KINDS) ?? 'gateway-refused';
    return this.fromTable(kind, error, { code: error.code, msg: error.msg }, status);
  }

  /**
   * The status of a gateway answer, from `PAYOUT_HTTP_ANSWERS`. The order wording uses the module's
   * default patterns; override this if you set `gatewayMessages`.
   */
  protected cashyApiStatus(error: CashyApiError): HttpStatus {
    return PAYOUT_HTTP_ANSWERS[payoutErrorKind(error)].status;
  }

  /** 503 with `Retry-After`: the gateway may or may not hold the order. */
  protected forOutcomeUnknown(error: PayoutOutcomeUnknownError): PayoutHttpAnswer {
    return this.fromTable('outcome-unknown', error, { mchOrderNo: error.mchOrderNo });
  }

  /** 500 with a generic message: the text names options and accounts, which are the server's business. */
  protected forConfiguration(error: PayoutConfigurationError): PayoutHttpAnswer {
    return this.fromTable('configuration', error);
  }

  /** 503 with `Retry-After`: the payout store (Redis, a database) is unreachable for now. */
  protected forStore(error: PayoutStoreError): PayoutHttpAnswer {
    return this.fromTable('store', error);
  }

  /** 503 with `Retry-After`: another delivery of the same order is still running its listeners. */
  protected forBusy(error: PayoutBusyError): PayoutHttpAnswer {
    return this.fromTable('busy', error);
  }

  /** 504 when the gateway did not answer in time, 502 when it answered with nothing usable. */
  protected forTransport(error: CashyTransportError): PayoutHttpAnswer {
    return this.fromTable(payoutErrorKind(error), error);
  }

  /** 500 for any other member of the family (including ones added later). */
  protected forOther(error: PayoutError): PayoutHttpAnswer {
    return this.fromTable('internal', error);
  }

  /** Seconds in `Retry-After` for a 503, from `PAYOUT_HTTP_ANSWERS`. */
  protected retryAfterSeconds(error: PayoutError): number {
    return PAYOUT_HTTP_ANSWERS[payoutErrorKind(error)].retryAfter ?? 5;
  }

  /** Logs what the body leaves out: 5xx with the full error (whose text never holds an apiKey), 4xx at debug. */
  protected log(error: PayoutError, answer: PayoutHttpAnswer): void {
    if (answer.status >= 500)
      this.logger.error(`${answer.status} ${error.name}: ${error.message}`, error.stack);
    else this.logger.debug(`${answer.status} ${error.name}: ${error.message}`);
  }

  /** Writes the answer through the HTTP adapter, or through the reply object both adapters share. */
  protected send(host: ArgumentsHost, answer: PayoutHttpAnswer): void {
    const response = host.switchToHttp().getResponse<NeutralReply>();
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) {
      if (adapter.isHeadersSent(response)) return;
      for (const [name, value] of Object.entries(answer.headers ?? {}))
        adapter.setHeader(response, name, value);
      adapter.reply(response, answer.body, answer.status);
      return;
    }
    // Express's `res` and Fastify's `reply` both have header() and send(); the status setter differs.
    if (response.headersSent || response.sent) return;
    if (typeof response.code === 'function') response.code(answer.status);
    else response.status?.(answer.status);
    for (const [name, value] of Object.entries(answer.headers ?? {})) response.header(name, value);
    response.header('Content-Type', 'application/json; charset=utf-8');
    response.send(JSON.stringify(answer.body));
  }

  /** `{ statusCode, error, message, ...extra }` with the status's reason phrase as `error`. */
  protected answer(
    status: number,
    message: string | string[],
    extra: Record<string, unknown> = {},
  ): PayoutHttpAnswer {
    return { status, body: { ...errorBody(status, message), ...extra } };
  }

  /** The table's answer for `kind` (at `status` when given), with `Retry-After` when the table gives one. */
  private fromTable(
    kind: PayoutFailureKind,
    error: PayoutError,
    extra: Record<string, unknown> = {},
    status = PAYOUT_HTTP_ANSWERS[kind].status,
  ): PayoutHttpAnswer {
    const { retryAfter } = PAYOUT_HTTP_ANSWERS[kind];
    // The conflict and unknown-outcome answers name the order the error is about.
    const { mchOrderNo } = error as Partial<PayoutOutcomeUnknownError>;
    const answer = this.answer(status, answerText(kind, mchOrderNo), extra);
    return retryAfter === undefined
      ? answer
      : this.withRetryAfter(answer, this.retryAfterSeconds(error));
  }

  /** Adds `Retry-After: seconds` to an answer. */
  protected withRetryAfter(answer: PayoutHttpAnswer, seconds: number): PayoutHttpAnswer {
    return { ...answer, headers: { ...answer.headers, 'Retry-After': String(seconds) } };
  }
}

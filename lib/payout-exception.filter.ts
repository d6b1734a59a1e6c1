import { STATUS_CODES } from 'node:http';
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpStatus,
  Logger,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  BUSY_MSG,
  DEFAULT_CASHY_MESSAGE_PATTERNS,
} from './client/cashy-protocol';
import {
  CashyTransportError,
  CashyApiError,
  PayoutConfigurationError,
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutStoreError,
  PayoutValidationError,
  PayoutError,
} from './payout.errors';

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

/** Published rejections of what the caller sent: the caller can correct the request. */
const PARAMS_MSG = /^Params_\w+$/;

/**
 * Maps the `PayoutError` family to HTTP answers, on Express and Fastify. Register it like any filter
 * (`{ provide: APP_FILTER, useClass: PayoutExceptionFilter }`, `@UseFilters(PayoutExceptionFilter)`, or
 * `app.useGlobalFilters(new PayoutExceptionFilter(app.get(HttpAdapterHost)))`).
 *
 * Bodies never carry an error's internal text for 5xx answers (it may name hosts, stores or options),
 * only fixed sentences and the fields the table in the README lists; the full error is logged
 * instead. Every mapping is a protected method, so a host can extend the class and change one.
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

  /** Picks the mapping for `error`'s class; the most specific class wins. */
  protected toHttpAnswer(error: PayoutError): PayoutHttpAnswer {
    if (error instanceof PayoutValidationError)
      return this.forValidation(error);
    if (error instanceof PayoutOrderConflictError)
      return this.forOrderConflict(error);
    if (error instanceof CashyApiError) return this.forCashyApi(error);
    if (error instanceof PayoutOutcomeUnknownError)
      return this.forOutcomeUnknown(error);
    if (error instanceof PayoutConfigurationError)
      return this.forConfiguration(error);
    if (error instanceof PayoutStoreError) return this.forStore(error);
    if (error instanceof CashyTransportError) return this.forTransport(error);
    return this.forOther(error);
  }

  /** 400 with every broken rule, in the shape of Nest's `ValidationPipe` plus `errors`. */
  protected forValidation(error: PayoutValidationError): PayoutHttpAnswer {
    const errors = error.errors.map(({ field, rule, message }) => ({
      field,
      rule,
      message,
    }));
    return this.answer(
      HttpStatus.BAD_REQUEST,
      errors.map((e) => e.message),
      { errors },
    );
  }

  /** 409: this `mchOrderNo` holds another payout; `orderNo` is the gateway's order when known. */
  protected forOrderConflict(
    error: PayoutOrderConflictError,
  ): PayoutHttpAnswer {
    return this.answer(
      HttpStatus.CONFLICT,
      `mchOrderNo ${error.mchOrderNo} already holds another payout; look that order up, and use a new mchOrderNo only for a new payout`,
      { mchOrderNo: error.mchOrderNo, orderNo: error.orderNo ?? null },
    );
  }

  /**
   * The gateway's own answer, with its `code` and `msg`. The status says who can act on it
   * (`cashyApiStatus`); `Retry-After` comes with a 503.
   */
  protected forCashyApi(error: CashyApiError): PayoutHttpAnswer {
    const status = this.cashyApiStatus(error);
    const message =
      status === HttpStatus.NOT_FOUND
        ? 'the payout gateway has no such order'
        : status === HttpStatus.CONFLICT
          ? 'the payout gateway already holds an order with this mchOrderNo'
          : status === HttpStatus.UNPROCESSABLE_ENTITY
            ? 'the payout gateway refused a field of the request'
            : status === HttpStatus.SERVICE_UNAVAILABLE
              ? 'the payout gateway is busy; nothing was done, try again later'
              : 'the payout gateway refused the request';
    const answer = this.answer(status, message, {
      code: error.code,
      msg: error.msg,
    });
    return status === HttpStatus.SERVICE_UNAVAILABLE
      ? this.withRetryAfter(answer, this.retryAfterSeconds(error))
      : answer;
  }

  /**
   * The status of a gateway answer:
   * - 404 for the unknown-order answer (a query for an order the gateway does not have);
   * - 409 for a duplicate-order answer;
   * - 422 for the other published `Params_*` rejections: the request was well-formed for this
   *   module but the gateway refused a value, which the caller can change;
   * - 503 for `System_busy` / `System_Maintenance`: nothing was done, ask again later;
   * - 502 for everything else: `MerchantId_*`, `Request*` (IP allow-list, method) and
   *   `Sign_verify_error` are this server's configuration, which the caller cannot fix, and
   *   `System_error` or an unknown code is the gateway's failure.
   * The order wording uses the module's default patterns; override this if you set `gatewayMessages`.
   */
  protected cashyApiStatus(error: CashyApiError): HttpStatus {
    if (DEFAULT_CASHY_MESSAGE_PATTERNS.orderNotFound.test(error.msg))
      return HttpStatus.NOT_FOUND;
    if (DEFAULT_CASHY_MESSAGE_PATTERNS.duplicateOrder.test(error.msg))
      return HttpStatus.CONFLICT;
    if (BUSY_MSG.test(error.msg)) return HttpStatus.SERVICE_UNAVAILABLE;
    if (PARAMS_MSG.test(error.msg)) return HttpStatus.UNPROCESSABLE_ENTITY;
    return HttpStatus.BAD_GATEWAY;
  }

  /**
   * 503 with `Retry-After`: the gateway may or may not hold the order. The caller asks again with
   * the same `mchOrderNo` (the module looks it up before it sends anything), never with a new one.
   */
  protected forOutcomeUnknown(
    error: PayoutOutcomeUnknownError,
  ): PayoutHttpAnswer {
    const answer = this.answer(
      HttpStatus.SERVICE_UNAVAILABLE,
      `the outcome of payout ${error.mchOrderNo} is not known yet; ask again later with the same mchOrderNo, never a new one`,
      { mchOrderNo: error.mchOrderNo },
    );
    return this.withRetryAfter(answer, this.retryAfterSeconds(error));
  }

  /** 500 with a generic message: the text names options and accounts, which are the server's business. */
  protected forConfiguration(
    _error: PayoutConfigurationError,
  ): PayoutHttpAnswer {
    return this.answer(
      HttpStatus.INTERNAL_SERVER_ERROR,
      'Internal server error',
    );
  }

  /** 503 with `Retry-After`: the payout store (Redis, a database) is unreachable for now. */
  protected forStore(error: PayoutStoreError): PayoutHttpAnswer {
    return this.withRetryAfter(
      this.answer(
        HttpStatus.SERVICE_UNAVAILABLE,
        'payout state is temporarily unavailable; try again later',
      ),
      this.retryAfterSeconds(error),
    );
  }

  /** 504 when the gateway did not answer in time, 502 when it answered with nothing usable. */
  protected forTransport(error: CashyTransportError): PayoutHttpAnswer {
    return error.failure === 'timeout'
      ? this.answer(
          HttpStatus.GATEWAY_TIMEOUT,
          'the payout gateway did not answer in time',
        )
      : this.answer(
          HttpStatus.BAD_GATEWAY,
          'the payout gateway gave no usable answer',
        );
  }

  /** 500 for any other member of the family (including ones added later). */
  protected forOther(_error: PayoutError): PayoutHttpAnswer {
    return this.answer(
      HttpStatus.INTERNAL_SERVER_ERROR,
      'Internal server error',
    );
  }

  /**
   * Seconds in `Retry-After` for a 503: 5 for a busy gateway or store, 60 for gateway maintenance,
   * 30 for an unknown outcome (long enough for the order to show up in a lookup).
   */
  protected retryAfterSeconds(error: PayoutError): number {
    if (error instanceof CashyApiError && error.msg === 'System_Maintenance')
      return 60;
    if (error instanceof PayoutOutcomeUnknownError) return 30;
    return 5;
  }

  /** Logs what the body leaves out: 5xx with the full error (whose text never holds an apiKey), 4xx at debug. */
  protected log(error: PayoutError, answer: PayoutHttpAnswer): void {
    if (answer.status >= 500)
      this.logger.error(
        `${answer.status} ${error.name}: ${error.message}`,
        error.stack,
      );
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
    for (const [name, value] of Object.entries(answer.headers ?? {}))
      response.header(name, value);
    response.header('Content-Type', 'application/json; charset=utf-8');
    response.send(JSON.stringify(answer.body));
  }

  /** `{ statusCode, error, message, ...extra }` with the status's reason phrase as `error`. */
  protected answer(
    status: number,
    message: string | string[],
    extra: Record<string, unknown> = {},
  ): PayoutHttpAnswer {
    return {
      status,
      body: {
        statusCode: status,
        error: STATUS_CODES[status] ?? 'Error',
        message,
        ...extra,
      },
    };
  }

  /** Adds `Retry-After: seconds` to an answer. */
  protected withRetryAfter(
    answer: PayoutHttpAnswer,
    seconds: number,
  ): PayoutHttpAnswer {
    return {
      ...answer,
      headers: { ...answer.headers, 'Retry-After': String(seconds) },
    };
  }
}

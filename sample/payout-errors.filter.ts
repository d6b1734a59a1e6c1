import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { CashyApiError, PayoutConfigurationError, PayoutError, PayoutOutcomeUnknownError, PayoutValidationError } from 'nestjs-cashy-payout';

/** Maps the module's errors to HTTP answers for the sample's routes. */
@Catch(PayoutError)
export class PayoutErrorsFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: PayoutError, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse();
    const [status, body] = this.describe(error);
    httpAdapter.reply(response, { statusCode: status, ...body }, status);
  }

  private describe(error: PayoutError): [number, Record<string, unknown>] {
    if (error instanceof PayoutValidationError) return [HttpStatus.BAD_REQUEST, { error: 'Bad Request', message: error.errors.map((e) => e.message), errors: error.errors }];
    if (error instanceof PayoutConfigurationError) return [HttpStatus.BAD_REQUEST, { error: 'Bad Request', message: [error.message] }];
    if (error instanceof CashyApiError) return [HttpStatus.BAD_GATEWAY, { error: 'Cashy rejected the request', code: error.code, msg: error.msg }];
    if (error instanceof PayoutOutcomeUnknownError) {
      return [HttpStatus.GATEWAY_TIMEOUT, { error: 'Outcome unknown', mchOrderNo: error.mchOrderNo, message: error.message }];
    }
    return [HttpStatus.BAD_GATEWAY, { error: error.name, message: error.message }];
  }
}

import {
  BadRequestException,
  Controller,
  HttpCode,
  Inject,
  InternalServerErrorException,
  Logger,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  SetMetadata,
  type Type,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { payoutDiagnostics } from '../payout.diagnostics';
import {
  PayoutBusyError,
  PayoutStoreError,
  PayoutValidationError,
} from '../payout.errors';
import type { PayoutReportResult } from '../outcome/payout-status-report.interface';
import { PayoutService } from '../payout.service';
import {
  firstHeaderValue,
  PayoutSignatureGuard,
  type PayoutWebhookRequest,
} from './payout-signature.guard';

/** Cashy stops retrying only on this exact body. */
export const CASHY_ACK = 'SUCCESS';

/** A reply on Express or Fastify: both have `header(name, value)`. */
interface HeaderSettable {
  header(name: string, value: string): unknown;
}

/**
 * Receives Cashy's payout notifications. Mounted by `PayoutModule` at `webhook.path` through
 * `createPayoutWebhookController`; it is not decorated with `@Controller` itself so that every
 * registration gets its own route without touching shared metadata.
 */
export class PayoutWebhookController {
  private readonly logger = new Logger('PayoutWebhook');

  constructor(@Inject(PayoutService) private readonly payouts: PayoutService) {}

  /**
   * 200 `SUCCESS` once recorded and every listener succeeded; 400 for a malformed notification;
   * 500 when a listener failed; 503 while a duplicate delivery holds the order or the store is down
   * (Cashy retries all three).
   */
  @Post()
  @HttpCode(200)
  @UseGuards(PayoutSignatureGuard)
  async receive(
    // The request rather than @Body(): no host pipe (a global ValidationPipe) touches Cashy's body.
    @Req() request: PayoutWebhookRequest & { body?: unknown },
    @Res({ passthrough: true }) reply: HeaderSettable,
  ): Promise<string> {
    const started = Date.now();
    const body = request.body as Record<string, unknown> | undefined;
    const orderNo =
      typeof body?.orderNo === 'string' ? body.orderNo : undefined;
    // The guard hands on the account whose key verified the bytes; without it (guard switched off), refuse.
    const merchantId =
      request.payoutAccount?.merchantId ??
      firstHeaderValue(request, 'merchantid');
    const answered = (
      status: number,
      reason: string,
      result?: PayoutReportResult,
    ) =>
      payoutDiagnostics.webhook(() => ({
        status,
        reason,
        merchantId,
        orderNo,
        ...(result ? { result } : {}),
        durationMs: Date.now() - started,
      }));
    if (merchantId === undefined) {
      answered(401, 'merchant');
      throw new UnauthorizedException('MerchantId header is missing');
    }
    let result: PayoutReportResult;
    try {
      result = await this.payouts.handleNotification(body, merchantId);
    } catch (error) {
      if (error instanceof PayoutValidationError) {
        answered(400, 'invalid');
        throw new BadRequestException({
          statusCode: 400,
          error: 'Bad Request',
          message: error.errors.map((e) => e.message),
        });
      }
      if (error instanceof PayoutBusyError) {
        answered(503, 'busy');
        throw new ServiceUnavailableException(error.message);
      }
      if (error instanceof PayoutStoreError) {
        answered(503, 'store');
        this.logger.error(error.message);
        throw new ServiceUnavailableException(
          'payout state is unavailable; the notification will be retried',
        );
      }
      answered(500, 'listener-failed');
      this.logger.error(
        `order ${orderNo ?? '?'}: a payout listener failed, answering 500 so Cashy retries`,
        (error as Error)?.stack,
      );
      throw new InternalServerErrorException(
        'a payout listener failed; the notification will be retried',
      );
    }
    answered(200, 'acknowledged', result);
    reply.header('Content-Type', 'text/plain; charset=utf-8');
    return CASHY_ACK;
  }
}

/**
 * The key `@ApiExcludeController()` of `@nestjs/swagger` sets (value `[true]`): Cashy's callback is no
 * route for the host's API clients, so it stays out of the host's OpenAPI document. Set by hand so
 * that lib/ never imports `@nestjs/swagger`.
 */
const SWAGGER_EXCLUDE_CONTROLLER = 'swagger/apiExcludeController';

/** A webhook controller class of its own, mounted at `path`. */
export function createPayoutWebhookController(
  path: string,
): Type<PayoutWebhookController> {
  @Controller(path)
  @SetMetadata(SWAGGER_EXCLUDE_CONTROLLER, [true])
  class PayoutWebhookRoute extends PayoutWebhookController {}
  return PayoutWebhookRoute;
}

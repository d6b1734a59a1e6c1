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
  type Type,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { PayoutStoreError } from '../errors/payout-store.error';
import { PayoutValidationError } from '../errors/payout-validation.error';
import { PayoutBusyError } from '../outcome/payout-outcome.processor';
import { PayoutService } from '../payout.service';
import { firstHeaderValue, PayoutSignatureGuard, type PayoutWebhookRequest } from './payout-signature.guard';

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
    const body = request.body as Record<string, unknown> | undefined;
    // The guard has checked it already; this holds only if a test switched the guard off.
    const merchantId = firstHeaderValue(request, 'merchantid');
    if (merchantId === undefined) throw new UnauthorizedException('MerchantId header is missing');
    try {
      await this.payouts.handleNotification(body, merchantId);
    } catch (error) {
      if (error instanceof PayoutValidationError) {
        throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: error.errors.map((e) => e.message) });
      }
      if (error instanceof PayoutBusyError) throw new ServiceUnavailableException(error.message);
      if (error instanceof PayoutStoreError) {
        this.logger.error(error.message);
        throw new ServiceUnavailableException('payout state is unavailable; the notification will be retried');
      }
      const order = typeof body?.orderNo === 'string' ? body.orderNo : '?';
      this.logger.error(`order ${order}: a payout listener failed, answering 500 so Cashy retries`, (error as Error)?.stack);
      throw new InternalServerErrorException('a payout listener failed; the notification will be retried');
    }
    reply.header('Content-Type', 'text/plain; charset=utf-8');
    return CASHY_ACK;
  }
}

/** A webhook controller class of its own, mounted at `path`. */
export function createPayoutWebhookController(path: string): Type<PayoutWebhookController> {
  @Controller(path)
  class PayoutWebhookRoute extends PayoutWebhookController {}
  return PayoutWebhookRoute;
}

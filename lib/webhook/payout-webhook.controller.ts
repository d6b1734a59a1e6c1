import {
  Controller,
  HttpCode,
  Inject,
  Logger,
  Post,
  Req,
  Res,
  SetMetadata,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { CASHY_ACK } from '../client/cashy-protocol';
import { payoutDiagnostics } from '../payout.diagnostics';
import { PayoutValidationError } from '../payout.errors';
import { PAYOUT_HTTP_ANSWERS, payoutErrorKind, PayoutWebhookRefusal } from '../payout-http.answers';
import type { PayoutReportResult } from '../outcome/payout-status-report.interface';
import { PayoutService } from '../payout.service';
import {
  firstHeaderValue,
  PayoutSignatureGuard,
  type PayoutWebhookRequest,
} from './payout-signature.guard';

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
    const orderNo = typeof body?.orderNo === 'string' ? body.orderNo : undefined;
    // The guard hands on the account whose key verified the bytes; without it (guard switched off), refuse.
    const merchantId = request.payoutAccount?.merchantId ?? firstHeaderValue(request, 'merchantid');
    const answered = (status: number, reason: string, result?: PayoutReportResult) =>
      payoutDiagnostics.webhook(() => ({
        status,
        reason,
        merchantId,
        orderNo,
        ...(result ? { result } : {}),
        durationMs: Date.now() - started,
      }));
    const refuse = (refusal: PayoutWebhookRefusal) => {
      answered(refusal.getStatus(), refusal.reason);
      return refusal;
    };
    if (merchantId === undefined) throw refuse(new PayoutWebhookRefusal('merchant-missing'));
    let result: PayoutReportResult;
    try {
      result = await this.payouts.handleNotification(body, merchantId);
    } catch (error) {
      throw refuse(this.refusalFor(error, orderNo));
    }
    answered(200, 'acknowledged', result);
    reply.header('Content-Type', 'text/plain; charset=utf-8');
    return CASHY_ACK;
  }

  /** The answer to a notification whose processing failed, logged when it is the server's failure. */
  private refusalFor(error: unknown, orderNo: string | undefined): PayoutWebhookRefusal {
    const kind = payoutErrorKind(error);
    if (kind === 'invalid')
      return new PayoutWebhookRefusal(
        kind,
        (error as PayoutValidationError).errors.map((e) => e.message),
      );
    if (kind === 'store') this.logger.error((error as Error).message);
    if (kind === 'store' || kind === 'busy') return new PayoutWebhookRefusal(kind);
    // Anything else is a listener's failure.
    this.logger.error(
      `order ${orderNo ?? '?'}: a payout listener failed, answering ${PAYOUT_HTTP_ANSWERS['listener-failed'].status} so Cashy retries`,
      (error as Error)?.stack,
    );
    return new PayoutWebhookRefusal('listener-failed');
  }
}

/**
 * The key `@ApiExcludeController()` of `@nestjs/swagger` sets (value `[true]`): Cashy's callback is no
 * route for the host's API clients, so it stays out of the host's OpenAPI document. Set by hand so
 * that lib/ never imports `@nestjs/swagger`.
 */
const SWAGGER_EXCLUDE_CONTROLLER = 'swagger/apiExcludeController';

/** A webhook controller class of its own, mounted at `path`. */
export function createPayoutWebhookController(path: string): Type<PayoutWebhookController> {
  @Controller(path)
  @SetMetadata(SWAGGER_EXCLUDE_CONTROLLER, [true])
  class PayoutWebhookRoute extends PayoutWebhookController {}
  return PayoutWebhookRoute;
}

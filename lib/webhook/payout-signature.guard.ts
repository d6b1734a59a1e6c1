import {
  BadRequestException,
  type CanActivate,
  type ExecutionContext,
  Injectable,
  InternalServerErrorException,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import type { CashyAccount } from '../options/cashy-account';
import { PayoutConfig } from '../options/payout-config';

/** The parts of an Express or Fastify request the guard reads. */
export interface PayoutWebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody?: Buffer | string;
}

/** A header's value (`name` in lower case), trimmed; the first one when repeated; `undefined` when blank. */
export function firstHeaderValue(request: PayoutWebhookRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.trim();
  return trimmed ? trimmed : undefined;
}

/** Message for hosts that forgot `rawBody: true`. */
export const RAW_BODY_MISSING =
  'PayoutSignatureGuard needs the raw request body: create the app with NestFactory.create(AppModule, { rawBody: true }) ' +
  '(with Fastify: NestFactory.create(AppModule, new FastifyAdapter(), { rawBody: true }))';

/**
 * Verifies Cashy's `MerchantId` and `Sign` headers over the exact bytes received:
 * `MD5(raw body + apiKey)`, compared in constant time, either hex case. Rejects with 401 and a
 * reason; fails closed (500) when the app was not created with `rawBody: true`.
 *
 * Use it on your own route with `@UseGuards(PayoutSignatureGuard)` (import `PayoutModule` in that
 * module), or extend it and override the protected methods.
 */
@Injectable()
export class PayoutSignatureGuard implements CanActivate {
  protected readonly logger = new Logger('PayoutSignatureGuard');

  constructor(protected readonly config: PayoutConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<PayoutWebhookRequest>();
    const rawBody = this.getRawBody(request);
    if (rawBody === undefined) {
      const contentType = this.getHeader(request, 'content-type') ?? '';
      if (!/json/i.test(contentType)) throw new BadRequestException('Content-Type must be application/json');
      this.logger.error(RAW_BODY_MISSING);
      throw new InternalServerErrorException(RAW_BODY_MISSING);
    }
    const merchantId = this.getHeader(request, 'merchantid');
    if (!merchantId) throw new UnauthorizedException('MerchantId header is missing');
    const account = this.findAccount(merchantId);
    if (!account) throw new UnauthorizedException('MerchantId is not a configured account');
    const sign = this.getHeader(request, 'sign');
    if (!sign) throw new UnauthorizedException('Sign header is missing');
    if (!this.verifySignature(rawBody, sign, account)) throw new UnauthorizedException('Sign does not match the body');
    return true;
  }

  /** The bytes as received; `undefined` when the app keeps no raw body. */
  protected getRawBody(request: PayoutWebhookRequest): Buffer | undefined {
    const raw = request.rawBody;
    if (Buffer.isBuffer(raw)) return raw;
    return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : undefined;
  }

  /** A header's value (`name` in lower case); the first one when repeated. */
  protected getHeader(request: PayoutWebhookRequest, name: string): string | undefined {
    return firstHeaderValue(request, name);
  }

  /** The configured account a `MerchantId` header names. */
  protected findAccount(merchantId: string): CashyAccount | undefined {
    return this.config.accountByMerchantId(merchantId);
  }

  /** Constant-time comparison of `Sign` with `MD5(rawBody + apiKey)`. */
  protected verifySignature(rawBody: Buffer, sign: string, account: CashyAccount): boolean {
    return account.verify(rawBody, sign);
  }
}

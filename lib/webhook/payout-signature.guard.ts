import {
  type CanActivate,
  type ExecutionContext,
  HttpException,
  Injectable,
  Logger,
} from '@nestjs/common';
import { payoutDiagnostics } from '../payout.diagnostics';
import {
  MAX_NOTIFICATION_BYTES,
  PayoutWebhookRefusal,
  RAW_BODY_MISSING,
  webhookReason,
} from '../payout-http.answers';
import type { CashyAccount } from '../options/cashy-account';
import { PayoutConfig } from '../options/payout-config';

/** The parts of an Express or Fastify request the guard reads. */
export interface PayoutWebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody?: Buffer | string;
  /** Set by `PayoutSignatureGuard`: the account whose key verified the request. */
  payoutAccount?: CashyAccount;
}

/** A header's value (`name` in lower case), trimmed; the first one when repeated; `undefined` when blank. */
export function firstHeaderValue(request: PayoutWebhookRequest, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * Verifies Cashy's `MerchantId` and `Sign` (`MD5(raw body + apiKey)`, constant time, either hex
 * case) over the exact bytes received, and hands the account on as `request.payoutAccount`. Its
 * refusals are `PAYOUT_HTTP_ANSWERS`', alike on Express and Fastify; without `rawBody: true` it fails
 * closed (500, logged once). Use it with `@UseGuards(PayoutSignatureGuard)`, or extend it.
 */
@Injectable()
export class PayoutSignatureGuard implements CanActivate {
  protected readonly logger = new Logger('PayoutSignatureGuard');
  private warnedRawBody = false;

  constructor(protected readonly config: PayoutConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<PayoutWebhookRequest>();
    try {
      request.payoutAccount = this.verify(request);
      return true;
    } catch (error) {
      if (error instanceof HttpException)
        payoutDiagnostics.webhook(() => ({
          status: error.getStatus(),
          reason: webhookReason(error),
          merchantId: firstHeaderValue(request, 'merchantid'),
        }));
      throw error;
    }
  }

  /** Checks the request and returns the account whose key signed it; throws the HTTP answer otherwise. */
  protected verify(request: PayoutWebhookRequest): CashyAccount {
    this.checkContentType(this.getHeader(request, 'content-type'));
    const rawBody = this.getRawBody(request) ?? this.missingRawBody(request);
    if (rawBody.length > MAX_NOTIFICATION_BYTES) throw new PayoutWebhookRefusal('too-large');
    const merchantId = this.getHeader(request, 'merchantid');
    if (!merchantId) throw new PayoutWebhookRefusal('merchant-missing');
    const account = this.findAccount(merchantId);
    if (!account) throw new PayoutWebhookRefusal('merchant-unknown');
    const sign = this.getHeader(request, 'sign');
    if (!sign) throw new PayoutWebhookRefusal('sign-missing');
    if (!this.verifySignature(rawBody, sign, account))
      throw new PayoutWebhookRefusal('sign-mismatch');
    return account;
  }

  /** JSON in UTF-8 only (Cashy sends `application/json`); a charset other than UTF-8 is 415 on both adapters. */
  protected checkContentType(contentType: string | undefined): void {
    const [mediaType, ...parameters] = (contentType ?? '')
      .split(';')
      .map((part) => part.trim().toLowerCase());
    const charset = parameters.find((p) => p.startsWith('charset='))?.replace(/^charset=|"/g, '');
    if (mediaType !== 'application/json' || ![undefined, 'utf-8', 'utf8'].includes(charset))
      throw new PayoutWebhookRefusal('content-type');
  }

  /**
   * No raw body: a request that declared none is verified as empty (and refused further on); one
   * that declared a body the app did not keep is the host's misconfiguration, logged once.
   */
  protected missingRawBody(request: PayoutWebhookRequest): Buffer {
    const length = Number(this.getHeader(request, 'content-length') ?? '0');
    const declaresBody =
      (Number.isFinite(length) && length > 0) ||
      this.getHeader(request, 'transfer-encoding') !== undefined;
    if (!declaresBody) return Buffer.alloc(0);
    if (!this.warnedRawBody) {
      this.warnedRawBody = true;
      this.logger.error(RAW_BODY_MISSING);
    }
    throw new PayoutWebhookRefusal('raw-body');
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

import { Inject, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { payoutDiagnostics } from '../payout.diagnostics';
import { answerText, errorBody, kindOfStatus, PAYOUT_HTTP_ANSWERS } from '../payout-http.answers';

/** Injection token of the webhook route's path, when the module mounts one. */
export const PAYOUT_WEBHOOK_PATH = Symbol('PAYOUT_WEBHOOK_PATH');

/** Whether `error` is what Express's JSON parser throws for a request it refuses (an `http-errors` 4xx). */
function isBodyParserRefusal(error: unknown): error is { status: number; message: string } {
  const e = error as { type?: unknown; expose?: unknown; status?: unknown } | null;
  return (
    typeof e?.type === 'string' &&
    e.expose === true &&
    typeof e.status === 'number' &&
    e.status >= 400 &&
    e.status < 500
  );
}

/** An Express error handler, with the parts of the request and reply this one uses. */
type ExpressErrorHandler = (
  error: unknown,
  req: { originalUrl?: string; url?: string },
  res: { headersSent: boolean; status(code: number): { json(body: unknown): unknown } },
  next: (error?: unknown) => void,
) => void;

/**
 * Answers, quietly and with the same status, what Express's JSON parser refuses on the webhook's
 * path before any route runs (413, 415), which Nest would log at ERROR for anyone posting to it.
 * An Express error handler placed after the routes and before Nest's own; Fastify needs none.
 */
@Injectable()
export class PayoutWebhookBodyHandler implements OnModuleInit {
  constructor(
    @Optional() private readonly adapterHost?: HttpAdapterHost,
    @Optional() @Inject(PAYOUT_WEBHOOK_PATH) private readonly path?: string,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (!adapter || !this.path || adapter.getType() !== 'express') return;
    const suffix = `/${this.path.replace(/^\/+|\/+$/g, '')}`;
    const app = adapter.getInstance<{ use(handler: ExpressErrorHandler): unknown }>();
    app.use((error, req, res, next) => {
      const path = (req.originalUrl ?? req.url ?? '').split('?')[0].replace(/\/+$/, '');
      if (!isBodyParserRefusal(error) || res.headersSent || !path.endsWith(suffix))
        return next(error);
      // The guard's answers for what it refuses too; the parser's own words for the rest.
      const kind = kindOfStatus(error.status, ['too-large', 'content-type']);
      payoutDiagnostics.webhook(() => ({
        status: error.status,
        reason: PAYOUT_HTTP_ANSWERS[kind ?? 'invalid'].reason!,
      }));
      res
        .status(error.status)
        .json(errorBody(error.status, kind ? answerText(kind) : error.message));
    });
  }
}

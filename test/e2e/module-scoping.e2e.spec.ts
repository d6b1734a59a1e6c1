import {
  Body,
  Controller,
  type DynamicModule,
  Get,
  HttpCode,
  type INestApplication,
  Module,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import {
  type PayoutCurrency,
  PayoutModule,
  type PayoutModuleExtras,
  PayoutService,
  PayoutSignatureGuard,
} from '../../lib';
import { buildNotification, CashySandbox, cashyHeaders } from '../../lib/testing';

/** A feature module's controller: it injects PayoutService and guards its own webhook route. */
@Controller('treasury')
class TreasuryController {
  constructor(private readonly payouts: PayoutService) {}

  @Get('balance')
  balance(@Query('currency') currency: PayoutCurrency) {
    return this.payouts.getBalance({ currency });
  }

  @Post('webhook')
  @HttpCode(200)
  @UseGuards(PayoutSignatureGuard)
  webhook(@Body() body: { mchOrderNo: string }) {
    return { verified: body.mchOrderNo };
  }
}

/** A feature module that does not import PayoutModule. */
@Module({ controllers: [TreasuryController] })
class TreasuryModule {}

/** The root module registers PayoutModule once; the feature module sits beside it. */
function rootModule(
  sandbox: CashySandbox,
  extras: PayoutModuleExtras,
  async = false,
): DynamicModule {
  @Module({})
  class RootModule {}
  const payout = async
    ? PayoutModule.forRootAsync({
        useFactory: () => sandbox.moduleOptions(),
        webhook: false,
        ...extras,
      })
    : PayoutModule.forRoot({
        ...sandbox.moduleOptions(),
        webhook: false,
        ...extras,
      });
  return {
    module: RootModule,
    imports: [EventEmitterModule.forRoot(), payout, TreasuryModule],
  };
}

describe('PayoutModule scoping', () => {
  let sandbox: CashySandbox;

  beforeAll(async () => {
    sandbox = new CashySandbox();
    await sandbox.start();
  });
  afterAll(() => sandbox.stop());

  describe.each<[string, PayoutModuleExtras, boolean]>([
    ['with forRoot, by default', {}, false],
    ['with forRootAsync, by default', {}, true],
    ['with isGlobal: true', { isGlobal: true }, false],
  ])('registered once at the root %s', (_name, extras, async) => {
    let app: INestApplication;
    let url: string;

    beforeAll(async () => {
      app = await NestFactory.create(rootModule(sandbox, extras, async), {
        rawBody: true,
        logger: false,
        abortOnError: false,
      });
      await app.listen(0, '127.0.0.1');
      url = await app.getUrl();
    });
    afterAll(() => app.close());

    it('injects PayoutService into a feature module that does not import it', async () => {
      const response = await fetch(`${url}/treasury/balance?currency=PEN`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        merchantId: sandbox.account('PEN').merchantId,
      });
    });

    it("runs PayoutSignatureGuard on the feature module's route, with the root's accounts", async () => {
      const account = sandbox.account('MXN');
      const body = buildNotification({
        orderStatus: 'SUCCESS',
        amount: '1500',
        mchOrderNo: 'SCOPE-1',
        merchantId: account.merchantId,
        orderNo: 'PAYOUT8600000000000000001',
      });
      const headers = cashyHeaders(body, account.merchantId, account.apiKey);
      const post = (sign: string) =>
        fetch(`${url}/treasury/webhook`, {
          method: 'POST',
          headers: { ...headers, Sign: sign },
          body,
        });
      const signed = await post(headers.Sign);
      expect([signed.status, await signed.json()]).toEqual([200, { verified: 'SCOPE-1' }]);
      expect((await post('0'.repeat(32))).status).toBe(401);
    });
  });

  it.each([false, true])(
    "with isGlobal: false, the same wiring fails at startup with Nest's unresolved-dependency message (forRootAsync: %s)",
    async (async) => {
      const error = await NestFactory.create(rootModule(sandbox, { isGlobal: false }, async), {
        logger: false,
        abortOnError: false,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      // Nest names whichever of the guard (needs PayoutConfig) or the controller (needs PayoutService) it builds first.
      expect((error as Error).message).toMatch(
        /^Nest can't resolve dependencies of the (PayoutSignatureGuard|TreasuryController) \(\?\)\. Please make sure that the argument (PayoutConfig|PayoutService) at index \[0\] is available in the TreasuryModule module/,
      );
    },
  );
});

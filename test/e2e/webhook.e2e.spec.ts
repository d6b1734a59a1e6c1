import {
  type ArgumentMetadata,
  Body,
  Controller,
  type DynamicModule,
  Headers,
  HttpCode,
  type INestApplication,
  Injectable,
  Module,
  type PipeTransform,
  Post,
  Req,
  UseGuards,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import {
  PayoutModule,
  type PayoutModuleOptions,
  PayoutNotificationDto,
  type PayoutOptionsFactory,
  PayoutService,
  PayoutSignatureGuard,
} from '../../lib';
import { signCashyBody } from '../../lib/client/cashy-signature';
import { ADAPTERS, type RecordingListener, startHostApp } from '../support/host-app';
import { deliver, MXN_ACCOUNT, notification, PEN_ACCOUNT } from '../support/notifications';
import { waitFor } from '../../lib/testing';

const OPTIONS: PayoutModuleOptions = {
  baseUrl: 'http://127.0.0.1:9',
  accounts: [PEN_ACCOUNT, MXN_ACCOUNT],
};

@Injectable()
class PayoutOptionsService implements PayoutOptionsFactory {
  createPayoutOptions(): PayoutModuleOptions {
    return OPTIONS;
  }
}
@Module({ providers: [PayoutOptionsService], exports: [PayoutOptionsService] })
class OptionsModule {}

const REGISTRATIONS: Record<string, () => DynamicModule> = {
  forRoot: () => PayoutModule.forRoot(OPTIONS),
  'forRootAsync(useFactory)': () => PayoutModule.forRootAsync({ useFactory: async () => OPTIONS }),
  'forRootAsync(useClass)': () => PayoutModule.forRootAsync({ useClass: PayoutOptionsService }),
  'forRootAsync(useExisting)': () =>
    PayoutModule.forRootAsync({
      imports: [OptionsModule],
      useExisting: PayoutOptionsService,
    }),
};

describe.each(ADAPTERS)('each registration style on %s', (adapter) => {
  it.each(Object.keys(REGISTRATIONS))(
    'wires the webhook with %s: a valid notification is acknowledged and emitted once',
    async (registration) => {
      const { app, url, listener } = await startHostApp(adapter, REGISTRATIONS[registration]());
      try {
        const body = notification();
        const webhook = `${url}/payout/webhook`;
        expect(await deliver(webhook, body)).toMatchObject({
          status: 200,
          text: 'SUCCESS',
        });
        expect(await deliver(webhook, body)).toMatchObject({ status: 200 });
        expect(listener.events.map((e) => e.name)).toEqual(['payout.succeeded']);
      } finally {
        await app.close();
      }
    },
  );
});

// Behaviour runs on one registration style; the one above proves the others wire the same module.
describe.each(ADAPTERS)('webhook on %s', (adapter) => {
  describe.each(['forRoot'])('registered with %s', (registration) => {
    let app: INestApplication;
    let url: string;
    let listener: RecordingListener;

    beforeAll(async () => {
      ({ app, url, listener } = await startHostApp(adapter, REGISTRATIONS[registration]()));
      url += '/payout/webhook';
    });
    afterAll(() => app.close());
    beforeEach(() => {
      listener.events.length = 0;
      listener.anomalies.length = 0;
      listener.failNext = 0;
      listener.delayMs = 0;
    });

    it('acknowledges a valid notification with 200 text/plain SUCCESS and emits payout.succeeded once', async () => {
      const body = notification({ amount: 150.5, fee: 1.5 });
      const response = await deliver(url, body);
      expect(response).toMatchObject({ status: 200, text: 'SUCCESS' });
      expect(response.contentType).toMatch(/^text\/plain/);
      expect(listener.events).toHaveLength(1);
      expect(listener.events[0].name).toBe('payout.succeeded');
      expect(listener.events[0].payload).toMatchObject({
        merchantId: PEN_ACCOUNT.merchantId,
        mchOrderNo: body.mchOrderNo,
        orderNo: body.orderNo,
        amount: '150.50',
        fee: '1.50',
        status: 'SUCCESS',
        completionTime: '2025-01-01 10:00:00',
        resultDesc: 'SUCCESS',
        raw: body,
      });
    });

    it('accepts a lower-case Sign', async () => {
      const text = JSON.stringify(notification());
      const response = await deliver(url, text, PEN_ACCOUNT, {
        sign: signCashyBody(text, PEN_ACCOUNT.apiKey).toLowerCase(),
      });
      expect(response.status).toBe(200);
      expect(listener.events).toHaveLength(1);
    });

    it('verifies the raw bytes: irregular whitespace and 100.0 numbers pass, a re-serialized signature does not', async () => {
      const text = `{ "orderStatus" : "SUCCESS",\n\t"amount": 100.0, "fee":0.0 ,"mchOrderNo":"RAW-${registration.length}-${adapter}","merchantId":1002001,\r\n "orderNo":"PAYOUT9${Date.now()}${registration.length}", "completionTime":"2025-01-01 10:00:00","resultDesc":"SUCCESS"  }  `;
      const reserialized = signCashyBody(JSON.stringify(JSON.parse(text)), PEN_ACCOUNT.apiKey);
      expect((await deliver(url, text, PEN_ACCOUNT, { sign: reserialized })).status).toBe(401);
      expect(listener.events).toHaveLength(0);
      const response = await deliver(url, text, PEN_ACCOUNT);
      expect(response).toMatchObject({ status: 200, text: 'SUCCESS' });
      expect(listener.events[0].payload).toMatchObject({
        amount: '100.00',
        fee: '0.00',
        merchantId: '1002001',
      });
    });

    it.each([
      ['a wrong Sign', { sign: 'A'.repeat(32) }, /Sign does not match/],
      ['a Sign that is not hex', { sign: 'not-a-signature' }, /Sign does not match/],
      ['no Sign', { sign: null }, /Sign header is missing/],
      ['no MerchantId', { merchantId: null }, /MerchantId header is missing/],
      ['an unknown MerchantId', { merchantId: '999999' }, /not a configured account/],
    ])('answers 401 with a reason for %s and emits nothing', async (_case, options, reason) => {
      const response = await deliver(url, notification(), PEN_ACCOUNT, options);
      expect(response.status).toBe(401);
      expect(response.text).toMatch(reason);
      expect(listener.events).toHaveLength(0);
    });

    it("answers 401 for a notification signed with the other account's key", async () => {
      const response = await deliver(url, notification({ merchantId: MXN_ACCOUNT.merchantId }), {
        merchantId: MXN_ACCOUNT.merchantId,
        apiKey: PEN_ACCOUNT.apiKey,
      });
      expect(response.status).toBe(401);
      expect(listener.events).toHaveLength(0);
    });

    it('accepts each account with its own key', async () => {
      expect((await deliver(url, notification(), PEN_ACCOUNT)).status).toBe(200);
      expect(
        (
          await deliver(
            url,
            notification({
              merchantId: MXN_ACCOUNT.merchantId,
              amount: '1500',
              fee: '5',
            }),
            MXN_ACCOUNT,
          )
        ).status,
      ).toBe(200);
      expect(listener.events.map((e) => [e.payload.merchantId, e.payload.amount])).toEqual([
        [PEN_ACCOUNT.merchantId, '150.50'],
        [MXN_ACCOUNT.merchantId, '1500'],
      ]);
    });

    it.each([
      ['not JSON', '{"orderStatus": "SUCCESS", '],
      ['a JSON array', '[1,2,3]'],
      ['no orderNo', JSON.stringify(notification({ orderNo: undefined }))],
      ['no orderStatus', JSON.stringify(notification({ orderStatus: undefined }))],
      ['an amount that is not a decimal', JSON.stringify(notification({ amount: 'abc' }))],
      ['a negative amount', JSON.stringify(notification({ amount: '-150.50' }))],
      ['a negative fee', JSON.stringify(notification({ fee: -1 }))],
    ])('answers 400 for %s and emits nothing', async (_case, text) => {
      const response = await deliver(url, text, PEN_ACCOUNT);
      expect(response.status).toBe(400);
      expect(response.text).not.toBe('SUCCESS');
      expect(listener.events).toHaveLength(0);
    });

    it('acknowledges sequential duplicates and emits once', async () => {
      const body = notification();
      for (let i = 0; i < 3; i++)
        expect(await deliver(url, body)).toMatchObject({
          status: 200,
          text: 'SUCCESS',
        });
      expect(listener.events).toHaveLength(1);
    });

    it('emits once for concurrent deliveries of the same notification, and acknowledges them all', async () => {
      listener.delayMs = 30;
      const body = notification();
      const responses = await Promise.all(Array.from({ length: 8 }, () => deliver(url, body)));
      expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(listener.events).toHaveLength(1);
    });

    it('ignores an in-progress status that arrives after the final one', async () => {
      const body = notification();
      expect(
        (
          await deliver(url, {
            ...body,
            orderStatus: 'PROCESSING',
            fee: null,
            completionTime: null,
          })
        ).status,
      ).toBe(200);
      expect((await deliver(url, body)).status).toBe(200);
      expect(
        (
          await deliver(url, {
            ...body,
            orderStatus: 'PAYING',
            fee: null,
            completionTime: null,
          })
        ).status,
      ).toBe(200);
      expect(listener.events.map((e) => e.name)).toEqual(['payout.succeeded']);
    });

    it('reports FAIL and CANCEL as payout.failed with the reason', async () => {
      await deliver(
        url,
        notification({
          orderStatus: 'FAIL',
          resultDesc: 'INVALID_CCI',
          fee: null,
          completionTime: null,
        }),
      );
      await deliver(
        url,
        notification({
          orderStatus: 'CANCEL',
          resultDesc: 'COMPLIANCE_REJECT',
          fee: null,
          completionTime: null,
        }),
      );
      expect(
        listener.events.map((e) => [
          e.name,
          e.payload.status,
          (e.payload as { reason?: string }).reason,
          (e.payload as { reversed?: boolean }).reversed,
        ]),
      ).toEqual([
        ['payout.failed', 'FAIL', 'INVALID_CCI', false],
        ['payout.failed', 'CANCEL', 'COMPLIANCE_REJECT', false],
      ]);
    });

    it('gives amount and fee at the market\'s scale, a fee sent as null, "" or not at all as null, and channelOrderNo', async () => {
      const { fee: _omitted, ...withoutFee } = notification({
        orderStatus: 'FAIL',
        resultDesc: 'INVALID_CCI',
        amount: '0150.5000',
      });
      await deliver(url, withoutFee);
      await deliver(
        url,
        notification({
          orderStatus: 'FAIL',
          resultDesc: 'INVALID_CCI',
          amount: 7,
          fee: null,
        }),
      );
      await deliver(
        url,
        notification({
          orderStatus: 'CANCEL',
          resultDesc: 'COMPLIANCE_REJECT',
          amount: '1.005',
          fee: '',
        }),
      );
      await deliver(
        url,
        notification({
          merchantId: MXN_ACCOUNT.merchantId,
          amount: '1500.00',
          fee: 5.5,
          channelOrderNo: 'SPEI-77',
        }),
        MXN_ACCOUNT,
      );
      expect(
        listener.events.map((e) => [e.payload.amount, e.payload.fee, e.payload.channelOrderNo]),
      ).toEqual([
        ['150.50', null, undefined],
        ['7.00', null, undefined],
        ['1.005', null, undefined], // digits beyond the scale are kept, never rounded away
        ['1500', '5.5', 'SPEI-77'],
      ]);
    });

    it('turns a Mexican SUCCESS then FAIL into payout.failed with reversed: true, once', async () => {
      const body = notification({
        merchantId: MXN_ACCOUNT.merchantId,
        amount: 1500,
        fee: 5,
      });
      await deliver(url, body, MXN_ACCOUNT);
      const reversal = {
        ...body,
        orderStatus: 'FAIL',
        resultDesc: 'ACCOUNT_NOT_EXIST',
      };
      expect((await deliver(url, reversal, MXN_ACCOUNT)).status).toBe(200);
      expect((await deliver(url, reversal, MXN_ACCOUNT)).status).toBe(200);
      expect((await deliver(url, body, MXN_ACCOUNT)).status).toBe(200);
      expect(
        listener.events.map((e) => [
          e.name,
          (e.payload as { reversed?: boolean }).reversed ?? null,
          e.payload.amount,
        ]),
      ).toEqual([
        ['payout.succeeded', null, '1500'],
        ['payout.failed', true, '1500'],
      ]);
      expect(listener.events[1].payload).toMatchObject({
        status: 'FAIL',
        reason: 'ACCOUNT_NOT_EXIST',
      });
    });

    it('logs a Peruvian SUCCESS then FAIL as an anomaly: acknowledged, nothing emitted', async () => {
      const body = notification();
      await deliver(url, body);
      expect(
        (
          await deliver(url, {
            ...body,
            orderStatus: 'FAIL',
            resultDesc: 'INVALID_CCI',
          })
        ).status,
      ).toBe(200);
      expect(
        (
          await deliver(url, {
            ...body,
            orderStatus: 'CANCEL',
            resultDesc: 'X',
          })
        ).status,
      ).toBe(200);
      expect(listener.events.map((e) => e.name)).toEqual(['payout.succeeded']);
    });

    it('answers 500 when a listener throws, then emits on the retry', async () => {
      listener.failNext = 1;
      const body = notification();
      const failed = await deliver(url, body);
      expect(failed.status).toBe(500);
      expect(failed.text).not.toBe('SUCCESS');
      expect(listener.events).toHaveLength(0);
      const retried = await deliver(url, body);
      expect(retried).toMatchObject({ status: 200, text: 'SUCCESS' });
      expect(listener.events).toHaveLength(1);
    });

    it('keeps state per order: a second order is not a duplicate of the first', async () => {
      await deliver(url, notification());
      await deliver(url, notification());
      await waitFor(() => listener.events.length === 2);
    });
  });
});

@Controller('hooks')
class HostWebhookController {
  received: unknown[] = [];

  constructor(private readonly payouts: PayoutService) {}

  @Post('cashy')
  @HttpCode(200)
  @UseGuards(PayoutSignatureGuard)
  async receive(
    @Req()
    request: {
      body: Record<string, unknown>;
      headers: Record<string, string>;
    },
  ): Promise<string> {
    this.received.push(request.body);
    await this.payouts.handleNotification(request.body, request.headers.merchantid);
    return 'SUCCESS';
  }
}

/** A host's own route typed and validated as the documented body, `PayoutNotificationDto`. */
@Controller('hooks')
class DtoWebhookController {
  received: PayoutNotificationDto[] = [];

  constructor(private readonly payouts: PayoutService) {}

  @Post('dto')
  @HttpCode(200)
  @UseGuards(PayoutSignatureGuard)
  @UsePipes(new ValidationPipe({ transform: true }))
  async receive(@Body() body: PayoutNotificationDto, @Headers('merchantid') merchantId: string) {
    this.received.push(body);
    await this.payouts.handleNotification(body, merchantId);
    return 'SUCCESS';
  }
}

/** A host pipe that would replace every request body it is shown. */
@Injectable()
class BodyRewritingPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    return metadata.type === 'body' ? { rewritten: true } : value;
  }
}

describe.each(ADAPTERS)('host wiring on %s', (adapter) => {
  it("protects a host's own route with the exported guard when webhook is false", async () => {
    const { app, url, listener } = await startHostApp(
      adapter,
      PayoutModule.forRoot({ ...OPTIONS, webhook: false }),
      { controllers: [HostWebhookController] },
    );
    try {
      const body = notification();
      expect((await deliver(`${url}/hooks/cashy`, body)).status).toBe(200);
      expect(
        (
          await deliver(`${url}/hooks/cashy`, body, PEN_ACCOUNT, {
            sign: 'B'.repeat(32),
          })
        ).status,
      ).toBe(401);
      expect((await deliver(`${url}/hooks/cashy`, body)).status).toBe(200);
      expect(app.get(HostWebhookController).received).toEqual([body, body]);
      expect(listener.events).toHaveLength(1);
      expect((await deliver(`${url}/payout/webhook`, body)).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it("validates Cashy's body as PayoutNotificationDto on a host's own route: 400 naming the field for what the module refuses, nothing handled", async () => {
    const { app, url, listener } = await startHostApp(
      adapter,
      PayoutModule.forRoot({ ...OPTIONS, webhook: false }),
      { controllers: [DtoWebhookController] },
    );
    try {
      const refused: Array<[string, Record<string, unknown>]> = [
        ['amount', notification({ amount: '-1.00' })],
        ['fee', notification({ fee: 'abc' })],
        ['orderNo', notification({ orderNo: undefined })],
        ['orderStatus', notification({ orderStatus: 7 })],
      ];
      for (const [field, body] of refused) {
        const answer = await deliver(`${url}/hooks/dto`, body);
        // Every message names the field it is about, and only that field is refused.
        const { message } = JSON.parse(answer.text) as { message: string[] };
        expect({ status: answer.status, message }).toEqual({
          status: 400,
          message: [expect.stringMatching(new RegExp(`^${field} `))],
        });
      }
      expect(app.get(DtoWebhookController).received).toEqual([]);
      expect(listener.events).toEqual([]);

      const body = notification();
      expect(await deliver(`${url}/hooks/dto`, body)).toMatchObject({
        status: 200,
        text: 'SUCCESS',
      });
      const [received] = app.get(DtoWebhookController).received;
      expect(received).toBeInstanceOf(PayoutNotificationDto);
      expect({ ...received }).toEqual(body);
      expect(listener.events).toHaveLength(1);
      expect(listener.events[0].payload).toMatchObject({
        mchOrderNo: body.mchOrderNo,
        amount: '150.50',
      });
    } finally {
      await app.close();
    }
  });

  it('mounts the controller at a custom path given beside useFactory', async () => {
    const { app, url, listener } = await startHostApp(
      adapter,
      PayoutModule.forRootAsync({
        webhook: { path: 'cashy/notify' },
        useFactory: () => OPTIONS,
      }),
    );
    try {
      expect((await deliver(`${url}/cashy/notify`, notification())).status).toBe(200);
      expect(listener.events).toHaveLength(1);
      expect((await deliver(`${url}/payout/webhook`, notification())).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it("leaves Cashy's body to the module under a host's global pipes (a strict ValidationPipe, a body-rewriting pipe)", async () => {
    const { app, url, listener } = await startHostApp(adapter, PayoutModule.forRoot(OPTIONS), {
      providers: [
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
          }),
        },
        { provide: APP_PIPE, useClass: BodyRewritingPipe },
      ],
    });
    try {
      const body = notification();
      expect(await deliver(`${url}/payout/webhook`, body)).toMatchObject({
        status: 200,
        text: 'SUCCESS',
      });
      expect(listener.events).toHaveLength(1);
      expect(listener.events[0].payload.raw).toEqual(body);
    } finally {
      await app.close();
    }
  });

  it('fails closed with a message about rawBody when the app keeps no raw body', async () => {
    const { app, url, listener } = await startHostApp(adapter, PayoutModule.forRoot(OPTIONS), {
      rawBody: false,
    });
    try {
      const response = await deliver(`${url}/payout/webhook`, notification());
      expect(response.status).toBe(500);
      expect(response.text).toMatch(/rawBody: true/);
      expect(listener.events).toHaveLength(0);
    } finally {
      await app.close();
    }
  });

  it('works with EventEmitterModule.forRoot() imported after PayoutModule', async () => {
    const { app, url, listener } = await startHostApp(adapter, PayoutModule.forRoot(OPTIONS), {
      eventEmitter: 'after',
    });
    try {
      expect((await deliver(`${url}/payout/webhook`, notification())).status).toBe(200);
      expect(listener.events).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('fails at startup, saying what to import, without EventEmitterModule.forRoot()', async () => {
    await expect(
      startHostApp(adapter, PayoutModule.forRoot(OPTIONS), {
        eventEmitter: false,
      }),
    ).rejects.toThrow(/EventEmitterModule\.forRoot\(\)/);
  });
});

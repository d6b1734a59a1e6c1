import { Body, Controller, Get, type INestApplication, Post, Query } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { CreatePayoutDto, PayoutModule, QueryPayoutDto } from '../../lib';
import { PAYOUT_MARKETS } from '../../lib/markets/payout-markets';
import { checkCreatePayout, CREATE_PAYOUT_FIELDS } from '../../lib/validation/create-payout.rules';
import { checkQueryPayout } from '../../lib/validation/query-payout.rules';
import { ADAPTERS, startHostApp } from '../support/host-app';

/** A host controller using the DTOs the way an API would. */
@Controller('payouts')
class HostPayoutsController {
  @Post()
  create(@Body() body: CreatePayoutDto) {
    return body;
  }

  @Get()
  query(@Query() query: QueryPayoutDto) {
    return query;
  }
}

type Schema = Record<string, unknown> & {
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
};

const REQUIRED = [
  'accountName',
  'accountNo',
  'accountType',
  'currency',
  'amount',
  'bankId',
  'mchOrderNo',
  'remark',
];

describe.each(ADAPTERS)('OpenAPI document of a host on %s', (adapter) => {
  let app: INestApplication;
  let url: string;
  let document: OpenAPIObject;
  let schema: Schema;

  beforeAll(async () => {
    // The default webhook is mounted at payout/webhook.
    const payoutModule = PayoutModule.forRoot({
      baseUrl: 'http://127.0.0.1:9',
      merchantId: '1002001',
      apiKey: 'openapi-test-key',
    });
    ({ app, url } = await startHostApp(adapter, payoutModule, {
      controllers: [HostPayoutsController],
    }));
    document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('host').build());
    schema = document.components!.schemas!.CreatePayoutDto as Schema;
  });
  afterAll(() => app.close());

  it('shows every create-payout field, and only those', () => {
    expect(Object.keys(schema.properties).sort()).toEqual([...CREATE_PAYOUT_FIELDS].sort());
    for (const [field, property] of Object.entries(schema.properties)) {
      expect([field, typeof property.description]).toEqual([field, 'string']);
      expect([field, property.example]).not.toEqual([field, undefined]);
      expect([field, Boolean(property.type || property.oneOf)]).toEqual([field, true]);
    }
  });

  it('marks the required fields', () => {
    expect([...(schema.required ?? [])].sort()).toEqual([...REQUIRED].sort());
  });

  it('gives types, enums and limits from the market rules', () => {
    const p = schema.properties;
    expect(p.currency).toMatchObject({ type: 'string', enum: ['PEN', 'MXN'] });
    expect(p.accountType).toMatchObject({
      type: 'integer',
      enum: [0, 1, 3, 40],
    });
    expect(p.bankId).toMatchObject({ type: 'integer', minimum: 1 });
    expect(p.accountName).toMatchObject({
      type: 'string',
      maxLength: Math.max(
        PAYOUT_MARKETS.PEN.accountNameMaxLength,
        PAYOUT_MARKETS.MXN.accountNameMaxLength,
      ),
    });
    expect(p.accountName.description).toEqual(expect.stringContaining('32 characters for PEN'));
    expect(p.accountNo).toMatchObject({
      type: 'string',
      maxLength: 32,
      pattern: '^\\d+$',
    });
    expect(p.cciAccountNo).toMatchObject({
      type: 'string',
      minLength: 20,
      maxLength: 20,
    });
    expect(p.mchOrderNo).toMatchObject({
      type: 'string',
      maxLength: 32,
      pattern: '^[A-Za-z0-9_.:-]{1,32}$',
    });
    expect(p.notifyUrl).toMatchObject({
      type: 'string',
      format: 'uri',
      maxLength: 250,
    });
    expect(p.remark).toMatchObject({ type: 'string', maxLength: 32 });
    expect(p.email).toMatchObject({ type: 'string', format: 'email' });
    // A decimal string or a number; the per-currency limits are in the description (they are overridable).
    expect(p.amount.oneOf).toEqual([
      expect.objectContaining({ type: 'string' }),
      expect.objectContaining({ type: 'number' }),
    ]);
    expect(p.amount.type).toBeUndefined();
    for (const market of Object.values(PAYOUT_MARKETS)) {
      expect(p.amount.description).toEqual(
        expect.stringContaining(`${market.defaultLimits.min} to ${market.defaultLimits.max}`),
      );
    }
  });

  it('keeps the schema honest: its examples pass the rules, and its patterns accept them', () => {
    const example = Object.fromEntries(
      Object.entries(schema.properties).map(([field, property]) => [field, property.example]),
    );
    // One coherent MXN payout from the examples (the PEN-only fields left out).
    const { cciAccountNo: _cci, idType: _idType, idCard: _idCard, ...mxn } = example;
    const limits = {
      PEN: PAYOUT_MARKETS.PEN.defaultLimits,
      MXN: PAYOUT_MARKETS.MXN.defaultLimits,
    };
    expect(checkCreatePayout(mxn, { limits }).errors).toEqual([]);
    for (const [field, property] of Object.entries(schema.properties)) {
      if (typeof property.pattern === 'string')
        expect([field, new RegExp(property.pattern).test(String(property.example))]).toEqual([
          field,
          true,
        ]);
    }
  });

  it('shows the query fields as optional query parameters', () => {
    const operation = document.paths['/payouts'].get!;
    const parameters = (operation.parameters ?? []) as {
      name: string;
      in: string;
      required: boolean;
      schema: Record<string, unknown>;
    }[];
    expect(parameters.map((p) => [p.name, p.in, p.required])).toEqual([
      ['orderNo', 'query', false],
      ['mchOrderNo', 'query', false],
      ['currency', 'query', false],
    ]);
    expect(parameters.find((p) => p.name === 'currency')!.schema).toMatchObject({
      type: 'string',
      enum: ['PEN', 'MXN'],
    });
    expect(checkQueryPayout({ orderNo: parameters[0].schema.example ?? 'P1' }).errors).toEqual([]);
  });

  it('leaves the webhook out of the document', () => {
    expect(Object.keys(document.paths)).toEqual(['/payouts']);
    expect(Object.keys(document.paths).filter((path) => path.includes('payout/webhook'))).toEqual(
      [],
    );
  });

  it('leaves the webhook mounted: only the document omits it', async () => {
    const response = await fetch(`${url}/payout/webhook`, { method: 'POST' });
    expect(response.status).not.toBe(404);
  });
});

import 'reflect-metadata';
import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { useContainer, validate } from 'class-validator';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test, type TestingModule } from '@nestjs/testing';
import { PayoutModule, type PayoutModuleOptions } from '../../lib';
import { CreatePayoutDto } from '../../lib/validation/create-payout.dto';
import { QueryPayoutDto } from '../../lib/validation/query-payout.dto';
import type { PayoutFieldError } from '../../lib/payout.errors';
import * as createPayoutRules from '../../lib/validation/create-payout.rules';
import {
  checkCreatePayout,
  type CreatePayoutRuleContext,
} from '../../lib/validation/create-payout.rules';
import {
  MeetsPayoutRules,
  type PayoutRulesCheck,
} from '../../lib/validation/payout-rules.decorator';
import { checkQueryPayout } from '../../lib/validation/query-payout.rules';
import { makeCci, makeClabe } from './support/check-digits';
import { DEFAULT_LIMITS, MX, PE } from './support/valid-payouts';

/** What the DTO applies: the module's limits, and no complaint about a missing notifyUrl (the service adds the default). */
const DTO_CTX: CreatePayoutRuleContext = {
  limits: DEFAULT_LIMITS,
  requireNotifyUrl: false,
};

const BANBIF_CCI = '03810110700064503226';

/** Inputs that break rules of declared fields (every one a DTO property). */
const INVALID: Array<[string, Record<string, unknown>]> = [
  ['PEN amount below min', { ...PE, amount: '9.99' }],
  ['PEN amount above max', { ...PE, amount: 2000.01 }],
  ['PEN amount scale', { ...PE, amount: '150.505' }],
  ['PEN amount not a decimal', { ...PE, amount: '1e3' }],
  ['MXN amount below min', { ...MX, amount: 39 }],
  ['MXN amount above max', { ...MX, amount: '15001' }],
  ['MXN amount scale', { ...MX, amount: 100.5 }],
  ['accented accountName', { ...PE, accountName: 'José Pérez' }],
  ['PEN accountName too long', { ...PE, accountName: 'A'.repeat(33) }],
  ['MXN accountName too long', { ...MX, accountName: 'A'.repeat(41) }],
  ['remark missing', { ...PE, remark: undefined }],
  ['remark too long', { ...PE, remark: 'r'.repeat(33) }],
  ['remark accented', { ...MX, remark: 'devolución' }],
  ['PEN accountType 3', { ...PE, accountType: 3 }],
  ['PEN idType 5', { ...PE, idType: '5' }],
  ['PEN DNI 7 digits', { ...PE, idCard: '1234567' }],
  ['PEN RUC 10 digits', { ...PE, idType: '4', idCard: '2012345678' }],
  ['PEN idCard missing', { ...PE, idCard: undefined }],
  ['BCP ahorro 13 digits', { ...PE, accountNo: '1911234567801' }],
  ['BBVA 19 digits', { ...PE, bankId: 1, accountNo: '1'.repeat(19) }],
  ['BanBif without CCI', { ...PE, bankId: 6, accountNo: BANBIF_CCI }],
  [
    'BanBif with bad CCI',
    {
      ...PE,
      bankId: 6,
      accountNo: BANBIF_CCI,
      cciAccountNo: '00219400254640654321',
    },
  ],
  [
    'BanBif with BCP CCI',
    {
      ...PE,
      bankId: 6,
      accountNo: BANBIF_CCI,
      cciAccountNo: makeCci('002193001538952068'),
    },
  ],
  ['unknown PEN bank', { ...PE, bankId: 15 }],
  ['unknown MXN bank', { ...MX, bankId: 1 }],
  ['MXN accountType 1', { ...MX, accountType: 1 }],
  ['MXN CLABE check digit', { ...MX, accountNo: '002010077777777779' }],
  ['MXN CLABE of another bank', { ...MX, accountNo: makeClabe('01218000123456789') }],
  ['MXN 15-digit card', { ...MX, accountType: 3, accountNo: '415231381234567' }],
  ['STP with a card', { ...MX, bankId: 24, accountType: 3, accountNo: '4152313812345678' }],
  ['MXN with cciAccountNo', { ...MX, cciAccountNo: BANBIF_CCI }],
  ['mchOrderNo too long', { ...PE, mchOrderNo: 'X'.repeat(33) }],
  ['notifyUrl not http', { ...PE, notifyUrl: 'ftp://pay.example.com/x' }],
  ['notifyUrl too long', { ...PE, notifyUrl: 'https://pay.example.com/' + 'a'.repeat(230) }],
  ['accountNo as a number', { ...PE, accountNo: 19112345678012 }],
  ['currency unknown', { ...PE, currency: 'USD' }],
  ['currency missing', { ...PE, currency: undefined }],
  [
    'many broken rules at once',
    {
      ...PE,
      accountName: 'José',
      amount: '9.99',
      bankId: 99,
      remark: '',
      mchOrderNo: 'M'.repeat(40),
      notifyUrl: 'nope',
      idType: '9',
    },
  ],
];

const clean = (input: Record<string, unknown>) =>
  JSON.parse(JSON.stringify(input)) as Record<string, unknown>;

/** The service's broken rules, as the DTO would phrase them: one message per field, joined by "; ". */
function expectedDtoMessages(errors: PayoutFieldError[]): Map<string, string> {
  const byField = new Map<string, string[]>();
  for (const error of errors)
    byField.set(error.field, [...(byField.get(error.field) ?? []), error.message]);
  return new Map([...byField].map(([field, messages]) => [field, messages.join('; ')]));
}

async function dtoMessages<T extends object>(
  cls: new () => T,
  input: Record<string, unknown>,
): Promise<Map<string, string>> {
  const errors = await validate(plainToInstance(cls, input) as object);
  const out = new Map<string, string>();
  for (const error of errors) {
    expect(error.children ?? []).toEqual([]);
    out.set(error.property, Object.values(error.constraints ?? {}).join('; '));
  }
  return out;
}

async function pipeError(
  metatype: new () => object,
  input: unknown,
): Promise<{ message: string[]; statusCode: number }> {
  const pipe = new ValidationPipe();
  try {
    await pipe.transform(input, { type: 'body', metatype });
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).getResponse() as {
      message: string[];
      statusCode: number;
    };
  }
  throw new Error('ValidationPipe accepted the input');
}

/** A Nest module with PayoutModule, for class-validator's container (Nest's documented idiom for injected validators). */
async function payoutContainer(options: Partial<PayoutModuleOptions> = {}): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({
        baseUrl: 'http://127.0.0.1:9',
        merchantId: '1',
        apiKey: 'k',
        reconciliation: false,
        ...options,
      }),
    ],
  }).compile();
  moduleRef.useLogger(false);
  return moduleRef;
}

let container: TestingModule;
beforeAll(async () => {
  container = await payoutContainer();
  useContainer(container, { fallbackOnErrors: true });
});
afterAll(async () => {
  useContainer({ get: (someClass: new () => unknown) => new someClass() });
  await container.close();
});

describe('CreatePayoutDto', () => {
  describe('with class-validator', () => {
    it.each([
      ['valid PEN', PE],
      ['valid MXN', MX],
      [
        'PEN with numeric strings and a number amount',
        { ...PE, accountType: '1', bankId: '3', amount: 150.5, idType: 1 },
      ],
      ['BanBif by CCI', { ...PE, bankId: 6, accountNo: BANBIF_CCI, cciAccountNo: BANBIF_CCI }],
      ['without notifyUrl (the module default applies later)', { ...PE, notifyUrl: undefined }],
    ])('accepts %s', async (_label, input) => {
      expect(checkCreatePayout(clean(input), DTO_CTX).errors).toEqual([]);
      expect(await validate(plainToInstance(CreatePayoutDto, clean(input)))).toEqual([]);
    });

    it.each(INVALID)('reports the same messages as checkCreatePayout: %s', async (_label, raw) => {
      const input = clean(raw);
      const expected = expectedDtoMessages(checkCreatePayout(input, DTO_CTX).errors);
      expect(expected.size).toBeGreaterThan(0);
      const actual = await dtoMessages(CreatePayoutDto, input);
      expect(new Set(actual.keys())).toEqual(new Set(expected.keys()));
      expect(new Set(actual.values())).toEqual(new Set(expected.values()));
      // And every service message appears, verbatim, under its own property.
      for (const error of checkCreatePayout(input, DTO_CTX).errors)
        expect(actual.get(error.field)).toContain(error.message);
    });

    it('reports the rules of the many-broken input under their own properties', async () => {
      const actual = await dtoMessages(CreatePayoutDto, clean(INVALID[INVALID.length - 1][1]));
      expect([...actual.keys()].sort()).toEqual([
        'accountName',
        'amount',
        'bankId',
        'idType',
        'mchOrderNo',
        'notifyUrl',
        'remark',
      ]);
    });

    // Class-validator only validates declared properties; unknown fields are the pipe's job, as the README says.
    it('rejects nonceStr and unknown fields with ValidationPipe({ whitelist: true, forbidNonWhitelisted: true })', async () => {
      const pipe = new ValidationPipe({
        whitelist: true,
        forbidNonWhitelisted: true,
      });
      const error = await pipe
        .transform(
          { ...PE, nonceStr: 'abc', foo: 'bar' },
          { type: 'body', metatype: CreatePayoutDto },
        )
        .catch((e) => e);
      expect(error).toBeInstanceOf(BadRequestException);
      expect(error.getResponse().message).toEqual(
        expect.arrayContaining([
          'property nonceStr should not exist',
          'property foo should not exist',
        ]),
      );
    });

    it("uses the limits of the PayoutModule it reaches through Nest's container", async () => {
      const cheap = { ...PE, amount: '5.00' };
      expect((await dtoMessages(CreatePayoutDto, cheap)).get('amount')).toContain('10.00');
      const other = await payoutContainer({
        limits: { PEN: { min: '1.00', max: '5000.00' } },
      });
      useContainer(other, { fallbackOnErrors: true });
      try {
        expect(await validate(plainToInstance(CreatePayoutDto, cheap))).toEqual([]);
        expect(
          await validate(plainToInstance(CreatePayoutDto, { ...PE, amount: '4000.00' })),
        ).toEqual([]);
        expect(
          (await dtoMessages(CreatePayoutDto, { ...PE, amount: '5000.01' })).get('amount'),
        ).toContain('5000.00');
      } finally {
        useContainer(container, { fallbackOnErrors: true });
        await other.close();
      }
      expect((await dtoMessages(CreatePayoutDto, cheap)).get('amount')).toContain('10.00');
    });

    it('without the container, checks everything but the amount limits, which the service checks', async () => {
      useContainer({ get: (someClass: new () => unknown) => new someClass() });
      try {
        expect(
          await validate(plainToInstance(CreatePayoutDto, { ...PE, amount: '999999.00' })),
        ).toEqual([]);
        expect(
          (await dtoMessages(CreatePayoutDto, { ...PE, amount: '150.505' })).get('amount'),
        ).toMatch(/at most 2 decimals/);
        expect(
          (await dtoMessages(CreatePayoutDto, { ...PE, accountName: 'José' })).get('accountName'),
        ).toBeDefined();
      } finally {
        useContainer(container, { fallbackOnErrors: true });
      }
    });
  });

  describe("with Nest's ValidationPipe", () => {
    it('passes a valid body through untouched', async () => {
      const input = { ...PE, amount: 150.5, accountType: '1' };
      const out = await new ValidationPipe().transform(input, {
        type: 'body',
        metatype: CreatePayoutDto,
      });
      expect(out).toEqual(input);
    });

    it('passes a valid body through as a CreatePayoutDto with transform: true, values untouched', async () => {
      const input = { ...MX, amount: 1500, bankId: '80' };
      const out = await new ValidationPipe({ transform: true }).transform(input, {
        type: 'body',
        metatype: CreatePayoutDto,
      });
      expect(out).toBeInstanceOf(CreatePayoutDto);
      expect({ ...out }).toEqual(input);
    });

    it.each(INVALID)(
      'answers 400 with the messages of checkCreatePayout: %s',
      async (_label, raw) => {
        const input = clean(raw);
        const expected = [
          ...expectedDtoMessages(checkCreatePayout(input, DTO_CTX).errors).values(),
        ];
        const response = await pipeError(CreatePayoutDto, input);
        expect(response.statusCode).toBe(400);
        expect(Array.isArray(response.message)).toBe(true);
        expect(response.message).toEqual(expect.arrayContaining(expected));
        expect(response.message).toHaveLength(expected.length);
      },
    );

    it('lists every broken rule of one body', async () => {
      const response = await pipeError(CreatePayoutDto, {
        ...PE,
        amount: '9.99',
        accountName: 'José',
        bankId: 99,
      });
      expect(response.message).toEqual(
        expect.arrayContaining([
          expect.stringContaining('amount must be at least 10.00'),
          expect.stringContaining('accountName'),
          expect.stringContaining('listBanks'),
        ]),
      );
    });
  });
});

describe('QueryPayoutDto', () => {
  const INVALID_QUERIES: Array<[string, Record<string, unknown>]> = [
    ['neither number', {}],
    ['empty numbers', { orderNo: '', mchOrderNo: '' }],
    ['orderNo too long', { orderNo: 'P'.repeat(33) }],
    ['mchOrderNo with a space', { mchOrderNo: 'PE 1' }],
    ['orderNo as a number', { orderNo: 123 }],
    ['unknown currency', { orderNo: 'PAYOUT1', currency: 'USD' }],
    ['two broken fields', { orderNo: 'P'.repeat(40), mchOrderNo: 'a b', currency: 'EUR' }],
  ];

  it.each([
    ['orderNo', { orderNo: 'PAYOUT8600000000000000001' }],
    ['mchOrderNo', { mchOrderNo: 'PE-2025-000123' }],
    [
      'both and a currency',
      {
        orderNo: 'PAYOUT8600000000000000001',
        mchOrderNo: 'PE-2025-000123',
        currency: 'PEN',
      },
    ],
  ])('accepts %s', async (_label, input) => {
    expect(await validate(plainToInstance(QueryPayoutDto, input))).toEqual([]);
    const out = await new ValidationPipe({ transform: true }).transform(input, {
      type: 'body',
      metatype: QueryPayoutDto,
    });
    expect(out).toBeInstanceOf(QueryPayoutDto);
    expect({ ...out }).toEqual(input);
  });

  it.each(INVALID_QUERIES)(
    'reports the same messages as checkQueryPayout: %s',
    async (_label, input) => {
      const expected = expectedDtoMessages(checkQueryPayout(input).errors);
      expect(expected.size).toBeGreaterThan(0);
      const actual = await dtoMessages(QueryPayoutDto, input);
      expect(actual).toEqual(expected);
      const response = await pipeError(QueryPayoutDto, input);
      expect(response.message).toEqual(expect.arrayContaining([...expected.values()]));
      expect(response.message).toHaveLength(expected.size);
    },
  );

  it('rejects an unknown query field with forbidNonWhitelisted', async () => {
    const pipe = new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
    });
    const error = await pipe
      .transform({ orderNo: 'PAYOUT1', foo: 1 }, { type: 'body', metatype: QueryPayoutDto })
      .catch((e) => e);
    expect(error).toBeInstanceOf(BadRequestException);
  });
});

describe('the rule check behind @MeetsPayoutRules', () => {
  /** Breaks `a` unless it is a string, and `b` (with two messages) unless it is a string. */
  const rules = jest.fn<ReturnType<PayoutRulesCheck>, Parameters<PayoutRulesCheck>>((object) => {
    const { a, b } = object as { a?: unknown; b?: unknown };
    return [
      ...(typeof a === 'string' ? [] : [{ field: 'a', rule: 'type', message: 'a is no text' }]),
      ...(typeof b === 'string'
        ? []
        : [
            { field: 'b', rule: 'type', message: 'b is no text' },
            { field: 'b', rule: 'required', message: 'b is required' },
          ]),
    ];
  });
  class CountedDto {
    @MeetsPayoutRules(rules) a?: unknown;
    @MeetsPayoutRules(rules) b?: unknown;
    @MeetsPayoutRules(rules) c?: unknown;
    @MeetsPayoutRules(rules) d?: unknown;
  }
  const counted = (input: Record<string, unknown>) => plainToInstance(CountedDto, input);

  beforeEach(() => rules.mockClear());

  it('runs once per validate() of a DTO, valid or with several broken fields', async () => {
    expect(await validate(counted({ a: 'x', b: 'y', c: 1, d: 2 }))).toEqual([]);
    expect(rules).toHaveBeenCalledTimes(1);

    rules.mockClear();
    const errors = await validate(counted({ a: 1, b: 2 }));
    expect(rules).toHaveBeenCalledTimes(1);
    expect(Object.fromEntries(errors.map((e) => [e.property, e.constraints]))).toEqual({
      a: { payoutRules: 'a is no text' },
      b: { payoutRules: 'b is no text; b is required' },
    });
  });

  it('runs once per DTO through ValidationPipe', async () => {
    const response = await pipeError(CountedDto, { a: 'x', b: 3 });
    expect(response.message).toEqual(['b is no text; b is required']);
    expect(rules).toHaveBeenCalledTimes(1);
  });

  it('checks each DTO on its own: two DTOs, two passes', async () => {
    await Promise.all([validate(counted({ a: 'x' })), validate(counted({ b: 'y' }))]);
    expect(rules).toHaveBeenCalledTimes(2);
  });

  it('reports the new values of a DTO validated, mutated and validated again', async () => {
    const dto = counted({ a: 'x', b: 'y' });
    expect(await validate(dto)).toEqual([]);
    dto.b = 7;
    expect((await validate(dto)).map((e) => e.property)).toEqual(['b']);
    dto.a = null;
    dto.b = 'y';
    expect((await validate(dto)).map((e) => e.property)).toEqual(['a']);
    delete dto.a;
    expect((await validate(dto)).map((e) => e.property)).toEqual(['a']);
    dto.a = 'x';
    expect(await validate(dto)).toEqual([]);
    expect(rules).toHaveBeenCalledTimes(5);
    // Unchanged since its last validation: the kept result stands, the check does not run again.
    expect(await validate(dto)).toEqual([]);
    expect(rules).toHaveBeenCalledTimes(5);
  });

  it('sees a field added to a DTO since its last validation', async () => {
    const keyed = jest.fn<ReturnType<PayoutRulesCheck>, Parameters<PayoutRulesCheck>>((object) =>
      'extra' in object ? [{ field: 'a', rule: 'extra', message: 'no extra field' }] : [],
    );
    class KeyedDto {
      @MeetsPayoutRules(keyed) a?: unknown;
    }
    const keyedDto = Object.assign(new KeyedDto(), { a: 'x' });
    expect(await validate(keyedDto)).toEqual([]);
    Object.assign(keyedDto, { extra: undefined });
    expect((await validate(keyedDto)).map((e) => e.constraints)).toEqual([
      { payoutRules: 'no extra field' },
    ]);
    expect(keyed).toHaveBeenCalledTimes(2);
  });

  describe('CreatePayoutDto', () => {
    let spy: jest.SpyInstance;
    beforeEach(() => {
      spy = jest.spyOn(createPayoutRules, 'checkCreatePayout');
    });
    afterEach(() => spy.mockRestore());

    it.each([
      ['valid PEN', PE],
      ['valid MXN', MX],
      ['many broken rules at once', INVALID[INVALID.length - 1][1]],
    ])('runs checkCreatePayout once per validate(): %s', async (_label, input) => {
      const dto = plainToInstance(CreatePayoutDto, clean(input));
      const expected = checkCreatePayout(clean(input), DTO_CTX).errors;
      spy.mockClear();
      const errors = await validate(dto);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(new Set(errors.map((e) => e.property))).toEqual(new Set(expected.map((e) => e.field)));
    });

    it('reports the new values of a DTO validated, mutated and validated again', async () => {
      const dto = plainToInstance(CreatePayoutDto, clean({ ...PE, amount: '9.99' }));
      expect((await dtoErrors(dto)).get('amount')).toContain('10.00');
      dto.amount = '150.50';
      expect(await validate(dto)).toEqual([]);
      dto.accountName = 'José';
      dto.amount = '2000.01';
      const errors = await dtoErrors(dto);
      expect([...errors.keys()].sort()).toEqual(['accountName', 'amount']);
      expect(errors.get('amount')).toContain('2000.00');
      dto.currency = 'MXN';
      expect((await dtoErrors(dto)).get('bankId')).toMatch(/listBanks/);
    });

    it("follows the module it reaches through Nest's container, for the same DTO", async () => {
      const dto = plainToInstance(CreatePayoutDto, { ...PE, amount: '5.00' });
      expect((await dtoErrors(dto)).get('amount')).toContain('10.00');
      const other = await payoutContainer({ limits: { PEN: { min: '1.00', max: '5000.00' } } });
      useContainer(other, { fallbackOnErrors: true });
      try {
        expect(await validate(dto)).toEqual([]);
      } finally {
        useContainer(container, { fallbackOnErrors: true });
        await other.close();
      }
      expect((await dtoErrors(dto)).get('amount')).toContain('10.00');
    });
  });
});

async function dtoErrors(dto: object): Promise<Map<string, string>> {
  const errors = await validate(dto);
  return new Map(errors.map((e) => [e.property, Object.values(e.constraints ?? {}).join('; ')]));
}

import {
  checkCreatePayout,
  type CreatePayoutRuleContext,
} from '../../lib/validation/create-payout.rules';
import { makeCci, makeClabe } from './support/check-digits';
import { DEFAULT_LIMITS, MX, NOTIFY, PE } from './support/valid-payouts';

const CTX: CreatePayoutRuleContext = { limits: DEFAULT_LIMITS };

const BANBIF_CCI = '03810110700064503226'; // reference §3.1 example, entity 038, valid check digits
const BCP_CCI = '00219300153895206813'; // §8.3 vector, entity 002
const CASHY_INVALID_CCI = '00219400254640654321'; // §8.3: fails the check digits

const pe = (overrides: Record<string, unknown> = {}) => ({
  ...PE,
  ...overrides,
});
const mx = (overrides: Record<string, unknown> = {}) => ({
  ...MX,
  ...overrides,
});
const without = (base: Record<string, unknown>, ...fields: string[]) => {
  const copy = { ...base };
  for (const field of fields) delete copy[field];
  return copy;
};

function expectValid(input: unknown, context: CreatePayoutRuleContext = CTX) {
  const result = checkCreatePayout(input, context);
  expect(result.errors).toEqual([]);
  expect(result.body).toBeDefined();
  return result.body!;
}

/** Exactly one broken rule, on `field`, named `rule`, whose message names the field. */
function expectBroken(
  input: unknown,
  field: string,
  rule: string,
  context: CreatePayoutRuleContext = CTX,
) {
  const result = checkCreatePayout(input, context);
  expect(result.errors.map((e) => [e.field, e.rule])).toEqual([[field, rule]]);
  expect(result.body).toBeUndefined();
  const [error] = result.errors;
  expect(typeof error.message).toBe('string');
  expect(error.message).toContain(field);
  return error;
}

/** Exactly one broken rule, amount's `rule` ('min' or 'max'), whose message names the limit and, if given, the currency. */
function expectAmountOutOfRange(
  input: unknown,
  rule: 'min' | 'max',
  limit: string,
  currency?: string,
) {
  const error = expectBroken(input, 'amount', rule);
  expect(error.message).toContain(limit);
  if (currency !== undefined) expect(error.message).toContain(currency);
}

describe('checkCreatePayout', () => {
  it('accepts the two base payouts', () => {
    expectValid(PE);
    expectValid(MX);
  });

  it('does not mutate its input', () => {
    const input = Object.freeze(pe({ amount: 150.5, accountType: '1', bankId: '3', idType: 1 }));
    const before = JSON.stringify(input);
    expectValid(input);
    expect(JSON.stringify(input)).toBe(before);
  });

  describe('input shape', () => {
    it.each<[string, unknown]>([
      ['null', null],
      ['undefined', undefined],
      ['a string', 'payout'],
      ['an array', [PE]],
      ['a number', 42],
    ])('rejects %s as input', (_label, input) => {
      const result = checkCreatePayout(input, CTX);
      expect(result.errors).toEqual([
        { field: '(input)', rule: 'object', message: expect.any(String) },
      ]);
      expect(result.body).toBeUndefined();
    });

    it('rejects an unknown field, naming it', () => {
      expectBroken(pe({ foo: 'bar' }), 'foo', 'unknownField');
      expectBroken(mx({ sign: 'ABC' }), 'sign', 'unknownField');
      expectBroken(pe({ accountname: 'Juan Perez' }), 'accountname', 'unknownField');
    });

    it('rejects nonceStr: the module generates it', () => {
      const error = expectBroken(pe({ nonceStr: 'abc123' }), 'nonceStr', 'notAllowed');
      expect(error.message).toMatch(/generated/);
      expectBroken(mx({ nonceStr: 'abc123' }), 'nonceStr', 'notAllowed');
    });
  });

  describe('currency', () => {
    it('is required', () => {
      expectBroken(without(PE, 'currency'), 'currency', 'required');
      expectBroken(pe({ currency: null }), 'currency', 'required');
    });

    it.each(['USD', 'pen', 'mxn', 'IDR', '', 1])('rejects %p', (currency) => {
      expectBroken(pe({ currency }), 'currency', 'currency');
    });
  });

  describe('amount (PEN: [10.00, 2000.00], at most 2 decimals)', () => {
    it.each<[unknown, string]>([
      ['10.00', '10.00'],
      ['10', '10.00'],
      [10, '10.00'],
      ['2000.00', '2000.00'],
      [2000, '2000.00'],
      ['150.50', '150.50'],
      ['150.5', '150.50'],
      [150.5, '150.50'],
      [100.0, '100.00'],
      ['0150.50', '150.50'],
      ['150.500', '150.50'],
      ['1999.99', '1999.99'],
      [1999.99, '1999.99'],
    ])('accepts %p and sends %p', (amount, sent) => {
      expect(expectValid(pe({ amount })).amount).toBe(sent);
    });

    it.each<[unknown]>([['9.99'], [9.99], ['0.01'], ['0'], [0], ['0.00']])(
      'rejects %p as below the minimum',
      (amount) => {
        expectAmountOutOfRange(pe({ amount }), 'min', '10.00', 'PEN');
      },
    );

    it.each<[unknown]>([['2000.01'], [2000.01], ['10000.00'], ['99999999999999999.99']])(
      'rejects %p as above the maximum',
      (amount) => {
        expectAmountOutOfRange(pe({ amount }), 'max', '2000.00');
      },
    );

    it.each<[unknown]>([['150.505'], [150.505], ['10.001'], ['2000.001'], ['9.999'], [0.1 + 0.2]])(
      'rejects %p for having more than 2 decimals',
      (amount) => {
        expectBroken(pe({ amount }), 'amount', 'scale');
      },
    );

    it.each<[string, unknown]>([
      ['negative', '-150.50'],
      ['negative number', -150.5],
      ['exponent', '1.5e2'],
      ['exponent number too large to write plainly', 1e21],
      ['comma', '150,50'],
      ['text', 'ten'],
      ['boolean', true],
      ['object', { value: '150.50' }],
      ['NaN', NaN],
      ['Infinity', Infinity],
    ])('rejects a %s amount as not a decimal', (_label, amount) => {
      expectBroken(pe({ amount }), 'amount', 'decimal');
    });

    it('is required', () => {
      expectBroken(without(PE, 'amount'), 'amount', 'required');
      expectBroken(pe({ amount: '' }), 'amount', 'required');
      expectBroken(pe({ amount: null }), 'amount', 'required');
    });
  });

  describe('amount (MXN: whole pesos in [40, 15000])', () => {
    it.each<[unknown, string]>([
      ['40', '40'],
      [40, '40'],
      ['15000', '15000'],
      [15000, '15000'],
      [1500, '1500'],
      ['1500', '1500'],
      ['1500.00', '1500'],
      [1500.0, '1500'],
      ['01500', '1500'],
    ])('accepts %p and sends %p', (amount, sent) => {
      expect(expectValid(mx({ amount })).amount).toBe(sent);
    });

    it.each<[unknown]>([['39'], [39], ['0'], ['1']])(
      'rejects %p as below the minimum',
      (amount) => {
        expectAmountOutOfRange(mx({ amount }), 'min', '40', 'MXN');
      },
    );

    it.each<[unknown]>([['15001'], [15001], ['60000']])(
      'rejects %p as above the maximum',
      (amount) => {
        expectAmountOutOfRange(mx({ amount }), 'max', '15000');
      },
    );

    it.each<[unknown]>([[100.5], ['100.5'], ['1500.50'], ['40.01'], ['14999.99'], ['39.5']])(
      'rejects %p for not being whole pesos',
      (amount) => {
        expectBroken(mx({ amount }), 'amount', 'scale');
      },
    );
  });

  describe('amount limits overridden through the context', () => {
    const custom: CreatePayoutRuleContext = {
      limits: {
        PEN: { min: '1.00', max: '50000.00' },
        MXN: { min: '100', max: '200' },
      },
    };

    it('applies the overridden PEN range', () => {
      expectValid(pe({ amount: '1.00' }), custom);
      expectValid(pe({ amount: '5.00' }), custom);
      expectValid(pe({ amount: '50000.00' }), custom);
      expect(expectBroken(pe({ amount: '0.99' }), 'amount', 'min', custom).message).toContain(
        '1.00',
      );
      expect(expectBroken(pe({ amount: '50000.01' }), 'amount', 'max', custom).message).toContain(
        '50000.00',
      );
      // The market scale does not change with the limits.
      expectBroken(pe({ amount: '5.001' }), 'amount', 'scale', custom);
    });

    it('applies the overridden MXN range', () => {
      expectValid(mx({ amount: 100 }), custom);
      expectValid(mx({ amount: '200' }), custom);
      expect(expectBroken(mx({ amount: 99 }), 'amount', 'min', custom).message).toContain('100');
      expect(expectBroken(mx({ amount: '201' }), 'amount', 'max', custom).message).toContain('200');
      // 1500 is fine with the defaults, not with these limits.
      expectBroken(mx({ amount: '1500' }), 'amount', 'max', custom);
      expectValid(mx({ amount: '1500' }));
    });
  });

  describe('accountName', () => {
    it('allows 32 characters for PEN and rejects 33', () => {
      expectValid(pe({ accountName: 'A'.repeat(32) }));
      const error = expectBroken(pe({ accountName: 'A'.repeat(33) }), 'accountName', 'maxLength');
      expect(error.message).toContain('32');
    });

    it('allows 40 characters for MXN and rejects 41', () => {
      expectValid(mx({ accountName: 'A'.repeat(33) }));
      expectValid(mx({ accountName: 'A'.repeat(40) }));
      const error = expectBroken(mx({ accountName: 'A'.repeat(41) }), 'accountName', 'maxLength');
      expect(error.message).toContain('40');
    });

    it.each(['José Pérez', 'MUÑOZ QUISPE', 'Zoë Núñez', 'Ångström', 'Łukasz', '李雷', 'Maria 😀'])(
      'rejects %p (accented or non-ASCII characters)',
      (accountName) => {
        expectBroken(pe({ accountName }), 'accountName', 'characters');
        expectBroken(mx({ accountName }), 'accountName', 'characters');
      },
    );

    it.each(["Maria O'Brien-Quispe", 'Juan Perez Jr.', 'Jose Hernandez', 'ACME S.A.C.'])(
      'accepts %p',
      (accountName) => {
        expectValid(pe({ accountName }));
      },
    );

    it('is required and must be a non-blank string', () => {
      expectBroken(without(PE, 'accountName'), 'accountName', 'required');
      expectBroken(pe({ accountName: '' }), 'accountName', 'required');
      expectBroken(pe({ accountName: '   ' }), 'accountName', 'required');
      expectBroken(pe({ accountName: 123 }), 'accountName', 'type');
    });
  });

  describe('remark (required, at most 32 plain ASCII characters)', () => {
    it('allows 32 characters and rejects 33', () => {
      expectValid(pe({ remark: 'r'.repeat(32) }));
      expectValid(mx({ remark: 'r'.repeat(32) }));
      expect(expectBroken(pe({ remark: 'r'.repeat(33) }), 'remark', 'maxLength').message).toContain(
        '32',
      );
      expectBroken(mx({ remark: 'r'.repeat(33) }), 'remark', 'maxLength');
    });

    it.each(['retiro de saldo', 'Payout #123, order 45.', 'pago-cliente/2025'])(
      'accepts %p',
      (remark) => {
        expectValid(pe({ remark }));
        expectValid(mx({ remark }));
      },
    );

    it.each(['pago a José', 'devolución', 'año 2025', 'retiro €', '提现', 'ok 👍'])(
      'rejects %p',
      (remark) => {
        expectBroken(pe({ remark }), 'remark', 'characters');
        expectBroken(mx({ remark }), 'remark', 'characters');
      },
    );

    it('is required', () => {
      expectBroken(without(PE, 'remark'), 'remark', 'required');
      expectBroken(without(MX, 'remark'), 'remark', 'required');
      expectBroken(pe({ remark: '' }), 'remark', 'required');
      expectBroken(pe({ remark: '  ' }), 'remark', 'required');
      expectBroken(pe({ remark: 42 }), 'remark', 'type');
    });
  });

  describe('mchOrderNo (at most 32 characters)', () => {
    it('allows 32 characters and rejects 33', () => {
      expectValid(pe({ mchOrderNo: 'X'.repeat(32) }));
      expect(
        expectBroken(pe({ mchOrderNo: 'X'.repeat(33) }), 'mchOrderNo', 'maxLength').message,
      ).toContain('32');
    });

    it('accepts a single character', () => {
      expectValid(pe({ mchOrderNo: '1' }));
    });

    it('is required and a string', () => {
      expectBroken(without(PE, 'mchOrderNo'), 'mchOrderNo', 'required');
      expectBroken(pe({ mchOrderNo: '' }), 'mchOrderNo', 'required');
      expectBroken(pe({ mchOrderNo: 12345 }), 'mchOrderNo', 'type');
    });
  });

  describe('printable strings only (money-safety rule 9)', () => {
    // Control characters, bidirectional overrides and isolates, zero-width characters, the BOM, separators.
    const INVISIBLE = [
      '\t',
      '\n',
      '\u0000',
      '\u007f',
      '\u0085',
      '\u202e',
      '\u202d',
      '\u2066',
      '\u2069',
      '\u200b',
      '\u200d',
      '\u2060',
      '\ufeff',
      '\u2028',
    ];

    it.each(INVISIBLE)(
      'rejects %j in every text field it could hide in, before anything is sent',
      (char) => {
        expectBroken(pe({ accountName: `Maria${char}Quispe` }), 'accountName', 'printable');
        expectBroken(pe({ remark: `withdrawal${char}` }), 'remark', 'printable');
        expectBroken(pe({ idType: `1${char}` }), 'idType', 'printable');
        expectBroken(pe({ idCard: `1234${char}5678` }), 'idCard', 'printable');
        expectBroken(pe({ email: `a${char}b@example.com` }), 'email', 'printable');
        expectBroken(pe({ phone: `+51 999${char}888 777` }), 'phone', 'printable');
        expectBroken(
          pe({ notifyUrl: `https://pay.example.com/${char}notify` }),
          'notifyUrl',
          'printable',
        );
        expectBroken(mx({ accountName: `Jose${char}Hernandez` }), 'accountName', 'printable');
      },
    );

    it('sends notifyUrl normalized', () => {
      expect(
        expectValid(pe({ notifyUrl: 'HTTPS://Pay.Example.COM:443/a/../notify' })).notifyUrl,
      ).toBe('https://pay.example.com/notify');
    });
  });

  describe('notifyUrl (http(s), at most 250 characters, module default)', () => {
    it.each([
      'https://pay.example.com/cashy/payout/notify',
      'http://pay.example.com/notify',
      'http://127.0.0.1:3000/payout/webhook',
      'http://localhost:3000/payout/webhook',
      'http://[::1]:8080/hook',
      'http://192.168.1.10/hook',
      'http://10.0.0.5/hook?x=1',
    ])('accepts %p (loopback and private hosts included)', (notifyUrl) => {
      expect(expectValid(pe({ notifyUrl })).notifyUrl).toBe(notifyUrl);
    });

    it('allows 250 characters and rejects 251', () => {
      const prefix = 'https://pay.example.com/';
      const at250 = prefix + 'a'.repeat(250 - prefix.length);
      expect(at250).toHaveLength(250);
      expectValid(pe({ notifyUrl: at250 }));
      expect(
        expectBroken(pe({ notifyUrl: at250 + 'a' }), 'notifyUrl', 'maxLength').message,
      ).toContain('250');
    });

    it.each([
      'ftp://pay.example.com/notify',
      'pay.example.com/notify',
      '/payout/webhook',
      'not a url',
      'javascript:alert(1)',
      'mailto:ops@example.com',
      'https://',
    ])('rejects %p', (notifyUrl) => {
      expectBroken(pe({ notifyUrl }), 'notifyUrl', 'url');
    });

    it('rejects a non-string', () => {
      expectBroken(pe({ notifyUrl: 42 }), 'notifyUrl', 'type');
    });

    it('falls back to the default of the context, and a per-call value wins over it', () => {
      const context: CreatePayoutRuleContext = {
        limits: DEFAULT_LIMITS,
        defaultNotifyUrl: 'https://default.example.com/notify',
      };
      expect(expectValid(without(PE, 'notifyUrl'), context).notifyUrl).toBe(
        'https://default.example.com/notify',
      );
      expect(expectValid(without(MX, 'notifyUrl'), context).notifyUrl).toBe(
        'https://default.example.com/notify',
      );
      expect(expectValid(PE, context).notifyUrl).toBe(NOTIFY);
    });

    it('is required when there is no default', () => {
      const error = expectBroken(without(PE, 'notifyUrl'), 'notifyUrl', 'required');
      expect(error.message).toMatch(/module option/);
    });

    it('is not reported missing when the context says so (DTO validation)', () => {
      const result = checkCreatePayout(without(PE, 'notifyUrl'), {
        limits: DEFAULT_LIMITS,
        requireNotifyUrl: false,
      });
      expect(result.errors).toEqual([]);
    });
  });

  describe('accountType and bankId given as numbers or numeric strings', () => {
    it('accepts numeric strings and sends numbers', () => {
      const body = expectValid(pe({ accountType: '1', bankId: '3' }));
      expect(body.accountType).toBe(1);
      expect(body.bankId).toBe(3);
      const mxBody = expectValid(mx({ accountType: '40', bankId: '80' }));
      expect(mxBody.accountType).toBe(40);
      expect(mxBody.bankId).toBe(80);
    });

    it.each<[string, unknown]>([
      ['a fraction', 1.5],
      ['a negative number', -1],
      ['a negative string', '-1'],
      ['a decimal string', '1.0'],
      ['letters', 'ahorro'],
      ['a boolean', true],
      ['an array', [1]],
      ['NaN', NaN],
    ])('rejects accountType as %s', (_label, accountType) => {
      expectBroken(pe({ accountType }), 'accountType', 'integer');
    });

    it.each<[string, unknown]>([
      ['a fraction', 3.5],
      ['a negative number', -3],
      ['letters', 'BCP'],
      ['digits with a letter', '3a'],
      ['a boolean', false],
    ])('rejects bankId as %s', (_label, bankId) => {
      expectBroken(pe({ bankId }), 'bankId', 'integer');
    });

    it('requires both', () => {
      expectBroken(without(PE, 'accountType'), 'accountType', 'required');
      expectBroken(pe({ accountType: '' }), 'accountType', 'required');
      expectBroken(without(MX, 'bankId'), 'bankId', 'required');
      expectBroken(pe({ bankId: null }), 'bankId', 'required');
    });
  });

  describe('account numbers are strings of digits', () => {
    it('rejects accountNo given as a number (it would lose leading zeros)', () => {
      expectBroken(pe({ accountNo: 19112345678012 }), 'accountNo', 'type');
      expectBroken(mx({ accountNo: 2010077777777771 }), 'accountNo', 'type');
    });

    it('rejects cciAccountNo given as a number with one entry (not also "required")', () => {
      expectBroken(
        pe({
          bankId: 6,
          accountNo: BANBIF_CCI,
          // eslint-disable-next-line no-loss-of-precision -- a CCI as a number loses digits: that is the point
          cciAccountNo: 3810110700064503226,
        }),
        'cciAccountNo',
        'type',
      );
    });

    it('rejects cciAccountNo given as a number (rule type reported)', () => {
      const result = checkCreatePayout(
        pe({
          bankId: 6,
          accountNo: BANBIF_CCI,
          // eslint-disable-next-line no-loss-of-precision -- a CCI as a number loses digits: that is the point
          cciAccountNo: 3810110700064503226,
        }),
        CTX,
      );
      expect(result.errors).toContainEqual(
        expect.objectContaining({ field: 'cciAccountNo', rule: 'type' }),
      );
      expect(result.body).toBeUndefined();
    });

    it.each(['1911-2345678-0-12', '191 12345678012', '1911234567801A', '+19112345678012'])(
      'rejects accountNo %p with non-digits',
      (accountNo) => {
        expectBroken(pe({ accountNo }), 'accountNo', 'digits');
      },
    );

    it('requires accountNo', () => {
      expectBroken(without(PE, 'accountNo'), 'accountNo', 'required');
      expectBroken(without(MX, 'accountNo'), 'accountNo', 'required');
      expectBroken(pe({ accountNo: '' }), 'accountNo', 'required');
    });
  });

  describe('bankId must be in the market bank table', () => {
    it.each([0, 15, 16, 29, 99])('rejects PEN bankId %p, pointing to listBanks', (bankId) => {
      const error = expectBroken(pe({ bankId }), 'bankId', 'unknownBank');
      expect(error.message).toContain('listBanks');
      expect(error.message).toContain(String(bankId));
      expect(error.message).toContain('PEN');
    });

    it.each([1, 2, 9, 14, 23, 82, 90, 91, 96, 1000])(
      'rejects MXN bankId %p, pointing to listBanks',
      (bankId) => {
        const error = expectBroken(mx({ bankId }), 'bankId', 'unknownBank');
        expect(error.message).toContain('listBanks');
        expect(error.message).toContain('MXN');
      },
    );

    it('reports an unknown numeric-string bankId the same way', () => {
      expectBroken(pe({ bankId: '15' }), 'bankId', 'unknownBank');
    });
  });

  describe('Peru', () => {
    describe('accountType: 0 corriente or 1 ahorro only', () => {
      it('accepts 0 with a 13-digit BCP account and 1 with a 14-digit one', () => {
        expectValid(pe({ accountType: 0, accountNo: '1911234567801' }));
        expectValid(pe({ accountType: 1, accountNo: '19112345678012' }));
      });

      it.each([2, 3, 40, 10])('rejects %p', (accountType) => {
        const error = expectBroken(
          pe({
            accountType,
            bankId: 6,
            accountNo: BANBIF_CCI,
            cciAccountNo: BANBIF_CCI,
          }),
          'accountType',
          'accountType',
        );
        expect(error.message).toContain('PEN');
      });
    });

    describe('idType (1-4) and idCard per document', () => {
      it.each<[string, string]>([
        ['1', '12345678'],
        ['2', 'AB12345'],
        ['2', 'AB1234567890'],
        ['2', '1234567'],
        ['3', 'CE123456'],
        ['3', '00123456'],
        ['3', 'A'.repeat(20)],
        ['4', '20123456789'],
        ['4', '10456712345'],
      ])('accepts idType %p with idCard %p', (idType, idCard) => {
        const body = expectValid(pe({ idType, idCard }));
        expect(body.idType).toBe(idType);
        expect(body.idCard).toBe(idCard);
      });

      it.each<[string, string, string]>([
        ['DNI', '1', '1234567'],
        ['DNI', '1', '123456789'],
        ['DNI', '1', '1234567A'],
        ['DNI', '1', '1234 678'],
        ['PAS', '2', 'AB1234'],
        ['PAS', '2', 'AB12345678901'],
        ['PAS', '2', 'AB-12345'],
        ['PAS', '2', 'ÑB12345'],
        ['CE', '3', 'CE12345'],
        ['CE', '3', 'A'.repeat(21)],
        ['CE', '3', 'CE 123456'],
        ['RUC', '4', '2012345678'],
        ['RUC', '4', '201234567890'],
        ['RUC', '4', '2012345678A'],
      ])('rejects a %s (idType %p) idCard %p', (name, idType, idCard) => {
        const error = expectBroken(pe({ idType, idCard }), 'idCard', 'idFormat');
        expect(error.message).toContain(name);
      });

      it('rejects an idCard over 32 characters whatever the document', () => {
        expectBroken(pe({ idType: '3', idCard: 'A'.repeat(33) }), 'idCard', 'maxLength');
      });

      it.each(['0', '5', '9', 'DNI', '01'])('rejects idType %p', (idType) => {
        expectBroken(pe({ idType }), 'idType', 'idType');
      });

      it('accepts idType as a whole number and sends it as a string', () => {
        const body = expectValid(pe({ idType: 1 }));
        expect(body.idType).toBe('1');
        expect(expectValid(pe({ idType: 4, idCard: '20123456789' })).idType).toBe('4');
      });

      it('rejects idType of another type', () => {
        expectBroken(pe({ idType: 1.5 }), 'idType', 'type');
        expectBroken(pe({ idType: true }), 'idType', 'type');
      });

      it('requires idType and idCard for PEN', () => {
        expectBroken(without(PE, 'idType'), 'idType', 'required');
        expectBroken(pe({ idType: '' }), 'idType', 'required');
        expectBroken(without(PE, 'idCard'), 'idCard', 'required');
        expectBroken(pe({ idCard: '' }), 'idCard', 'required');
      });
    });

    describe('account-number format of the big four', () => {
      it.each<[string, number, number, number]>([
        ['BBVA', 1, 0, 18],
        ['BBVA', 1, 1, 18],
        ['BBVA', 1, 0, 20],
        ['BBVA', 1, 1, 20],
        ['Interbank', 2, 0, 13],
        ['Interbank', 2, 1, 13],
        ['BCP corriente', 3, 0, 13],
        ['BCP ahorro', 3, 1, 14],
        ['Scotiabank', 4, 0, 10],
        ['Scotiabank', 4, 1, 10],
      ])(
        'accepts %s (bankId %p, accountType %p) with %p digits',
        (_name, bankId, accountType, length) => {
          expectValid(pe({ bankId, accountType, accountNo: '1'.repeat(length) }));
        },
      );

      it.each<[string, number, number, number]>([
        ['BBVA', 1, 1, 17],
        ['BBVA', 1, 1, 19],
        ['BBVA', 1, 1, 21],
        ['BBVA', 1, 0, 10],
        ['Interbank', 2, 1, 12],
        ['Interbank', 2, 1, 14],
        ['BCP corriente', 3, 0, 12],
        ['BCP corriente', 3, 0, 14],
        ['BCP ahorro', 3, 1, 13],
        ['BCP ahorro', 3, 1, 15],
        ['Scotiabank', 4, 1, 9],
        ['Scotiabank', 4, 1, 11],
        ['Scotiabank', 4, 1, 20],
      ])(
        'rejects %s (bankId %p, accountType %p) with %p digits',
        (_name, bankId, accountType, length) => {
          const error = expectBroken(
            pe({ bankId, accountType, accountNo: '1'.repeat(length) }),
            'accountNo',
            'accountFormat',
          );
          expect(error.message).toContain(`bankId ${bankId}`);
        },
      );

      it('does not require cciAccountNo for the big four', () => {
        expectValid(pe({ bankId: 1, accountNo: '001106660100012345' }));
        expectValid(pe({ bankId: 4, accountNo: '0037651234' }));
      });

      it('checks an optional cciAccountNo given to a big-four bank', () => {
        const body = expectValid(pe({ cciAccountNo: BCP_CCI }));
        expect(body.cciAccountNo).toBe(BCP_CCI);
        expectBroken(pe({ cciAccountNo: CASHY_INVALID_CCI }), 'cciAccountNo', 'cciCheckDigits');
        // Valid check digits, but the BBVA entity code 011 does not belong to BCP (002).
        const error = expectBroken(
          pe({ cciAccountNo: makeCci('011066000100012345') }),
          'cciAccountNo',
          'cciBankMatch',
        );
        expect(error.message).toContain('002');
      });

      it.each<[number, string]>([
        [1, '011'],
        [2, '003'],
        [3, '002'],
        [4, '009'],
      ])('matches the CCI entity code of big-four bankId %p (%p)', (bankId, entity) => {
        const accountNo = {
          1: '1'.repeat(18),
          2: '1'.repeat(13),
          3: '1'.repeat(14),
          4: '1'.repeat(10),
        }[bankId]!;
        expectValid(
          pe({
            bankId,
            accountNo,
            cciAccountNo: makeCci(`${entity}123456789012345`),
          }),
        );
        expectBroken(
          pe({
            bankId,
            accountNo,
            cciAccountNo: makeCci('038123456789012345'),
          }),
          'cciAccountNo',
          'cciBankMatch',
        );
      });
    });

    describe('other banks are paid by CCI', () => {
      it('accepts the reference BanBif example and sends the CCI in cciAccountNo', () => {
        const body = expectValid(
          pe({ bankId: 6, accountNo: BANBIF_CCI, cciAccountNo: BANBIF_CCI }),
        );
        expect(body.cciAccountNo).toBe(BANBIF_CCI);
        expect(body.accountNo).toBe(BANBIF_CCI);
      });

      it("accepts the bank's own account number in accountNo (digits, at most 32)", () => {
        expectValid(
          pe({
            bankId: 6,
            accountNo: '107000645032',
            cciAccountNo: BANBIF_CCI,
          }),
        );
        expectValid(
          pe({
            bankId: 6,
            accountNo: '1'.repeat(32),
            cciAccountNo: BANBIF_CCI,
          }),
        );
        expectBroken(
          pe({
            bankId: 6,
            accountNo: '1'.repeat(33),
            cciAccountNo: BANBIF_CCI,
          }),
          'accountNo',
          'maxLength',
        );
      });

      it('requires cciAccountNo', () => {
        const error = expectBroken(
          pe({ bankId: 6, accountNo: BANBIF_CCI }),
          'cciAccountNo',
          'required',
        );
        expect(error.message).toContain('bankId 6');
        expectBroken(
          pe({ bankId: 6, accountNo: BANBIF_CCI, cciAccountNo: '' }),
          'cciAccountNo',
          'required',
        );
        expectBroken(pe({ bankId: 22, accountNo: '123456789' }), 'cciAccountNo', 'required');
      });

      it("rejects Cashy's appendix CCI and any CCI with wrong check digits", () => {
        expectBroken(
          pe({
            bankId: 3,
            accountNo: '19112345678012',
            cciAccountNo: CASHY_INVALID_CCI,
          }),
          'cciAccountNo',
          'cciCheckDigits',
        );
        expectBroken(
          pe({
            bankId: 6,
            accountNo: BANBIF_CCI,
            cciAccountNo: '03810110700064503227',
          }),
          'cciAccountNo',
          'cciCheckDigits',
        );
        expectBroken(
          pe({
            bankId: 6,
            accountNo: BANBIF_CCI,
            cciAccountNo: '03810110700064503216',
          }),
          'cciAccountNo',
          'cciCheckDigits',
        );
      });

      it('rejects a CCI that is not 20 digits', () => {
        expectBroken(
          pe({
            bankId: 6,
            accountNo: BANBIF_CCI,
            cciAccountNo: BANBIF_CCI.slice(0, 19),
          }),
          'cciAccountNo',
          'cciCheckDigits',
        );
        expectBroken(
          pe({
            bankId: 6,
            accountNo: BANBIF_CCI,
            cciAccountNo: BANBIF_CCI + '0',
          }),
          'cciAccountNo',
          'cciCheckDigits',
        );
        const result = checkCreatePayout(
          pe({
            bankId: 6,
            accountNo: BANBIF_CCI,
            cciAccountNo: '038-101-107000645032-26',
          }),
          CTX,
        );
        expect(result.errors).toContainEqual(
          expect.objectContaining({ field: 'cciAccountNo', rule: 'digits' }),
        );
        expect(result.body).toBeUndefined();
      });

      it('reports a malformed cciAccountNo once, not also as "required"', () => {
        expectBroken(
          pe({
            bankId: 6,
            accountNo: BANBIF_CCI,
            cciAccountNo: '038-101-107000645032-26',
          }),
          'cciAccountNo',
          'digits',
        );
        expectBroken(
          pe({
            bankId: 6,
            accountNo: BANBIF_CCI,
            cciAccountNo: '1'.repeat(33),
          }),
          'cciAccountNo',
          'maxLength',
        );
      });

      it('rejects a valid CCI of another bank (entity prefix mismatch)', () => {
        const error = expectBroken(
          pe({ bankId: 6, accountNo: BCP_CCI, cciAccountNo: BCP_CCI }),
          'cciAccountNo',
          'cciBankMatch',
        );
        expect(error.message).toContain('038');
        expect(error.message).toContain('002');
      });

      // Entity codes from cashy-reference §4 (other processors' public lists), by Cashy's bank names.
      it.each<[string, number, string]>([
        ['Banco Falabella', 5, '054'],
        ['BanBif', 6, '038'],
        ['Banco Santander', 7, '056'],
        ['Mi Banco', 8, '049'],
        ['Banco de Comercio', 9, '023'],
        ['Banco Financiero', 10, '035'],
        ['Banco GNB', 11, '053'],
        ['Citibank', 12, '007'],
        ['Banco de la Nacion', 13, '018'],
        ['CMAC Trujillo', 14, '802'],
        ['CMAC Sullana', 17, '805'],
        ['CMAC Cusco', 18, '806'],
        ['CMAC Huancayo', 19, '808'],
        ['Caja Metropolitana', 20, '800'],
        ['Banco Pichincha', 21, '035'],
        ['Caja Tacna', 27, '813'],
        ['Banco Ripley', 28, '055'],
      ])('%s (bankId %p) takes CCIs starting %p and no other', (_name, bankId, entity) => {
        const own = makeCci(`${entity}001123456789012`);
        expectValid(pe({ bankId, accountNo: own, cciAccountNo: own }));
        const other = makeCci(`${entity === '038' ? '054' : '038'}001123456789012`);
        expectBroken(
          pe({ bankId, accountNo: other, cciAccountNo: other }),
          'cciAccountNo',
          'cciBankMatch',
        );
      });

      it.each<[string, number]>([
        ['Banco Azteca', 22],
        ['Banco Cencosud', 23],
        ['ICBC PERU BANK', 24],
        ['Caja Maynas', 25],
        ['Caja Municipal Ica', 26],
      ])(
        '%s (bankId %p) has no published entity code: any valid CCI is accepted, an invalid one is not',
        (_name, bankId) => {
          const cci = makeCci('999001123456789012');
          expectValid(pe({ bankId, accountNo: cci, cciAccountNo: cci }));
          expectBroken(
            pe({ bankId, accountNo: cci, cciAccountNo: CASHY_INVALID_CCI }),
            'cciAccountNo',
            'cciCheckDigits',
          );
        },
      );
    });
  });

  describe('Mexico', () => {
    const STP_CLABE = makeClabe('64618012345678901');
    const BBVA_MX_CLABE = makeClabe('01218000123456789');
    const BANXICO_CLABE = makeClabe('00118000123456789');

    describe('accountType 3: 16-digit card/account number', () => {
      it('accepts 16 digits', () => {
        const body = expectValid(mx({ accountType: 3, accountNo: '4152313812345678', bankId: 79 }));
        expect(body.accountType).toBe(3);
      });

      it.each([15, 17, 18, 10])('rejects %p digits', (length) => {
        const error = expectBroken(
          mx({ accountType: 3, accountNo: '4'.repeat(length), bankId: 79 }),
          'accountNo',
          'accountFormat',
        );
        expect(error.message).toContain('16');
      });
    });

    describe('accountType 40: CLABE with a valid check digit matching the bank', () => {
      it('accepts CLABEs whose prefix is the last 3 digits of the bank SPEI code', () => {
        expectValid(mx({ accountNo: '002010077777777771', bankId: 80 })); // BANAMEX 40002
        expectValid(mx({ accountNo: BBVA_MX_CLABE, bankId: 79 })); // BBVA MEXICO 40012
        expectValid(mx({ accountNo: makeClabe('07218000123456789'), bankId: 68 })); // BANORTE 40072
        expectValid(mx({ accountNo: STP_CLABE, bankId: 24 })); // STP 90646
        expectValid(mx({ accountNo: BANXICO_CLABE, bankId: 87 })); // BANXICO 2001 -> 001
      });

      it('rejects a wrong check digit (published vector 002010077777777779)', () => {
        const error = expectBroken(
          mx({ accountNo: '002010077777777779' }),
          'accountNo',
          'clabeCheckDigit',
        );
        expect(error.message).toContain('CLABE');
      });

      it.each(['00201007777777777', '0020100777777777710', '4152313812345678'])(
        'rejects %p (not 18 digits)',
        (accountNo) => {
          expectBroken(mx({ accountNo }), 'accountNo', 'clabeCheckDigit');
        },
      );

      it('rejects a checksum-valid CLABE of another bank', () => {
        const result = checkCreatePayout(mx({ accountNo: BBVA_MX_CLABE, bankId: 80 }), CTX);
        expect(result.errors.map((e) => [e.field, e.rule])).toEqual([
          ['accountNo', 'clabeBankMatch'],
        ]);
        expect(result.errors[0].message).toContain('012');
        expect(result.errors[0].message).toContain('002');
      });

      it('rejects the reference example: 032180000118359719 sent to BBVA MEXICO (79), its prefix 032 is not 012', () => {
        const result = checkCreatePayout(mx({ accountNo: '032180000118359719', bankId: 79 }), CTX);
        expect(result.errors.map((e) => [e.field, e.rule])).toEqual([
          ['accountNo', 'clabeBankMatch'],
        ]);
      });

      it('rejects the checksum-valid 000000000000000000 for every bank (bank 000 does not exist)', () => {
        const accepted: number[] = [];
        for (const bankId of [5, 24, 38, 79, 80, 87, 95]) {
          const result = checkCreatePayout(mx({ accountNo: '000000000000000000', bankId }), CTX);
          if (!result.errors.some((e) => e.field === 'accountNo' && e.rule === 'clabeBankMatch'))
            accepted.push(bankId);
        }
        expect(accepted).toEqual([]);
      });

      it('names the field accountNo in the clabeBankMatch message', () => {
        const result = checkCreatePayout(mx({ accountNo: BBVA_MX_CLABE, bankId: 80 }), CTX);
        expect(result.errors[0].message).toContain('accountNo');
      });
    });

    it.each([0, 1, 2, 4, 39, 41])('rejects accountType %p', (accountType) => {
      const error = expectBroken(mx({ accountType }), 'accountType', 'accountType');
      expect(error.message).toContain('MXN');
    });

    it('STP (bankId 24) accepts CLABE only', () => {
      expectValid(mx({ bankId: 24, accountType: 40, accountNo: STP_CLABE }));
      const error = expectBroken(
        mx({ bankId: 24, accountType: 3, accountNo: '4152313812345678' }),
        'accountType',
        'stpClabeOnly',
      );
      expect(error.message).toContain('40');
      expectBroken(
        mx({ bankId: '24', accountType: '3', accountNo: '4152313812345678' }),
        'accountType',
        'stpClabeOnly',
      );
    });

    it('rejects cciAccountNo (a Peruvian field)', () => {
      expectBroken(mx({ cciAccountNo: BCP_CCI }), 'cciAccountNo', 'notAllowed');
    });

    it('does not require idType or idCard, and checks them when given', () => {
      const body = expectValid(MX);
      expect(body).not.toHaveProperty('idType');
      expect(body).not.toHaveProperty('idCard');
      const withId = expectValid(mx({ idType: '1', idCard: 'HEGJ800101HDFRRN09' }));
      expect(withId.idType).toBe('1');
      expect(withId.idCard).toBe('HEGJ800101HDFRRN09');
      expectBroken(mx({ idCard: 'HEGJ-800101' }), 'idCard', 'idFormat');
      expectBroken(mx({ idCard: 'A'.repeat(33) }), 'idCard', 'maxLength');
    });
  });

  describe('phone and email (optional)', () => {
    it('accepts and sends valid values', () => {
      const body = expectValid(pe({ phone: '+51 987 654 321', email: 'maria@example.com' }));
      expect(body.phone).toBe('+51 987 654 321');
      expect(body.email).toBe('maria@example.com');
    });

    it('rejects malformed values', () => {
      expectBroken(pe({ email: 'maria@' }), 'email', 'email');
      expectBroken(pe({ email: 'maria example.com' }), 'email', 'email');
      expectBroken(mx({ phone: 'call me' }), 'phone', 'phone');
    });
  });

  describe('several broken rules are reported together, one entry per broken rule', () => {
    it('lists every broken rule of a PEN payout', () => {
      const result = checkCreatePayout(
        pe({
          nonceStr: 'x',
          accountName: 'José Pérez',
          amount: '9.99',
          bankId: 99,
          remark: undefined,
          mchOrderNo: 'M'.repeat(33),
        }),
        CTX,
      );
      const pairs = result.errors.map((e) => `${e.field}:${e.rule}`);
      expect(pairs.sort()).toEqual(
        [
          'accountName:characters',
          'amount:min',
          'bankId:unknownBank',
          'mchOrderNo:maxLength',
          'nonceStr:notAllowed',
          'remark:required',
        ].sort(),
      );
      expect(new Set(pairs).size).toBe(pairs.length);
      expect(result.body).toBeUndefined();
      for (const error of result.errors) expect(error.message).toContain(error.field);
    });

    it('lists market rules and common rules together', () => {
      const result = checkCreatePayout(
        pe({
          accountType: 2,
          idType: '1',
          idCard: '123',
          bankId: 6,
          accountNo: BANBIF_CCI,
          cciAccountNo: undefined,
          amount: '150.505',
          notifyUrl: 'ftp://x',
        }),
        CTX,
      );
      expect(result.errors.map((e) => `${e.field}:${e.rule}`).sort()).toEqual(
        [
          'accountType:accountType',
          'amount:scale',
          'cciAccountNo:required',
          'idCard:idFormat',
          'notifyUrl:url',
        ].sort(),
      );
    });

    it('lists two rules broken on related MXN fields', () => {
      const result = checkCreatePayout(
        mx({
          bankId: 24,
          accountType: 3,
          accountNo: '415231381234567',
          amount: 100.5,
        }),
        CTX,
      );
      expect(result.errors.map((e) => `${e.field}:${e.rule}`).sort()).toEqual([
        'accountNo:accountFormat',
        'accountType:stpClabeOnly',
        'amount:scale',
      ]);
    });

    it('reports several unknown fields, one entry each', () => {
      const result = checkCreatePayout(pe({ a: 1, b: 2, nonceStr: 'n' }), CTX);
      expect(result.errors.map((e) => `${e.field}:${e.rule}`).sort()).toEqual([
        'a:unknownField',
        'b:unknownField',
        'nonceStr:notAllowed',
      ]);
    });
  });

  describe('the body to send', () => {
    it('is normalized and keyed in the documented order (PEN)', () => {
      const body = expectValid(pe({ amount: '150.5', accountType: '1', bankId: '3', idType: 1 }));
      expect(body).toEqual({
        accountName: 'Juan Perez',
        accountNo: '19112345678012',
        accountType: 1,
        currency: 'PEN',
        amount: '150.50',
        bankId: 3,
        mchOrderNo: 'PE-2025-000123',
        notifyUrl: NOTIFY,
        idType: '1',
        idCard: '45671234',
        remark: 'withdrawal',
      });
      expect(Object.keys(body)).toEqual([
        'accountName',
        'accountNo',
        'accountType',
        'currency',
        'amount',
        'bankId',
        'mchOrderNo',
        'notifyUrl',
        'idType',
        'idCard',
        'remark',
      ]);
      expect(typeof body.accountType).toBe('number');
      expect(typeof body.bankId).toBe('number');
      expect(typeof body.idType).toBe('string');
      expect(typeof body.amount).toBe('string');
    });

    it('places every optional field at its documented position', () => {
      const body = expectValid(
        pe({
          bankId: 6,
          accountNo: BANBIF_CCI,
          cciAccountNo: BANBIF_CCI,
          phone: '+51987654321',
          email: 'm@example.com',
        }),
      );
      expect(Object.keys(body)).toEqual([
        'accountName',
        'accountNo',
        'cciAccountNo',
        'accountType',
        'currency',
        'amount',
        'bankId',
        'mchOrderNo',
        'notifyUrl',
        'idType',
        'idCard',
        'phone',
        'email',
        'remark',
      ]);
    });

    it('reproduces the reference Peru example (§3.1) byte for byte, without nonceStr', () => {
      const example =
        '{"accountName":"Maria Quispe","accountNo":"03810110700064503226","cciAccountNo":"03810110700064503226","accountType":1,"currency":"PEN","amount":"250.00","bankId":6,"mchOrderNo":"PE-2025-000123","notifyUrl":"https://pay.example.com/cashy/payout/notify","nonceStr":"k3j9x0q2","idType":"1","idCard":"45671234","remark":"withdrawal"}';
      const { nonceStr: _nonce, ...input } = JSON.parse(example) as Record<string, unknown>;
      const body = expectValid({ ...input, amount: 250 });
      expect(JSON.stringify(body)).toBe(example.replace('"nonceStr":"k3j9x0q2",', ''));
    });

    it('is normalized and keyed in the documented order (MXN)', () => {
      const body = expectValid(mx({ amount: 1500, accountType: '40', bankId: '80' }));
      expect(body).toEqual({
        accountName: 'Jose Hernandez',
        accountNo: '002010077777777771',
        accountType: 40,
        currency: 'MXN',
        amount: '1500',
        bankId: 80,
        mchOrderNo: 'MX-2025-000045',
        notifyUrl: NOTIFY,
        remark: 'retiro',
      });
      expect(Object.keys(body)).toEqual([
        'accountName',
        'accountNo',
        'accountType',
        'currency',
        'amount',
        'bankId',
        'mchOrderNo',
        'notifyUrl',
        'remark',
      ]);
    });

    it('carries no nonceStr and no field that was not given', () => {
      const body = expectValid(PE);
      expect(body).not.toHaveProperty('nonceStr');
      expect(body).not.toHaveProperty('cciAccountNo');
      expect(body).not.toHaveProperty('phone');
      expect(body).not.toHaveProperty('email');
    });

    it('is absent whenever a rule is broken', () => {
      expect(checkCreatePayout(pe({ amount: '9.99' }), CTX).body).toBeUndefined();
    });
  });
});

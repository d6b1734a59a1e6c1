import {
  compareDecimals,
  decimalPlaces,
  formatDecimal,
  parseDecimal,
  toScaledInteger,
  type ParsedDecimal,
} from '../../lib/markets/decimal';
import { normalizeAmount } from '../../lib/client/cashy-wire';

const p = (value: unknown): ParsedDecimal => {
  const parsed = parseDecimal(value);
  if (!parsed) throw new Error(`test setup: ${String(value)} should parse`);
  return parsed;
};
const cmp = (a: unknown, b: unknown) => compareDecimals(p(a), p(b));

describe('decimal helpers (amounts never pass through floats)', () => {
  describe('parseDecimal', () => {
    it.each<[unknown, ParsedDecimal]>([
      ['150.50', { negative: false, integer: '150', fraction: '5' }],
      ['150.5', { negative: false, integer: '150', fraction: '5' }],
      ['0150.50', { negative: false, integer: '150', fraction: '5' }],
      ['1500', { negative: false, integer: '1500', fraction: '' }],
      ['1500.00', { negative: false, integer: '1500', fraction: '' }],
      ['10.00', { negative: false, integer: '10', fraction: '' }],
      ['0', { negative: false, integer: '0', fraction: '' }],
      ['000', { negative: false, integer: '0', fraction: '' }],
      ['0.05', { negative: false, integer: '0', fraction: '05' }],
      ['00.10', { negative: false, integer: '0', fraction: '1' }],
      ['-2.50', { negative: true, integer: '2', fraction: '5' }],
      ['99999999999999999.99', { negative: false, integer: '99999999999999999', fraction: '99' }],
      [
        '123456789012345678901234567890.123456789',
        {
          negative: false,
          integer: '123456789012345678901234567890',
          fraction: '123456789',
        },
      ],
    ])('parses the string %p', (input, expected) => {
      expect(parseDecimal(input)).toEqual(expected);
    });

    it.each<[number, ParsedDecimal]>([
      [100.0, { negative: false, integer: '100', fraction: '' }],
      [150.5, { negative: false, integer: '150', fraction: '5' }],
      [150.55, { negative: false, integer: '150', fraction: '55' }],
      [1500, { negative: false, integer: '1500', fraction: '' }],
      [0.1, { negative: false, integer: '0', fraction: '1' }],
      [0, { negative: false, integer: '0', fraction: '' }],
      [-7.25, { negative: true, integer: '7', fraction: '25' }],
      [133334.0, { negative: false, integer: '133334', fraction: '' }],
    ])(
      'parses the JSON number %p by its shortest round-trip text (no float noise)',
      (input, expected) => {
        expect(parseDecimal(input)).toEqual(expected);
      },
    );

    it('treats negative zero as zero', () => {
      expect(parseDecimal('-0')).toEqual({
        negative: false,
        integer: '0',
        fraction: '',
      });
      expect(parseDecimal('-0.00')).toEqual({
        negative: false,
        integer: '0',
        fraction: '',
      });
      expect(parseDecimal(-0)).toEqual({
        negative: false,
        integer: '0',
        fraction: '',
      });
    });

    it.each(['1e3', '1E3', '1.5e2', '1e-2', '-1e3', '15e-1'])(
      'rejects the exponent notation %p',
      (input) => {
        expect(parseDecimal(input)).toBeUndefined();
      },
    );

    it('rejects numbers whose shortest text uses an exponent (too large or too small to write plainly)', () => {
      expect(String(1e21)).toBe('1e+21');
      expect(parseDecimal(1e21)).toBeUndefined();
      expect(parseDecimal(1e-7)).toBeUndefined();
      expect(parseDecimal(Number.MAX_VALUE)).toBeUndefined();
    });

    it.each<[string, unknown]>([
      ['empty string', ''],
      ['blank string', '   '],
      ['leading dot', '.5'],
      ['trailing dot', '5.'],
      ['plus sign', '+5'],
      ['thousands separator', '1,000.00'],
      ['decimal comma', '150,50'],
      ['two dots', '1.2.3'],
      ['hex', '0x10'],
      ['currency sign', 'S/ 150.00'],
      ['letters', 'abc'],
      ['NaN text', 'NaN'],
      ['Infinity text', 'Infinity'],
      ['inner space', '150 .50'],
      ['full-width digits', '１５０'],
      ['Arabic-Indic digits', '١٥٠'],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['null', null],
      ['undefined', undefined],
      ['boolean', true],
      ['object', { value: '1' }],
      ['array', ['1']],
      ['bigint', 10n],
    ])('rejects %s', (_label, input) => {
      expect(parseDecimal(input)).toBeUndefined();
    });
  });

  describe('decimalPlaces and toScaledInteger', () => {
    it('counts decimals actually used (trailing zeros do not count)', () => {
      expect(decimalPlaces(p('150.50'))).toBe(1);
      expect(decimalPlaces(p('150.505'))).toBe(3);
      expect(decimalPlaces(p('1500.000'))).toBe(0);
      expect(decimalPlaces(p(100.0))).toBe(0);
      expect(decimalPlaces(p('0.01'))).toBe(2);
    });

    it('scales exactly with bigint', () => {
      expect(toScaledInteger(p('150.5'), 2)).toBe(15050n);
      expect(toScaledInteger(p('0.01'), 2)).toBe(1n);
      expect(toScaledInteger(p('-2.5'), 1)).toBe(-25n);
      expect(toScaledInteger(p('99999999999999999.99'), 2)).toBe(9999999999999999999n);
    });
  });

  describe('hostile input', () => {
    it('rejects texts longer than 64 characters at once, whatever they hold', () => {
      expect(p('1'.repeat(64))).toEqual({
        negative: false,
        integer: '1'.repeat(64),
        fraction: '',
      });
      // Without the cap, a backtracking pattern would spend minutes on the first two.
      for (const text of [
        '0'.repeat(100_000) + 'x',
        '1.' + '0'.repeat(100_000) + '1',
        '0'.repeat(65),
      ]) {
        expect(parseDecimal(text)).toBeUndefined();
      }
    });
  });

  describe('compareDecimals', () => {
    it('orders the limit boundaries exactly', () => {
      expect(cmp('10.00', '9.99')).toBe(1);
      expect(cmp('9.99', '10.00')).toBe(-1);
      expect(cmp('10', '10.00')).toBe(0);
      expect(cmp('2000.01', '2000.00')).toBe(1);
      expect(cmp('2000.00', '2000')).toBe(0);
      expect(cmp(15001, '15000')).toBe(1);
      expect(cmp(40, '40')).toBe(0);
      expect(cmp('39', 40)).toBe(-1);
    });

    it('is exact where floating point is not', () => {
      // In floats 0.1 + 0.2 !== 0.3; here the decimal texts compare as written.
      expect(0.1 + 0.2 === 0.3).toBe(false);
      expect(cmp('0.3', '0.30')).toBe(0);
      expect(cmp('0.30000000000000004', '0.3')).toBe(1);
      expect(cmp(0.1 + 0.2, '0.3')).toBe(1); // the number really is 0.30000000000000004
      // 2^53 + 1 is not representable as a double; as text it still compares correctly.
      expect(Number('9007199254740993') === Number('9007199254740992')).toBe(true);
      expect(cmp('9007199254740993', '9007199254740992')).toBe(1);
      expect(cmp('99999999999999999.99', '99999999999999999.98')).toBe(1);
      expect(cmp('99999999999999999.99', '100000000000000000')).toBe(-1);
      expect(cmp('0.000000000000000000001', '0')).toBe(1);
    });

    it('compares values with different numbers of decimals', () => {
      expect(cmp('1.5', '1.49999')).toBe(1);
      expect(cmp('1.05', '1.5')).toBe(-1);
      expect(cmp('150.5', 150.5)).toBe(0);
      expect(cmp('0150.50', '150.5')).toBe(0);
    });

    it('agrees with exact bigint arithmetic on thousands of generated pairs', () => {
      // A seeded Park–Miller generator (its products stay below 2^53), so a failure replays.
      let seed = 20261122;
      const next = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
      const digits = (count: number) =>
        Array.from({ length: count }, () => String(next(10))).join('');
      const generate = () => {
        // Leading zeros, integer parts of 1 to 12 digits, fractions of 0 to 6 digits (trailing zeros too).
        const integer = '0'.repeat(next(3)) + digits(1 + next(12));
        const fraction = next(4) === 0 ? '' : digits(1 + next(6));
        return `${next(5) === 0 ? '-' : ''}${integer}${fraction ? `.${fraction}` : ''}`;
      };
      const exact = (text: string, scale: number) => {
        const [integer, fraction = ''] = text.replace('-', '').split('.');
        const units = BigInt(integer + fraction.padEnd(scale, '0'));
        return text.startsWith('-') ? -units : units;
      };
      for (let i = 0; i < 5000; i++) {
        const a = generate();
        const b = next(10) === 0 ? a : generate();
        const diff = exact(a, 6) - exact(b, 6);
        if (next(50) === 0) expect(cmp(a, a.includes('.') ? `${a}0` : `${a}.0`)).toBe(0); // a trailing zero changes nothing
        expect([a, b, cmp(a, b)]).toEqual([a, b, diff === 0n ? 0 : diff < 0n ? -1 : 1]);
      }
    });

    it('handles signs', () => {
      expect(cmp('-1', '0')).toBe(-1);
      expect(cmp('0', '-1')).toBe(1);
      expect(cmp('-1.5', '-1.4')).toBe(-1);
      expect(cmp('-0', '0')).toBe(0);
      expect(cmp('-0.01', '0.01')).toBe(-1);
    });

    it('is a valid Array.sort comparator', () => {
      const values = ['10.5', '2', '-3', '0.25', '10.05', '99999999999999999.99', '0'];
      expect([...values].sort((a, b) => cmp(a, b))).toEqual([
        '-3',
        '0',
        '0.25',
        '2',
        '10.05',
        '10.5',
        '99999999999999999.99',
      ]);
    });
  });

  describe('formatDecimal', () => {
    it.each<[unknown, number, string]>([
      ['150.5', 2, '150.50'],
      [150.5, 2, '150.50'],
      [100.0, 2, '100.00'],
      ['0150.50', 2, '150.50'],
      ['10', 2, '10.00'],
      ['0', 2, '0.00'],
      ['0.05', 2, '0.05'],
      ['1500.00', 0, '1500'],
      [1500, 0, '1500'],
      ['-1.5', 2, '-1.50'],
      ['99999999999999999.99', 2, '99999999999999999.99'],
      ['99999999999999999.9', 2, '99999999999999999.90'],
    ])('formats %p at scale %p as %p', (input, scale, expected) => {
      expect(formatDecimal(p(input), scale)).toBe(expected);
    });

    it('never rounds away digits beyond the scale (lossless)', () => {
      expect(formatDecimal(p('150.505'), 2)).toBe('150.505');
      expect(formatDecimal(p('0.5'), 0)).toBe('0.5');
      expect(formatDecimal(p('100.5'), 0)).toBe('100.5');
    });
  });

  describe('normalizeAmount', () => {
    it('maps an absent amount to null', () => {
      expect(normalizeAmount(null, 2)).toBeNull();
      expect(normalizeAmount(undefined, 2)).toBeNull();
      expect(normalizeAmount('', 0)).toBeNull();
    });

    it('renders strings and numbers at the market scale', () => {
      expect(normalizeAmount('150.5', 2)).toBe('150.50');
      expect(normalizeAmount(150.5, 2)).toBe('150.50');
      expect(normalizeAmount('60000', 0)).toBe('60000');
      expect(normalizeAmount(1500, 0)).toBe('1500');
      expect(normalizeAmount('1500.00', 0)).toBe('1500');
      expect(normalizeAmount(0, 2)).toBe('0.00');
      expect(normalizeAmount('0', 0)).toBe('0');
      expect(normalizeAmount(133334.0, 2)).toBe('133334.00');
      expect(normalizeAmount('99999999999999999.99', 2)).toBe('99999999999999999.99');
    });

    it('renders the value as given, minus noise zeros, when the scale is unknown', () => {
      expect(normalizeAmount('150.50', undefined)).toBe('150.5');
      expect(normalizeAmount('0150', undefined)).toBe('150');
      expect(normalizeAmount(2.5, undefined)).toBe('2.5');
    });

    it('keeps a legacy 4-decimal fee exactly', () => {
      expect(normalizeAmount('1.2345', 2)).toBe('1.2345');
    });

    it.each<unknown>(['abc', '1e3', {}, [], true, NaN, '1,5'])(
      'throws TypeError for the non-decimal %p',
      (value) => {
        expect(() => normalizeAmount(value, 2)).toThrow(TypeError);
      },
    );
  });
});

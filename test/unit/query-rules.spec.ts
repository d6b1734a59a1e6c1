import { checkQueryPayout } from '../../lib/validation/query-payout.rules';

const pairs = (input: unknown) => checkQueryPayout(input).errors.map((e) => `${e.field}:${e.rule}`);

describe('checkQueryPayout', () => {
  describe('one of orderNo / mchOrderNo is required', () => {
    it('accepts orderNo alone', () => {
      expect(checkQueryPayout({ orderNo: 'PAYOUT8600000000000000001' })).toEqual({
        errors: [],
        body: { orderNo: 'PAYOUT8600000000000000001' },
        currency: undefined,
      });
    });

    it('accepts mchOrderNo alone', () => {
      const result = checkQueryPayout({ mchOrderNo: 'PE-2025-000123' });
      expect(result.errors).toEqual([]);
      expect(result.body).toEqual({ mchOrderNo: 'PE-2025-000123' });
    });

    it('accepts both and sends both', () => {
      const result = checkQueryPayout({
        mchOrderNo: 'PE-2025-000123',
        orderNo: 'PAYOUT1',
      });
      expect(result.errors).toEqual([]);
      expect(result.body).toEqual({
        orderNo: 'PAYOUT1',
        mchOrderNo: 'PE-2025-000123',
      });
    });

    it.each<[string, Record<string, unknown>]>([
      ['nothing', {}],
      ['empty strings', { orderNo: '', mchOrderNo: '' }],
      ['nulls', { orderNo: null, mchOrderNo: null }],
      ['only a currency', { currency: 'PEN' }],
    ])('rejects %s, naming both fields', (_label, input) => {
      const result = checkQueryPayout(input);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({
        field: 'orderNo',
        rule: 'oneRequired',
      });
      expect(result.errors[0].message).toContain('orderNo');
      expect(result.errors[0].message).toContain('mchOrderNo');
      expect(result.body).toBeUndefined();
    });

    it('leaves out an empty companion field', () => {
      const result = checkQueryPayout({ orderNo: 'PAYOUT1', mchOrderNo: '' });
      expect(result.errors).toEqual([]);
      expect(result.body).toEqual({ orderNo: 'PAYOUT1' });
    });
  });

  describe('lengths and characters', () => {
    it.each(['orderNo', 'mchOrderNo'])('%s: allows 32 characters and rejects 33', (field) => {
      expect(checkQueryPayout({ [field]: 'A'.repeat(32) }).errors).toEqual([]);
      const result = checkQueryPayout({ [field]: 'A'.repeat(33) });
      expect(pairs({ [field]: 'A'.repeat(33) })).toEqual([`${field}:orderNumber`]);
      expect(result.errors[0].message).toContain(field);
      expect(result.errors[0].message).toContain('32');
    });

    it.each(['orderNo', 'mchOrderNo'])('%s: accepts a single character', (field) => {
      expect(checkQueryPayout({ [field]: '1' }).errors).toEqual([]);
    });

    it.each<[string, unknown]>([
      ['a space', 'PE 1'],
      ['an accent', 'pedido-ñ'],
      ['a slash', 'PE/1'],
      ['a number', 12345],
      ['an object', { id: 1 }],
    ])('rejects an orderNo with %s', (_label, orderNo) => {
      expect(pairs({ orderNo })).toEqual(['orderNo:orderNumber']);
    });

    it('reports a broken orderNo even when mchOrderNo is fine, and does not add oneRequired', () => {
      expect(pairs({ orderNo: 'A'.repeat(40), mchOrderNo: 'PE-1' })).toEqual([
        'orderNo:orderNumber',
      ]);
      expect(pairs({ orderNo: 'A'.repeat(40) })).toEqual(['orderNo:orderNumber']);
    });

    it('reports both broken numbers together', () => {
      expect(pairs({ orderNo: 'A'.repeat(40), mchOrderNo: 'a b' })).toEqual([
        'orderNo:orderNumber',
        'mchOrderNo:orderNumber',
      ]);
    });
  });

  describe('currency (optional, picks the account)', () => {
    it.each(['PEN', 'MXN'] as const)('accepts %s and returns it', (currency) => {
      const result = checkQueryPayout({ orderNo: 'PAYOUT1', currency });
      expect(result.errors).toEqual([]);
      expect(result.currency).toBe(currency);
      // The currency is not part of the gateway body.
      expect(result.body).toEqual({ orderNo: 'PAYOUT1' });
    });

    it.each<unknown>(['USD', 'pen', '', null, 1])('rejects %p', (currency) => {
      const result = checkQueryPayout({ orderNo: 'PAYOUT1', currency });
      expect(pairs({ orderNo: 'PAYOUT1', currency })).toEqual(['currency:currency']);
      expect(result.errors[0].message).toContain('currency');
      expect(result.body).toBeUndefined();
    });
  });

  describe('input shape', () => {
    it.each<[string, unknown]>([
      ['null', null],
      ['a string', 'PAYOUT1'],
      ['an array', [{ orderNo: 'PAYOUT1' }]],
      ['undefined', undefined],
    ])('rejects %s', (_label, input) => {
      expect(pairs(input)).toEqual(['(input):object']);
    });

    it('rejects unknown fields, naming them', () => {
      const result = checkQueryPayout({
        orderNo: 'PAYOUT1',
        nonceStr: 'x',
        merchantId: '1002001',
      });
      expect(result.errors.map((e) => `${e.field}:${e.rule}`).sort()).toEqual([
        'merchantId:unknownField',
        'nonceStr:unknownField',
      ]);
      for (const error of result.errors) expect(error.message).toContain(error.field);
      expect(result.body).toBeUndefined();
    });
  });
});

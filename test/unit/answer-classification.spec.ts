import {
  classifyCreateAnswer,
  classifyLookupAnswer,
  DEFAULT_CASHY_MESSAGE_PATTERNS,
  parseEnvelope,
} from '../../lib/client/cashy-protocol';
import { CashyTransportError } from '../../lib/payout.errors';

/** A small seeded PRNG, so a failing case replays. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WORDS = [
  'Order',
  'order',
  'mchOrderNo',
  'System',
  'Merchant',
  'Route',
  'Api',
  'not',
  'exist',
  'found',
  'error',
  'busy',
  'Internal',
  'Gateway',
  'timeout',
  'Balance',
  'enough',
  'repeat',
  'Duplicate',
  'limit',
  'Risk',
  'reject',
  'Channel',
  'Unknown',
  'SUCCESS',
  'FAIL',
  'Sign',
  'Params',
  'Request',
  'MerchantId',
  'x',
  '1',
  '',
];

function randomMsg(next: () => number): string {
  const parts = Array.from(
    { length: 1 + Math.floor(next() * 4) },
    () => WORDS[Math.floor(next() * WORDS.length)],
  );
  return parts.join(next() < 0.8 ? '_' : next() < 0.5 ? ' ' : '');
}

/** What the contract publishes as definite, written out independently of the classifier. */
function isPublishedRejection(msg: string): boolean {
  return (
    /^Params_\w+$/.test(msg) ||
    /^MerchantId_\w+$/.test(msg) ||
    /^Request\w+$/.test(msg) ||
    msg === 'Sign_verify_error'
  );
}
const PATTERNS = DEFAULT_CASHY_MESSAGE_PATTERNS;
const ANSWER = (httpStatus: number, code: number, msg: string, data?: unknown) => ({
  httpStatus,
  envelope: { code, msg, data },
});

describe('create answer classification (money-safety rules 1 and 4)', () => {
  it('reads 2,000 random codes and messages as ambiguous unless the message is published', () => {
    const next = prng(20261129);
    for (let i = 0; i < 2000; i++) {
      const msg = randomMsg(next);
      const code = [400, 401, 403, 404, 429, 500, 502, 503, 504, 0, 1, 999][
        Math.floor(next() * 12)
      ];
      const outcome = classifyCreateAnswer(ANSWER(200, code, msg), '/api/payOut', PATTERNS);
      // The module checks mchOrderNo itself, so a gateway refusing it (not as missing) means "in use".
      const expected =
        PATTERNS.duplicateOrder.test(msg) || /^Params_mchOrderNo_(?!Required$)\w+$/.test(msg)
          ? 'duplicate'
          : /^(System_busy|System_Maintenance)$/.test(msg)
            ? 'busy'
            : isPublishedRejection(msg)
              ? 'rejected'
              : 'ambiguous';
      expect([msg, code, outcome.kind]).toEqual([msg, code, expected]);
    }
  });

  it('reads any non-2xx HTTP status as ambiguous, whatever the envelope says', () => {
    const next = prng(7);
    for (let i = 0; i < 500; i++) {
      const status = [100, 204, 301, 307, 400, 401, 404, 409, 429, 500, 502, 503, 504][
        Math.floor(next() * 13)
      ];
      if (status >= 200 && status < 300) continue;
      const msg = next() < 0.5 ? 'Params_amount_error' : randomMsg(next);
      const code = next() < 0.3 ? 200 : 400;
      expect(
        classifyCreateAnswer(
          ANSWER(status, code, msg, { orderNo: 'PAYOUT1' }),
          '/api/payOut',
          PATTERNS,
        ).kind,
      ).toBe('ambiguous');
    }
  });

  it('reads code 200 as created only with an orderNo, and as ambiguous without one', () => {
    expect(
      classifyCreateAnswer(
        ANSWER(200, 200, 'SUCCESS', {
          orderNo: 'PAYOUT1',
          orderStatus: 'WHATEVER',
        }),
        '/api/payOut',
        PATTERNS,
      ).kind,
    ).toBe('created');
    for (const data of [
      undefined,
      null,
      {},
      [],
      'PAYOUT1',
      { orderNo: '' },
      { orderNo: 7 },
      { orderNo: 'has space' },
    ]) {
      expect(
        classifyCreateAnswer(ANSWER(200, 200, 'SUCCESS', data), '/api/payOut', PATTERNS).kind,
      ).toBe('ambiguous');
    }
  });

  it('reads a transport failure or a body that is not an envelope as ambiguous', () => {
    expect(
      classifyCreateAnswer(
        new CashyTransportError('timeout', '/api/payOut', 'x'),
        '/api/payOut',
        PATTERNS,
      ).kind,
    ).toBe('ambiguous');
    expect(classifyCreateAnswer({ httpStatus: 200 }, '/api/payOut', PATTERNS).kind).toBe(
      'ambiguous',
    );
    for (const text of [
      '',
      'SUCCESS',
      '<html>',
      '[]',
      'null',
      '{"code":"abc"}',
      '{"msg":"Params_x_error"}',
    ]) {
      expect(parseEnvelope(text)).toBeUndefined();
    }
  });

  it.each([
    'Params_mchOrderNo_repeat',
    'Duplicate_order',
    'Repeat_mchOrderNo',
    'Order_already_exists',
    'mchOrderNo_exists',
    'Params_mchOrderNo_duplicate',
  ])('recognises the duplicate wording %s', (msg) =>
    expect(classifyCreateAnswer(ANSWER(200, 400, msg), '/api/payOut', PATTERNS).kind).toBe(
      'duplicate',
    ),
  );

  it.each([
    'Order_not_exist',
    'mchOrderNo_not_repeat_x',
    'Duplicate_order_check_failed',
    'Params_mchOrderNo_error',
    'repeat',
  ])('does not read %s as a duplicate', (msg) => {
    expect(PATTERNS.duplicateOrder.test(msg)).toBe(false);
  });
});

describe('lookup answer classification (money-safety rule 5)', () => {
  it('reads 2,000 random messages as "not found" only when they are about an order not existing', () => {
    const next = prng(99);
    for (let i = 0; i < 2000; i++) {
      const msg = randomMsg(next);
      const outcome = classifyLookupAnswer(ANSWER(200, 400, msg), '/api/payOutQuery', PATTERNS);
      const aboutAnOrder =
        /^(Params_)?(order|orderNo|mchOrderNo|payOut|payout)_(not_?exists?|not_?found|does_?not_?exist)$/i.test(
          msg,
        );
      expect([msg, outcome.kind === 'absent']).toEqual([msg, aboutAnOrder]);
    }
  });

  it.each([
    'Merchant_not_exist',
    'Route_not_found',
    'Api_not_found',
    'MerchantId_is_error',
    'Bank_not_exist',
    'User_not_found',
    'Order_not_exist_yet',
  ])('does not read %s as "not found"', (msg) =>
    expect(classifyLookupAnswer(ANSWER(200, 400, msg), '/api/payOutQuery', PATTERNS).kind).toBe(
      'failed',
    ),
  );

  it('never reads a non-2xx answer as "not found", even with the not-found wording', () => {
    for (const status of [404, 410, 500, 502]) {
      expect(
        classifyLookupAnswer(ANSWER(status, 400, 'Order_not_exist'), '/api/payOutQuery', PATTERNS)
          .kind,
      ).toBe('failed');
    }
  });
});

import { inspect } from 'node:util';
import { PAYOUT_ENV_VARIABLES, payoutConfig, type PayoutEnvConfig } from '../../lib/config';
import { PayoutConfigurationError } from '../../lib/payout.errors';
import { resolvePayoutOptions } from '../../lib/options/payout-options.resolver';

const SECRET = 'SUPERSECRET-KEY-123';
const OTHER_SECRET = 'SUPERSECRET-KEY-456';
const BASE_URL = 'https://sandbox.cashy.example';
const SINGLE = {
  CASHY_BASE_URL: BASE_URL,
  CASHY_MERCHANT_ID: '1002001',
  CASHY_API_KEY: SECRET,
};
const PER_CURRENCY = {
  CASHY_BASE_URL: BASE_URL,
  CASHY_PEN_MERCHANT_ID: '1002001',
  CASHY_PEN_API_KEY: SECRET,
  CASHY_MXN_MERCHANT_ID: '1002002',
  CASHY_MXN_API_KEY: OTHER_SECRET,
};

const saved = process.env;
// Only the variables under test: a CASHY_* of the machine running the tests must not leak in.
const clean = Object.fromEntries(
  Object.entries(saved).filter(([name]) => !name.startsWith('CASHY_')),
);
afterAll(() => {
  process.env = saved;
});

/** Runs the namespace factory the way ConfigModule does, on these variables. */
function load(env: Record<string, string>): PayoutEnvConfig {
  process.env = { ...clean, ...env };
  return payoutConfig();
}

/** Loads, expecting a PayoutConfigurationError; returns each problem of its message. Never lets a key through. */
function problems(env: Record<string, string>): string[] {
  let caught: unknown;
  try {
    load(env);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PayoutConfigurationError);
  const error = caught as PayoutConfigurationError;
  for (const text of [
    error.message,
    String(error),
    error.stack ?? '',
    inspect(error),
    JSON.stringify(error),
  ]) {
    expect(text).not.toContain('SUPERSECRET');
  }
  const prefix = 'Invalid PayoutModule options from the environment: ';
  expect(error.message.startsWith(prefix)).toBe(true);
  const list = error.message.slice(prefix.length).split('; ');
  // Every problem says which variable to fix.
  for (const problem of list)
    expect([problem, /\bCASHY_[A-Z_]+/.test(problem)]).toEqual([problem, true]);
  return list;
}

describe('payoutConfig', () => {
  it('is the "payout" namespace, usable as PayoutModule.forRootAsync(payoutConfig.asProvider())', () => {
    expect(payoutConfig.KEY).toBe('CONFIGURATION(payout)');
    const provider = payoutConfig.asProvider();
    expect(provider).toEqual({
      imports: [expect.anything()],
      useFactory: expect.any(Function),
      inject: [payoutConfig.KEY],
    });
  });

  it('lists every variable it reads', () => {
    expect([...PAYOUT_ENV_VARIABLES].sort()).toEqual(
      [
        'CASHY_BASE_URL',
        'CASHY_NOTIFY_URL',
        'CASHY_MERCHANT_ID',
        'CASHY_API_KEY',
        'CASHY_PEN_MERCHANT_ID',
        'CASHY_PEN_API_KEY',
        'CASHY_MXN_MERCHANT_ID',
        'CASHY_MXN_API_KEY',
        'CASHY_TIMEOUT_MS',
        'CASHY_RESEND_WINDOW_MS',
      ].sort(),
    );
  });

  it('reads one account from CASHY_MERCHANT_ID and CASHY_API_KEY, with the optional settings', () => {
    const config = load({
      ...SINGLE,
      CASHY_NOTIFY_URL: 'https://shop.example/payout/webhook',
      CASHY_TIMEOUT_MS: '5000',
      CASHY_RESEND_WINDOW_MS: '90000',
    });
    expect(config).toEqual({
      baseUrl: BASE_URL,
      merchantId: '1002001',
      apiKey: SECRET,
      notifyUrl: 'https://shop.example/payout/webhook',
      timeoutMs: 5000,
      resendWindowMs: 90000,
    });
    const resolved = resolvePayoutOptions(config);
    expect([
      resolved.baseUrl,
      resolved.notifyUrl,
      resolved.timeoutMs,
      resolved.resendWindowMs,
    ]).toEqual([BASE_URL, 'https://shop.example/payout/webhook', 5000, 90000]);
    expect(resolved.accounts.map((a) => [a.merchantId, a.currencies])).toEqual([
      ['1002001', undefined],
    ]);
  });

  it('reads one account per currency, named pen and mxn', () => {
    const config = load(PER_CURRENCY);
    expect(config).toEqual({
      baseUrl: BASE_URL,
      accounts: [
        {
          name: 'pen',
          merchantId: '1002001',
          apiKey: SECRET,
          currencies: ['PEN'],
        },
        {
          name: 'mxn',
          merchantId: '1002002',
          apiKey: OTHER_SECRET,
          currencies: ['MXN'],
        },
      ],
    });
    expect(
      resolvePayoutOptions(config).accounts.map((a) => [a.name, a.merchantId, a.currencies]),
    ).toEqual([
      ['pen', '1002001', ['PEN']],
      ['mxn', '1002002', ['MXN']],
    ]);
  });

  it('reads a single currency account on its own', () => {
    const config = load({
      CASHY_BASE_URL: BASE_URL,
      CASHY_MXN_MERCHANT_ID: '1002002',
      CASHY_MXN_API_KEY: OTHER_SECRET,
    });
    expect(config.accounts).toEqual([
      {
        name: 'mxn',
        merchantId: '1002002',
        apiKey: OTHER_SECRET,
        currencies: ['MXN'],
      },
    ]);
  });

  it('trims values and treats empty ones as unset', () => {
    const config = load({
      ...SINGLE,
      CASHY_API_KEY: `  ${SECRET}\n`,
      CASHY_NOTIFY_URL: '',
      CASHY_TIMEOUT_MS: ' ',
      CASHY_PEN_API_KEY: '',
    });
    expect(config).toEqual({
      baseUrl: BASE_URL,
      merchantId: '1002001',
      apiKey: SECRET,
    });
  });

  it('reads the environment when the namespace is loaded, not when it is imported', () => {
    expect(load({ ...SINGLE, CASHY_BASE_URL: 'https://one.example' }).baseUrl).toBe(
      'https://one.example',
    );
    expect(load({ ...SINGLE, CASHY_BASE_URL: 'https://two.example' }).baseUrl).toBe(
      'https://two.example',
    );
  });

  it('shows every apiKey as [redacted] when the value is printed, and still hands it to the module', () => {
    for (const config of [load(SINGLE), load(PER_CURRENCY)]) {
      const printed = [
        JSON.stringify(config),
        inspect(config, { depth: Infinity }),
        JSON.stringify({ payout: config }),
        ...(config.accounts ?? []).map((a) => inspect(a)),
      ];
      for (const text of printed) {
        expect(text).not.toContain('SUPERSECRET');
        expect(text).toContain('[redacted]');
      }
      expect(Object.keys(config)).not.toContain('toJSON');
      expect({ ...config }).toEqual(config);
      expect(() => resolvePayoutOptions({ ...config })).not.toThrow();
    }
  });

  describe('errors name the variable (and the option), never a key', () => {
    it.each<[string, Record<string, string>, string[]]>([
      [
        'nothing set',
        {},
        [
          'CASHY_MERCHANT_ID and CASHY_API_KEY (merchantId, apiKey) are required, or one account per currency: CASHY_PEN_MERCHANT_ID and CASHY_PEN_API_KEY and/or CASHY_MXN_MERCHANT_ID and CASHY_MXN_API_KEY',
          'CASHY_BASE_URL (baseUrl) is required and must be an http(s) URL',
        ],
      ],
      [
        'a base URL that is not one',
        { ...SINGLE, CASHY_BASE_URL: 'sandbox.cashy.example' },
        ['CASHY_BASE_URL (baseUrl) is required and must be an http(s) URL'],
      ],
      [
        'a base URL with credentials',
        {
          ...SINGLE,
          CASHY_BASE_URL: `https://user:${SECRET}@sandbox.cashy.example`,
        },
        [
          'CASHY_BASE_URL (baseUrl) must not carry credentials, a query or a fragment (Cashy authenticates with MerchantId and Sign)',
        ],
      ],
      [
        'the merchant id alone',
        { CASHY_BASE_URL: BASE_URL, CASHY_MERCHANT_ID: '1002001' },
        ['CASHY_API_KEY (apiKey) is required and must be a non-empty string'],
      ],
      [
        'the key alone',
        { CASHY_BASE_URL: BASE_URL, CASHY_API_KEY: SECRET },
        ["CASHY_MERCHANT_ID (merchantId) is required and must be Cashy's numeric merchant id"],
      ],
      [
        'a merchant id that is not a number',
        { ...SINGLE, CASHY_MERCHANT_ID: 'merchant-7' },
        ["CASHY_MERCHANT_ID (merchantId) is required and must be Cashy's numeric merchant id"],
      ],
      [
        'a PEN merchant id without its key',
        { CASHY_BASE_URL: BASE_URL, CASHY_PEN_MERCHANT_ID: '1002001' },
        ['CASHY_PEN_API_KEY (accounts[0].apiKey) is required and must be a non-empty string'],
      ],
      [
        'an MXN key without its merchant id, beside a whole PEN pair',
        { ...PER_CURRENCY, CASHY_MXN_MERCHANT_ID: '' },
        [
          "CASHY_MXN_MERCHANT_ID (accounts[1].merchantId) is required and must be Cashy's numeric merchant id",
        ],
      ],
      [
        'an MXN key alone',
        { CASHY_BASE_URL: BASE_URL, CASHY_MXN_API_KEY: SECRET },
        [
          "CASHY_MXN_MERCHANT_ID (accounts[0].merchantId) is required and must be Cashy's numeric merchant id",
        ],
      ],
      [
        'one merchant id for both currencies',
        { ...PER_CURRENCY, CASHY_MXN_MERCHANT_ID: '1002001' },
        [
          'CASHY_PEN_MERCHANT_ID and CASHY_MXN_MERCHANT_ID (accounts): "1002001" names or identifies more than one account',
        ],
      ],
      [
        'single-account and per-currency variables mixed',
        {
          ...SINGLE,
          CASHY_PEN_API_KEY: OTHER_SECRET,
          CASHY_MXN_MERCHANT_ID: '1002002',
        },
        [
          'set either CASHY_MERCHANT_ID and CASHY_API_KEY (one account) or CASHY_PEN_MERCHANT_ID and CASHY_PEN_API_KEY and/or CASHY_MXN_MERCHANT_ID and CASHY_MXN_API_KEY (one account per currency), not both (found CASHY_MERCHANT_ID, CASHY_API_KEY, CASHY_PEN_API_KEY, CASHY_MXN_MERCHANT_ID)',
        ],
      ],
      [
        'a notify URL that is not http(s)',
        { ...SINGLE, CASHY_NOTIFY_URL: 'ftp://shop.example/hook' },
        [
          'CASHY_NOTIFY_URL (notifyUrl) must be an absolute http(s) URL of at most 250 characters, without control or invisible characters',
        ],
      ],
      [
        'a timeout with a unit',
        { ...SINGLE, CASHY_TIMEOUT_MS: '5s' },
        ['CASHY_TIMEOUT_MS (timeoutMs) must be a whole number from 1 to 600000'],
      ],
      [
        'a negative timeout',
        { ...SINGLE, CASHY_TIMEOUT_MS: '-1' },
        ['CASHY_TIMEOUT_MS (timeoutMs) must be a whole number from 1 to 600000'],
      ],
      [
        'a zero timeout',
        { ...SINGLE, CASHY_TIMEOUT_MS: '0' },
        ['CASHY_TIMEOUT_MS (timeoutMs) must be a whole number from 1 to 600000'],
      ],
      [
        'a fractional re-send window',
        { ...SINGLE, CASHY_RESEND_WINDOW_MS: '1.5' },
        ['CASHY_RESEND_WINDOW_MS (resendWindowMs) must be a whole number from 0 to 86400000'],
      ],
    ])('%s', (_name, env, expected) => {
      expect(problems(env)).toEqual(expected);
    });

    it('reports every bad variable at once', () => {
      const list = problems({
        CASHY_BASE_URL: 'nope',
        CASHY_PEN_MERCHANT_ID: 'x',
        CASHY_PEN_API_KEY: SECRET,
        CASHY_NOTIFY_URL: 'nope',
        CASHY_TIMEOUT_MS: 'soon',
      });
      expect(list.map((p) => p.split(' ')[0])).toEqual([
        'CASHY_BASE_URL',
        'CASHY_PEN_MERCHANT_ID',
        'CASHY_NOTIFY_URL',
        'CASHY_TIMEOUT_MS',
      ]);
    });
  });
});

describe('the main entry point', () => {
  it('does not load @nestjs/config (an optional peer)', () => {
    jest.isolateModules(() => {
      jest.doMock('@nestjs/config', () => {
        throw new Error('nestjs-cashy-payout loaded @nestjs/config');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the entry point is the test
      expect(() => require('../../lib')).not.toThrow();
      jest.dontMock('@nestjs/config');
    });
  });
});

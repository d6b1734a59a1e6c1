import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { inspect } from 'node:util';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { PayoutConfigurationError, PayoutError } from '../../lib/payout.errors';
import { MemoryPayoutStore } from '../../lib/store/memory-payout.store';
import { PAYOUT_DEFAULTS, resolvePayoutOptions } from '../../lib/options/payout-options.resolver';
import type { PayoutConfig } from '../../lib/options/payout-config';

const SECRET = 'SUPERSECRET-KEY-123';
const OTHER_SECRET = 'SUPERSECRET-KEY-456';
const BASE = {
  baseUrl: 'https://sandbox.cashy.example',
  merchantId: '1002001',
  apiKey: SECRET,
};

/** Resolves, expecting a PayoutConfigurationError; returns its message. Never lets the key through. */
function configError(options: unknown): string {
  let caught: unknown;
  try {
    resolvePayoutOptions(options);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PayoutConfigurationError);
  expect(caught).toBeInstanceOf(PayoutError);
  const error = caught as PayoutConfigurationError;
  for (const text of [
    error.message,
    String(error),
    error.stack ?? '',
    inspect(error),
    JSON.stringify(error),
  ]) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(OTHER_SECRET);
    expect(text).not.toContain('SUPERSECRET');
  }
  return error.message;
}

/** Every way a host might print the resolved configuration. */
function printed(config: PayoutConfig): string[] {
  return [
    JSON.stringify(config),
    JSON.stringify(config.accounts),
    JSON.stringify(config.accounts[0]),
    inspect(config),
    inspect(config, { depth: Infinity, showHidden: true }),
    inspect(config, { depth: Infinity, customInspect: false }),
    inspect(config.accounts, { depth: Infinity }),
    inspect(config.accounts[0], {
      depth: Infinity,
      showHidden: true,
      customInspect: false,
    }),
    String(config.accounts[0]),
    `${JSON.stringify(Object.entries(config.accounts[0]))}`,
    JSON.stringify({ ...config.accounts[0] }),
    Object.keys(config.accounts[0]).join(','),
    Object.getOwnPropertyNames(config.accounts[0]).join(','),
  ];
}

describe('resolvePayoutOptions', () => {
  describe('defaults', () => {
    it('applies every default to a minimal single-account setup', () => {
      const config = resolvePayoutOptions(BASE);
      expect(config.baseUrl).toBe('https://sandbox.cashy.example');
      expect(config.timeoutMs).toBe(10000);
      expect(config.retry.attempts).toBe(3);
      expect(config.retry).toEqual({
        attempts: 3,
        baseDelayMs: 200,
        maxDelayMs: 5000,
      });
      expect(PAYOUT_DEFAULTS.timeoutMs).toBe(10000);
      expect(config.limits).toEqual({
        PEN: { min: '10.00', max: '2000.00' },
        MXN: { min: '40', max: '15000' },
      });
      expect(config.notifyUrl).toBeUndefined();
      expect(config.accounts).toHaveLength(1);
      expect(config.accounts[0].merchantId).toBe('1002001');
      expect(config.accounts[0].name).toBe('1002001');
      expect(config.accounts[0].currencies).toBeUndefined();
    });

    it('strips trailing slashes from baseUrl', () => {
      expect(resolvePayoutOptions({ ...BASE, baseUrl: 'http://127.0.0.1:4010/' }).baseUrl).toBe(
        'http://127.0.0.1:4010',
      );
    });

    it('accepts a numeric merchantId and keeps it as a string', () => {
      expect(resolvePayoutOptions({ ...BASE, merchantId: 1002001 }).accounts[0].merchantId).toBe(
        '1002001',
      );
    });

    it('formats overridden limits at the market scale and keeps the other bound', () => {
      const config = resolvePayoutOptions({
        ...BASE,
        limits: { PEN: { max: 10000 }, MXN: { min: '100', max: '50000' } },
      });
      expect(config.limits).toEqual({
        PEN: { min: '10.00', max: '10000.00' },
        MXN: { min: '100', max: '50000' },
      });
    });

    it('takes timeoutMs, retry and notifyUrl as given', () => {
      const config = resolvePayoutOptions({
        ...BASE,
        timeoutMs: 2500,
        retry: { attempts: 10, baseDelayMs: 50, maxDelayMs: 1000 },
        notifyUrl: 'http://localhost:3000/payout/webhook',
      });
      expect(config.timeoutMs).toBe(2500);
      expect(config.retry).toEqual({
        attempts: 10,
        baseDelayMs: 50,
        maxDelayMs: 1000,
      });
      expect(config.notifyUrl).toBe('http://localhost:3000/payout/webhook');
    });

    it('turns retry: false into a single attempt', () => {
      expect(resolvePayoutOptions({ ...BASE, retry: false }).retry.attempts).toBe(1);
    });

    it('accepts retry attempts 1 and a custom store', () => {
      const config = resolvePayoutOptions({
        ...BASE,
        retry: { attempts: 1 },
        store: new MemoryPayoutStore(),
      });
      expect(config.retry.attempts).toBe(1);
    });
  });

  describe('every bad option is named, and the apiKey never appears', () => {
    it.each<[string, Record<string, unknown>, RegExp]>([
      ['baseUrl missing', { merchantId: '1002001', apiKey: SECRET }, /baseUrl/],
      ['baseUrl not a URL', { ...BASE, baseUrl: 'sandbox.cashy.example' }, /baseUrl/],
      ['baseUrl not http(s)', { ...BASE, baseUrl: 'ftp://sandbox.cashy.example' }, /baseUrl/],
      ['baseUrl not a string', { ...BASE, baseUrl: 42 }, /baseUrl/],
      [
        'baseUrl with credentials',
        { ...BASE, baseUrl: 'https://user:pass@sandbox.cashy.example' },
        /baseUrl must not carry credentials/,
      ],
      [
        'baseUrl with a query',
        { ...BASE, baseUrl: 'https://sandbox.cashy.example/?env=test' },
        /baseUrl must not carry/,
      ],
      [
        'baseUrl with a fragment',
        { ...BASE, baseUrl: 'https://sandbox.cashy.example/#x' },
        /baseUrl must not carry/,
      ],
      ['merchantId non-numeric', { ...BASE, merchantId: 'merchant-1' }, /merchantId/],
      ['merchantId with a letter', { ...BASE, merchantId: '100200a' }, /merchantId/],
      ['merchantId missing', { baseUrl: BASE.baseUrl, apiKey: SECRET }, /merchantId/],
      ['apiKey empty', { ...BASE, apiKey: '' }, /apiKey/],
      ['apiKey blank', { ...BASE, apiKey: '   ' }, /apiKey/],
      ['apiKey missing', { baseUrl: BASE.baseUrl, merchantId: '1002001' }, /apiKey/],
      ['apiKey not a string', { ...BASE, apiKey: 12345 }, /apiKey/],
      [
        'both merchantId and accounts',
        {
          ...BASE,
          accounts: [{ merchantId: '1002002', apiKey: OTHER_SECRET }],
        },
        /merchantId[\s\S]*accounts|accounts[\s\S]*merchantId/,
      ],
      ['no account at all', { baseUrl: BASE.baseUrl }, /merchantId|accounts/],
      ['empty accounts', { baseUrl: BASE.baseUrl, accounts: [] }, /accounts/],
      [
        'accounts not an array',
        {
          baseUrl: BASE.baseUrl,
          accounts: { merchantId: '1', apiKey: SECRET },
        },
        /accounts/,
      ],
      [
        'an account that is not an object',
        { baseUrl: BASE.baseUrl, accounts: [SECRET] },
        /accounts\[0\]/,
      ],
      [
        'duplicate merchantIds',
        {
          baseUrl: BASE.baseUrl,
          accounts: [
            { merchantId: '1002001', apiKey: SECRET },
            { merchantId: '1002001', apiKey: OTHER_SECRET },
          ],
        },
        /accounts[\s\S]*1002001/,
      ],
      [
        'duplicate names',
        {
          baseUrl: BASE.baseUrl,
          accounts: [
            { name: 'peru', merchantId: '1002001', apiKey: SECRET },
            { name: 'peru', merchantId: '1002002', apiKey: OTHER_SECRET },
          ],
        },
        /accounts[\s\S]*peru/,
      ],
      [
        'an empty account name',
        {
          baseUrl: BASE.baseUrl,
          accounts: [{ name: '', merchantId: '1002001', apiKey: SECRET }],
        },
        /accounts\[0\]\.name/,
      ],
      [
        'bad apiKey in accounts[1]',
        {
          baseUrl: BASE.baseUrl,
          accounts: [
            { merchantId: '1', apiKey: SECRET },
            { merchantId: '2', apiKey: '' },
          ],
        },
        /accounts\[1\]\.apiKey/,
      ],
      [
        'unknown currency in accounts',
        {
          baseUrl: BASE.baseUrl,
          accounts: [{ merchantId: '1', apiKey: SECRET, currencies: ['USD'] }],
        },
        /accounts\[0\]\.currencies/,
      ],
      [
        'empty currencies',
        {
          baseUrl: BASE.baseUrl,
          accounts: [{ merchantId: '1', apiKey: SECRET, currencies: [] }],
        },
        /accounts\[0\]\.currencies/,
      ],
      [
        'currencies not an array',
        {
          baseUrl: BASE.baseUrl,
          accounts: [{ merchantId: '1', apiKey: SECRET, currencies: 'PEN' }],
        },
        /accounts\[0\]\.currencies/,
      ],
      [
        'lower-case currency',
        {
          baseUrl: BASE.baseUrl,
          accounts: [{ merchantId: '1', apiKey: SECRET, currencies: ['pen'] }],
        },
        /currencies/,
      ],
      [
        'limits for an unknown currency',
        { ...BASE, limits: { USD: { min: '1', max: '2' } } },
        /limits\.USD/,
      ],
      [
        'limits min above max',
        { ...BASE, limits: { PEN: { min: '100.00', max: '50.00' } } },
        /limits\.PEN/,
      ],
      [
        'limits min above the default max',
        { ...BASE, limits: { PEN: { min: '3000' } } },
        /limits\.PEN/,
      ],
      [
        'limits max below the default min',
        { ...BASE, limits: { MXN: { max: '20' } } },
        /limits\.MXN/,
      ],
      [
        'PEN limit with 3 decimals',
        { ...BASE, limits: { PEN: { min: '10.001' } } },
        /limits\.PEN\.min/,
      ],
      [
        'MXN limit with decimals',
        { ...BASE, limits: { MXN: { max: '15000.5' } } },
        /limits\.MXN\.max/,
      ],
      ['a zero limit', { ...BASE, limits: { PEN: { min: 0 } } }, /limits\.PEN\.min/],
      ['a negative limit', { ...BASE, limits: { MXN: { min: '-40' } } }, /limits\.MXN\.min/],
      [
        'a limit in exponent notation',
        { ...BASE, limits: { MXN: { max: '1e5' } } },
        /limits\.MXN\.max/,
      ],
      ['limits not an object', { ...BASE, limits: 'PEN:10-2000' }, /limits/],
      ['a currency limit not an object', { ...BASE, limits: { PEN: 2000 } }, /limits\.PEN/],
      ['timeoutMs 0', { ...BASE, timeoutMs: 0 }, /timeoutMs/],
      ['timeoutMs negative', { ...BASE, timeoutMs: -1 }, /timeoutMs/],
      ['timeoutMs fractional', { ...BASE, timeoutMs: 1.5 }, /timeoutMs/],
      ['timeoutMs a string', { ...BASE, timeoutMs: '1000' }, /timeoutMs/],
      ['retry attempts 0', { ...BASE, retry: { attempts: 0 } }, /retry\.attempts/],
      ['retry attempts 11', { ...BASE, retry: { attempts: 11 } }, /retry\.attempts/],
      ['retry attempts negative', { ...BASE, retry: { attempts: -1 } }, /retry\.attempts/],
      ['retry not an object', { ...BASE, retry: 3 }, /retry/],
      [
        'retry maxDelayMs below baseDelayMs',
        { ...BASE, retry: { baseDelayMs: 1000, maxDelayMs: 10 } },
        /retry\.maxDelayMs/,
      ],
      ['an unknown option', { ...BASE, timeout: 1000 }, /timeout\b/],
      [
        'a misspelt apiKey option',
        { baseUrl: BASE.baseUrl, merchantId: '1002001', apikey: SECRET },
        /apikey|apiKey/,
      ],
      [
        'webhook inside the options (factory result)',
        { ...BASE, webhook: { path: 'hooks/cashy' } },
        /webhook/,
      ],
      ['webhook: false inside the options', { ...BASE, webhook: false }, /webhook/],
      ['notifyUrl not a URL', { ...BASE, notifyUrl: 'payout/webhook' }, /notifyUrl/],
      [
        'notifyUrl too long',
        { ...BASE, notifyUrl: 'https://pay.example.com/' + 'a'.repeat(240) },
        /notifyUrl/,
      ],
      [
        'a store without the PayoutStore methods',
        { ...BASE, store: { get: () => undefined } },
        /store/,
      ],
    ])('%s', (_label, options, names) => {
      expect(configError(options)).toMatch(names);
    });

    it.each<[string, unknown]>([
      ['undefined (a factory that returned nothing)', undefined],
      ['null', null],
      ['an array', [BASE]],
      ['a string', SECRET],
    ])('rejects options that are %s', (_label, options) => {
      expect(configError(options)).toMatch(/options/);
    });

    it('lists several problems at once', () => {
      const message = configError({
        ...BASE,
        baseUrl: 'nope',
        timeoutMs: 0,
        retry: { attempts: 11 },
        extra: true,
      });
      expect(message).toMatch(/baseUrl/);
      expect(message).toMatch(/timeoutMs/);
      expect(message).toMatch(/retry\.attempts/);
      expect(message).toMatch(/extra/);
    });

    it('the webhook message explains where webhook belongs', () => {
      expect(configError({ ...BASE, webhook: { path: 'x' } })).toMatch(/forRootAsync/);
    });
  });

  describe('the resolved configuration never prints an apiKey', () => {
    it('single account', () => {
      const config = resolvePayoutOptions(BASE);
      for (const text of printed(config)) expect(text).not.toContain(SECRET);
      expect(JSON.stringify(config.accounts[0])).toContain('[redacted]');
      expect(inspect(config.accounts[0])).toContain('1002001');
    });

    it('several accounts', () => {
      const config = resolvePayoutOptions({
        baseUrl: BASE.baseUrl,
        accounts: [
          {
            name: 'peru',
            merchantId: '1002001',
            apiKey: SECRET,
            currencies: ['PEN'],
          },
          {
            name: 'mexico',
            merchantId: '1002002',
            apiKey: OTHER_SECRET,
            currencies: ['MXN'],
          },
        ],
      });
      for (const text of [
        ...printed(config),
        inspect(config.accounts[1], { showHidden: true, customInspect: false }),
      ]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(OTHER_SECRET);
      }
    });

    it('still signs with the key it holds', () => {
      const account = resolvePayoutOptions(BASE).accounts[0];
      expect(account.sign('{}')).toMatch(/^[0-9A-F]{32}$/);
      expect(account.verify(Buffer.from('{}'), account.sign('{}'))).toBe(true);
    });
  });

  describe('http (the transport)', () => {
    it("defaults to the module's own keep-alive agents, no proxy (environment proxies not read) and no extra headers", () => {
      expect(resolvePayoutOptions(BASE).http).toEqual({
        httpAgent: undefined,
        httpsAgent: undefined,
        proxy: false,
        headers: {},
      });
      expect(PAYOUT_DEFAULTS.http).toEqual({
        agent: { keepAlive: true },
        proxy: false,
        headers: {},
      });
      expect(resolvePayoutOptions({ ...BASE, http: {} }).http.proxy).toBe(false);
      expect(resolvePayoutOptions({ ...BASE, http: { proxy: false } }).http.proxy).toBe(false);
    });

    it('takes agents (https, http and tunnelling ones), a proxy and extra headers', () => {
      const httpAgent = new HttpAgent({ keepAlive: true });
      const httpsAgent = new HttpsAgent({ keepAlive: true });
      const tunnel = new HttpsProxyAgent('http://127.0.0.1:3128');
      try {
        const config = resolvePayoutOptions({
          ...BASE,
          http: {
            httpAgent,
            httpsAgent,
            proxy: {
              protocol: 'https:',
              host: 'egress.internal',
              port: 3128,
              auth: { username: 'svc', password: 'pw' },
            },
            headers: { 'X-Egress-Token': 'abc', 'User-Agent': 'acme/1.0' },
          },
        });
        expect(config.http.httpAgent).toBe(httpAgent);
        expect(config.http.httpsAgent).toBe(httpsAgent);
        expect(config.http.proxy).toEqual({
          protocol: 'https',
          host: 'egress.internal',
          port: 3128,
          auth: { username: 'svc', password: 'pw' },
        });
        expect(config.http.headers).toEqual({
          'X-Egress-Token': 'abc',
          'User-Agent': 'acme/1.0',
        });
        expect(
          resolvePayoutOptions({
            ...BASE,
            http: { httpsAgent: tunnel, proxy: { host: '::1', port: 8080 } },
          }).http,
        ).toMatchObject({
          httpsAgent: tunnel,
          proxy: { host: '::1', port: 8080 },
        });
      } finally {
        for (const agent of [httpAgent, httpsAgent, tunnel]) agent.destroy();
      }
    });

    it.each<[string, unknown, RegExp]>([
      ['not an object', 'keep-alive', /^Invalid PayoutModule options: http must be/],
      ['an unknown key', { maxRedirects: 5 }, /http\.maxRedirects is not an option/],
      ['a transform', { transformRequest: [] }, /http\.transformRequest is not an option/],
      [
        'a timeout (timeoutMs says it)',
        { timeout: 1000 },
        /http\.timeout is not an option: use timeoutMs/,
      ],
      [
        'an httpAgent that is not an agent',
        { httpAgent: { keepAlive: true } },
        /http\.httpAgent must be an http\.Agent/,
      ],
      [
        'an httpsAgent that is a string',
        { httpsAgent: 'https://proxy' },
        /http\.httpsAgent must be an https\.Agent/,
      ],
      [
        'an httpsAgent that does not verify certificates',
        { httpsAgent: new HttpsAgent({ rejectUnauthorized: false }) },
        /http\.httpsAgent turns TLS certificate verification off/,
      ],
      ['a proxy given as a URL', { proxy: 'http://proxy:3128' }, /http\.proxy must be false or/],
      ['a proxy without a port', { proxy: { host: 'proxy' } }, /http\.proxy\.port is required/],
      ['a proxy port of 0', { proxy: { host: 'proxy', port: 0 } }, /http\.proxy\.port/],
      ['a proxy port above 65535', { proxy: { host: 'proxy', port: 70000 } }, /http\.proxy\.port/],
      ['a proxy port as a string', { proxy: { host: 'proxy', port: '3128' } }, /http\.proxy\.port/],
      [
        'a proxy host with a scheme',
        { proxy: { host: 'http://proxy', port: 3128 } },
        /http\.proxy\.host/,
      ],
      ['a proxy without a host', { proxy: { port: 3128 } }, /http\.proxy\.host is required/],
      [
        'a SOCKS proxy',
        { proxy: { protocol: 'socks5', host: 'proxy', port: 1080 } },
        /http\.proxy\.protocol must be "http" or "https"/,
      ],
      [
        'an unknown proxy key',
        { proxy: { host: 'proxy', port: 3128, url: 'x' } },
        /http\.proxy\.url is not an option/,
      ],
      [
        'proxy auth as a string',
        { proxy: { host: 'proxy', port: 3128, auth: `svc:${SECRET}` } },
        /http\.proxy\.auth must be/,
      ],
      [
        'proxy auth without a password',
        { proxy: { host: 'proxy', port: 3128, auth: { username: 'svc' } } },
        /http\.proxy\.auth must be/,
      ],
      ['headers not an object', { headers: 'X-A: 1' }, /http\.headers must be an object/],
      ['a Sign header', { headers: { Sign: SECRET } }, /http\.headers\.Sign may not be set/],
      [
        'a MerchantId header',
        { headers: { merchantid: '1' } },
        /http\.headers\.merchantid may not be set/,
      ],
      [
        'a Content-Type header',
        { headers: { 'Content-Type': 'text/plain' } },
        /http\.headers\.Content-Type may not be set/,
      ],
      [
        'a Content-Length header',
        { headers: { 'content-length': '10' } },
        /http\.headers\.content-length may not be set/,
      ],
      [
        'a Host header',
        { headers: { Host: 'cashy.example' } },
        /http\.headers\.Host may not be set/,
      ],
      [
        'a Transfer-Encoding header',
        { headers: { 'Transfer-Encoding': 'chunked' } },
        /http\.headers\.Transfer-Encoding may not be set/,
      ],
      [
        'an invalid header name',
        { headers: { 'X Token': 'a' } },
        /http\.headers: "X Token" is not a valid header name/,
      ],
      [
        'a header value with a line break',
        { headers: { 'X-Token': `${SECRET}\r\nSign: forged` } },
        /http\.headers\.X-Token must be a string of printable ASCII/,
      ],
      [
        'a header value that is a number',
        { headers: { 'X-Retry': 3 } },
        /http\.headers\.X-Retry must be a string/,
      ],
      [
        'a header given twice',
        { headers: { 'X-Token': 'a', 'x-token': 'b' } },
        /http\.headers\.x-token is given more than once/,
      ],
    ])('refuses %s, naming the option and echoing no secret', (_label, http, names) => {
      expect(configError({ ...BASE, http })).toMatch(names);
    });

    it('never prints proxy credentials or header values with the configuration', () => {
      const config = resolvePayoutOptions({
        ...BASE,
        http: {
          proxy: {
            host: 'proxy',
            port: 3128,
            auth: { username: 'svc', password: OTHER_SECRET },
          },
          headers: { 'X-Egress-Token': OTHER_SECRET },
        },
      });
      for (const text of printed(config)) expect(text).not.toContain(OTHER_SECRET);
      expect(config.http.proxy).toMatchObject({
        auth: { password: OTHER_SECRET },
      });
    });
  });
});

describe('PayoutConfig.selectAccount', () => {
  const enterprise = () =>
    resolvePayoutOptions({
      baseUrl: BASE.baseUrl,
      accounts: [
        {
          name: 'peru',
          merchantId: '1002001',
          apiKey: SECRET,
          currencies: ['PEN'],
        },
        {
          name: 'mexico',
          merchantId: '1002002',
          apiKey: OTHER_SECRET,
          currencies: ['MXN'],
        },
      ],
    });

  function selectError(run: () => unknown): string {
    let caught: unknown;
    try {
      run();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PayoutConfigurationError);
    const message = (caught as Error).message;
    expect(message).not.toContain('SUPERSECRET');
    return message;
  }

  it('picks by name', () => {
    const config = enterprise();
    expect(config.selectAccount({ account: 'peru' }).merchantId).toBe('1002001');
    expect(config.selectAccount({ account: 'mexico' }, 'MXN').merchantId).toBe('1002002');
  });

  it('picks by merchantId, as a string or a number', () => {
    const config = enterprise();
    expect(config.selectAccount({ account: '1002002' }).name).toBe('mexico');
    expect(config.selectAccount({ account: 1002001 }).name).toBe('peru');
  });

  it('picks by currency when each country has one account', () => {
    const config = enterprise();
    expect(config.selectAccount(undefined, 'PEN').name).toBe('peru');
    expect(config.selectAccount({}, 'MXN').name).toBe('mexico');
  });

  it('uses the only account for any currency', () => {
    const config = resolvePayoutOptions(BASE);
    expect(config.selectAccount(undefined, 'PEN').merchantId).toBe('1002001');
    expect(config.selectAccount(undefined, 'MXN').merchantId).toBe('1002001');
    expect(config.selectAccount(undefined).merchantId).toBe('1002001');
  });

  it('prefers the account dedicated to a currency over one serving every currency', () => {
    const config = resolvePayoutOptions({
      baseUrl: BASE.baseUrl,
      accounts: [
        { name: 'global', merchantId: '1', apiKey: SECRET },
        {
          name: 'peru',
          merchantId: '2',
          apiKey: OTHER_SECRET,
          currencies: ['PEN'],
        },
      ],
    });
    expect(config.selectAccount(undefined, 'PEN').name).toBe('peru');
    expect(config.selectAccount(undefined, 'MXN').name).toBe('global');
  });

  it('refuses to guess when two accounts serve PEN, naming both and the way out', () => {
    const config = resolvePayoutOptions({
      baseUrl: BASE.baseUrl,
      accounts: [
        {
          name: 'peru-a',
          merchantId: '1',
          apiKey: SECRET,
          currencies: ['PEN'],
        },
        {
          name: 'peru-b',
          merchantId: '2',
          apiKey: OTHER_SECRET,
          currencies: ['PEN', 'MXN'],
        },
      ],
    });
    const message = selectError(() => config.selectAccount(undefined, 'PEN'));
    expect(message).toContain('peru-a');
    expect(message).toContain('peru-b');
    expect(message).toContain('PEN');
    expect(message).toContain('account');
    // MXN has a single candidate.
    expect(config.selectAccount(undefined, 'MXN').name).toBe('peru-b');
  });

  it('refuses to guess between two all-currency accounts', () => {
    const config = resolvePayoutOptions({
      baseUrl: BASE.baseUrl,
      accounts: [
        { name: 'a', merchantId: '1', apiKey: SECRET },
        { name: 'b', merchantId: '2', apiKey: OTHER_SECRET },
      ],
    });
    expect(selectError(() => config.selectAccount(undefined, 'MXN'))).toMatch(/a and b|account/);
    expect(selectError(() => config.selectAccount(undefined))).toMatch(/account/);
  });

  it('rejects an unknown account, listing the known ones', () => {
    const message = selectError(() => enterprise().selectAccount({ account: 'chile' }));
    expect(message).toContain('chile');
    expect(message).toContain('peru');
    expect(message).toContain('mexico');
  });

  it('rejects an account that does not serve the currency', () => {
    const message = selectError(() => enterprise().selectAccount({ account: 'peru' }, 'MXN'));
    expect(message).toContain('peru');
    expect(message).toContain('MXN');
  });

  it('rejects a currency no account serves', () => {
    const config = resolvePayoutOptions({
      baseUrl: BASE.baseUrl,
      accounts: [{ name: 'peru', merchantId: '1', apiKey: SECRET, currencies: ['PEN'] }],
    });
    expect(selectError(() => config.selectAccount(undefined, 'MXN'))).toContain('MXN');
    const two = resolvePayoutOptions({
      baseUrl: BASE.baseUrl,
      accounts: [
        { name: 'p1', merchantId: '1', apiKey: SECRET, currencies: ['PEN'] },
        {
          name: 'p2',
          merchantId: '2',
          apiKey: OTHER_SECRET,
          currencies: ['PEN'],
        },
      ],
    });
    expect(selectError(() => two.selectAccount(undefined, 'MXN'))).toContain('MXN');
  });

  it('finds an account by the MerchantId of a webhook', () => {
    const config = enterprise();
    expect(config.accountByMerchantId('1002002')?.name).toBe('mexico');
    expect(config.accountByMerchantId('999')).toBeUndefined();
  });
});

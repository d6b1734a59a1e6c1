// A host app written the way a user would, in plain CommonJS, against the installed tarball.
'use strict';
require('reflect-metadata');
const assert = require('node:assert/strict');
const { Injectable, Module } = require('@nestjs/common');
const { ConfigModule, ConfigService } = require('@nestjs/config');
const { NestFactory } = require('@nestjs/core');
const { EventEmitterModule } = require('@nestjs/event-emitter');
const { FastifyAdapter } = require('@nestjs/platform-fastify');
const {
  PayoutModule,
  PayoutService,
  PayoutValidationError,
  OnPayoutSucceeded,
  OnPayoutFailed,
  PAYOUT_SUCCEEDED,
  PAYOUT_FAILED,
} = require('nestjs-cashy-payout');
const {
  CashySandbox,
  freePort: reservePort,
} = require('nestjs-cashy-payout/testing');
const {
  payoutConfig,
  PAYOUT_ENV_VARIABLES,
} = require('nestjs-cashy-payout/config');

class Listener {
  constructor() {
    this.events = [];
  }
  succeeded(event) {
    this.events.push([PAYOUT_SUCCEEDED, event]);
  }
  failed(event) {
    this.events.push([PAYOUT_FAILED, event]);
  }
}
Injectable()(Listener);
for (const [method, decorator] of [
  ['succeeded', OnPayoutSucceeded()],
  ['failed', OnPayoutFailed()],
]) {
  decorator(
    Listener.prototype,
    method,
    Object.getOwnPropertyDescriptor(Listener.prototype, method),
  );
}

const PEN = {
  accountName: 'Maria Quispe',
  accountNo: '03810110700064503226',
  cciAccountNo: '03810110700064503226',
  accountType: 1,
  currency: 'PEN',
  amount: '250.00',
  bankId: 6,
  idType: '1',
  idCard: '45671234',
  remark: 'withdrawal',
};
const MXN = {
  accountName: 'Jose Hernandez',
  accountNo: '002010077777777771',
  accountType: 40,
  currency: 'MXN',
  amount: 1500,
  bankId: 80,
  remark: 'retiro',
};

// Every invalid input design.md names, each broken in one way.
const INVALID = [
  ['PEN amount below 10.00', { ...PEN, amount: '9.99' }, 'amount'],
  ['PEN amount above 2000.00', { ...PEN, amount: '2000.01' }, 'amount'],
  ['PEN amount with 3 decimals', { ...PEN, amount: '100.005' }, 'amount'],
  ['MXN amount below 40', { ...MXN, amount: 39 }, 'amount'],
  ['MXN amount above 15000', { ...MXN, amount: 15001 }, 'amount'],
  ['MXN amount with centavos', { ...MXN, amount: '100.50' }, 'amount'],
  [
    'PEN accountName over 32',
    { ...PEN, accountName: 'A'.repeat(33) },
    'accountName',
  ],
  [
    'MXN accountName over 40',
    { ...MXN, accountName: 'A'.repeat(41) },
    'accountName',
  ],
  ['remark missing', { ...PEN, remark: undefined }, 'remark'],
  ['remark over 32', { ...PEN, remark: 'r'.repeat(33) }, 'remark'],
  ['remark with accents', { ...PEN, remark: 'pagó' }, 'remark'],
  ['PEN accountType 3', { ...PEN, accountType: 3 }, 'accountType'],
  ['PEN idType 5', { ...PEN, idType: '5' }, 'idType'],
  ['PEN idCard missing', { ...PEN, idCard: undefined }, 'idCard'],
  ['DNI of 9 digits', { ...PEN, idCard: '456712345' }, 'idCard'],
  ['PAS of 6 characters', { ...PEN, idType: '2', idCard: 'AB1234' }, 'idCard'],
  [
    'CE of 21 characters',
    { ...PEN, idType: '3', idCard: 'A'.repeat(21) },
    'idCard',
  ],
  ['RUC of 10 digits', { ...PEN, idType: '4', idCard: '2012345678' }, 'idCard'],
  [
    'BBVA account of 19 digits',
    {
      ...PEN,
      bankId: 1,
      cciAccountNo: undefined,
      accountNo: '0011066601000123451',
    },
    'accountNo',
  ],
  [
    'Interbank account of 14 digits',
    { ...PEN, bankId: 2, cciAccountNo: undefined, accountNo: '12345678901234' },
    'accountNo',
  ],
  [
    'BCP corriente of 14 digits',
    {
      ...PEN,
      bankId: 3,
      cciAccountNo: undefined,
      accountType: 0,
      accountNo: '19312345678901',
    },
    'accountNo',
  ],
  [
    'BCP ahorro of 13 digits',
    {
      ...PEN,
      bankId: 3,
      cciAccountNo: undefined,
      accountType: 1,
      accountNo: '1931234567890',
    },
    'accountNo',
  ],
  [
    'Scotiabank account of 11 digits',
    { ...PEN, bankId: 4, cciAccountNo: undefined, accountNo: '00376512345' },
    'accountNo',
  ],
  [
    'other bank without CCI',
    { ...PEN, cciAccountNo: undefined },
    'cciAccountNo',
  ],
  [
    'CCI with bad check digits',
    { ...PEN, cciAccountNo: '00219400254640654321' },
    'cciAccountNo',
  ],
  [
    'CCI of another bank',
    { ...PEN, cciAccountNo: '00219300153895206813' },
    'cciAccountNo',
  ],
  ['MXN accountType 1', { ...MXN, accountType: 1 }, 'accountType'],
  [
    'MXN card of 15 digits',
    { ...MXN, accountType: 3, accountNo: '415231301234567' },
    'accountNo',
  ],
  [
    'CLABE with a bad check digit',
    { ...MXN, accountNo: '002010077777777779' },
    'accountNo',
  ],
  ['CLABE of another bank', { ...MXN, bankId: 79 }, 'accountNo'],
  [
    'STP with a card number',
    { ...MXN, bankId: 24, accountType: 3, accountNo: '4152313012345678' },
    'accountType',
  ],
  ['unknown bankId', { ...MXN, bankId: 4242 }, 'bankId'],
  ['mchOrderNo over 32', { ...MXN, mchOrderNo: 'M'.repeat(33) }, 'mchOrderNo'],
  [
    'notifyUrl not http',
    { ...MXN, notifyUrl: 'ftp://example.com/hook' },
    'notifyUrl',
  ],
  [
    'notifyUrl over 250',
    { ...MXN, notifyUrl: `https://example.com/${'a'.repeat(240)}` },
    'notifyUrl',
  ],
  ['nonceStr given', { ...MXN, nonceStr: 'abc' }, 'nonceStr'],
  ['currency USD', { ...MXN, currency: 'USD' }, 'currency'],
];

// Express reads its settings from the environment through @nestjs/config; Fastify takes a factory.
async function run(adapterName) {
  const sandbox = new CashySandbox({ timeScale: 0.001 });
  await sandbox.start();
  let app;
  try {
    // The webhook URL needs the port, so listen on a known free one.
    const freePort = await reservePort();
    const notifyUrl = `http://127.0.0.1:${freePort}/payout/webhook`;
    const fromEnv = adapterName === 'express';
    if (fromEnv) {
      // Read when the app boots, as a deployment would set them.
      for (const name of PAYOUT_ENV_VARIABLES) delete process.env[name];
      Object.assign(process.env, {
        CASHY_BASE_URL: sandbox.baseUrl,
        CASHY_NOTIFY_URL: notifyUrl,
        CASHY_PEN_MERCHANT_ID: sandbox.account('PEN').merchantId,
        CASHY_PEN_API_KEY: sandbox.account('PEN').apiKey,
        CASHY_MXN_MERCHANT_ID: sandbox.account('MXN').merchantId,
        CASHY_MXN_API_KEY: sandbox.account('MXN').apiKey,
        CASHY_TIMEOUT_MS: '5000',
      });
    }
    class AppModule {}
    Module({
      imports: fromEnv
        ? [
            ConfigModule.forRoot({ load: [payoutConfig], ignoreEnvFile: true }),
            EventEmitterModule.forRoot(),
            PayoutModule.forRootAsync(payoutConfig.asProvider()),
          ]
        : [
            EventEmitterModule.forRoot(),
            PayoutModule.forRootAsync({
              useFactory: () => sandbox.moduleOptions({ notifyUrl }),
            }),
          ],
      providers: [Listener],
    })(AppModule);
    const options = { rawBody: true, logger: false, abortOnError: false };
    app =
      adapterName === 'fastify'
        ? await NestFactory.create(AppModule, new FastifyAdapter(), options)
        : await NestFactory.create(AppModule, options);
    await app.listen(freePort, '127.0.0.1');
    const payouts = app.get(PayoutService);
    const listener = app.get(Listener);
    if (fromEnv) {
      const config = app.get(ConfigService).get('payout');
      assert.deepEqual(
        [config.baseUrl, config.timeoutMs, config.accounts.map((a) => a.name)],
        [sandbox.baseUrl, 5000, ['pen', 'mxn']],
      );
      assert.ok(
        !JSON.stringify(config).includes(sandbox.account('PEN').apiKey),
        'the apiKey must not print',
      );
    }

    const pen = await payouts.createPayout({
      ...PEN,
      mchOrderNo: `SMOKE-PE-${adapterName}`,
    });
    const mxn = await payouts.createPayout({
      ...MXN,
      mchOrderNo: `SMOKE-MX-${adapterName}`,
    });
    assert.equal(pen.amount, '250.00');
    assert.equal(mxn.amount, '1500');
    await sandbox.waitFor(() => listener.events.length >= 2, 10000);
    assert.deepEqual(
      listener.events.map(([name, e]) => [name, e.mchOrderNo, e.amount]).sort(),
      [
        [PAYOUT_SUCCEEDED, `SMOKE-MX-${adapterName}`, '1500'],
        [PAYOUT_SUCCEEDED, `SMOKE-PE-${adapterName}`, '250.00'],
      ],
    );

    const before = sandbox.requests.length;
    let passed = 0;
    for (const [name, input, field] of INVALID) {
      const error = await payouts
        .createPayout({ mchOrderNo: `BAD-${passed}`, ...input })
        .then(
          () => undefined,
          (e) => e,
        );
      assert.ok(
        error instanceof PayoutValidationError,
        `${name}: expected PayoutValidationError, got ${error}`,
      );
      assert.ok(
        error.errors.some((e) => e.field === field),
        `${name}: expected an error on ${field}, got ${JSON.stringify(error.errors)}`,
      );
      passed++;
    }
    assert.equal(
      sandbox.requests.length,
      before,
      'no request may reach the gateway for invalid input',
    );
    return 2 + passed;
  } finally {
    await app?.close();
    await sandbox.stop();
  }
}

(async () => {
  let passed = 0;
  for (const adapter of ['express', 'fastify']) {
    passed += await run(adapter);
    const wiring =
      adapter === 'express'
        ? 'payoutConfig from CASHY_* variables'
        : 'a forRootAsync factory';
    console.log(
      `  ${adapter} (${wiring}): PEN and MXN payouts settled with events; ${INVALID.length} invalid inputs rejected with no request sent`,
    );
  }
  console.log(`smoke: ${passed} passed, 0 failed`);
})().catch((error) => {
  console.error(error);
  console.log('smoke: 0 passed, 1 failed');
  process.exitCode = 1;
});

// A host app written the way a user would, in plain CommonJS, against the installed tarball. On
// NestJS 12 the @nestjs packages are ES modules; require() loads them (Node 20.19+ and 22.12+).
'use strict';
require('reflect-metadata');
const assert = require('node:assert/strict');
const http = require('node:http');
const {
  Body,
  Controller,
  Get,
  Injectable,
  Module,
  Post,
} = require('@nestjs/common');
const { ConfigModule, ConfigService } = require('@nestjs/config');
const { APP_FILTER, NestFactory } = require('@nestjs/core');
const { EventEmitterModule } = require('@nestjs/event-emitter');
const { FastifyAdapter } = require('@nestjs/platform-fastify');
const {
  HealthCheck,
  HealthCheckService,
  TerminusModule,
} = require('@nestjs/terminus');
const { DocumentBuilder, SwaggerModule } = require('@nestjs/swagger');
const {
  PayoutModule,
  PayoutService,
  PayoutValidationError,
  PayoutExceptionFilter,
  CreatePayoutDto,
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
const { PayoutHealthIndicator } = require('nestjs-cashy-payout/terminus');

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

// What TypeScript's emitDecoratorMetadata would write, for plain JS.
function paramTypes(types, target, method) {
  Reflect.defineMetadata('design:paramtypes', types, target, method);
}
function decorateMethod(target, method, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target, method);
  for (const decorator of decorators) decorator(target, method, descriptor);
}

// The host's own payout route: the body goes to createPayout as is, and PayoutExceptionFilter maps
// what it throws (no ValidationPipe, so the service's own rules answer).
class PayoutsController {
  constructor(payouts) {
    this.payouts = payouts;
  }
  create(body) {
    return this.payouts.createPayout(body);
  }
}
Controller('payouts')(PayoutsController);
paramTypes([PayoutService], PayoutsController);
paramTypes([CreatePayoutDto], PayoutsController.prototype, 'create');
Body()(PayoutsController.prototype, 'create', 0);
decorateMethod(PayoutsController.prototype, 'create', Post());

class HealthController {
  constructor(health, payoutHealth) {
    this.health = health;
    this.payoutHealth = payoutHealth;
  }
  check() {
    return this.health.check([
      () => this.payoutHealth.isHealthy('cashy', { timeoutMs: 2000 }),
    ]);
  }
}
Controller('health')(HealthController);
paramTypes([HealthCheckService, PayoutHealthIndicator], HealthController);
decorateMethod(HealthController.prototype, 'check', Get(), HealthCheck());

// A forward HTTP proxy: takes absolute-URI requests (what axios sends to an http: proxy), marks them
// and passes them on. Anything else is refused, so a request sent straight to it cannot pass.
async function startProxy() {
  const proxy = { forwarded: 0, refused: 0, header: 'x-smoke-proxy' };
  proxy.server = http.createServer((request, response) => {
    if (!/^http:\/\//.test(request.url)) {
      proxy.refused++;
      response.writeHead(400).end('not a proxy request');
      return;
    }
    proxy.forwarded++;
    const target = new URL(request.url);
    const upstream = http.request(
      target,
      {
        method: request.method,
        headers: { ...request.headers, host: target.host, [proxy.header]: '1' },
      },
      (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.port = proxy.server.address().port;
  proxy.stop = () =>
    new Promise((resolve) => {
      proxy.server.close(resolve);
      proxy.server.closeAllConnections();
    });
  return proxy;
}

async function post(baseUrl, path, body) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const CREATE_FIELDS = [
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
];

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

// Express reads its settings from the environment through @nestjs/config, has no proxy and registers
// the filter with useGlobalFilters; Fastify takes a factory that routes every gateway call through a
// forward proxy, and registers the filter as APP_FILTER.
async function run(adapterName) {
  const sandbox = new CashySandbox({ timeScale: 0.001 });
  await sandbox.start();
  const fromEnv = adapterName === 'express';
  const proxy = fromEnv ? undefined : await startProxy();
  const checks = [];
  const check = (line) => {
    checks.push(line);
    console.log(`  ${adapterName}: ${line}`);
  };
  let app;
  try {
    // The webhook URL needs the port, so listen on a known free one.
    const freePort = await reservePort();
    const appUrl = `http://127.0.0.1:${freePort}`;
    const notifyUrl = `${appUrl}/payout/webhook`;
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
      imports: [
        ...(fromEnv
          ? [
              ConfigModule.forRoot({
                load: [payoutConfig],
                ignoreEnvFile: true,
              }),
              EventEmitterModule.forRoot(),
              PayoutModule.forRootAsync(payoutConfig.asProvider()),
            ]
          : [
              EventEmitterModule.forRoot(),
              PayoutModule.forRootAsync({
                useFactory: () => ({
                  ...sandbox.moduleOptions({ notifyUrl }),
                  http: {
                    proxy: {
                      protocol: 'http',
                      host: '127.0.0.1',
                      port: proxy.port,
                    },
                  },
                }),
              }),
            ]),
        TerminusModule,
      ],
      controllers: [PayoutsController, HealthController],
      providers: [
        Listener,
        PayoutHealthIndicator,
        ...(fromEnv
          ? []
          : [{ provide: APP_FILTER, useClass: PayoutExceptionFilter }]),
      ],
    })(AppModule);
    const options = { rawBody: true, logger: false, abortOnError: false };
    app =
      adapterName === 'fastify'
        ? await NestFactory.create(AppModule, new FastifyAdapter(), options)
        : await NestFactory.create(AppModule, options);
    if (fromEnv) app.useGlobalFilters(new PayoutExceptionFilter());
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
      check('payoutConfig read the CASHY_* variables (no apiKey in the dump)');
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
    check('PEN and MXN payouts settled, with their events');

    if (proxy) {
      const creates = sandbox.requests.filter((r) =>
        /payout/i.test(r.endpoint),
      );
      assert.ok(
        proxy.forwarded > 0,
        'no request went through the proxy given in http.proxy',
      );
      assert.ok(creates.length > 0, 'the sandbox saw no payout request');
      const direct = sandbox.requests.filter((r) => !r.headers[proxy.header]);
      assert.deepEqual(
        direct.map((r) => `${r.method} ${r.endpoint}`),
        [],
        'every gateway request must come through the proxy given in http.proxy',
      );
      assert.equal(proxy.refused, 0, 'the proxy refused a non-proxy request');
      check(
        `http.proxy: createPayout succeeded through the forward proxy (${proxy.forwarded} requests forwarded, none direct)`,
      );
    } else {
      assert.ok(
        sandbox.requests.every((r) => !r.headers['x-smoke-proxy']),
        'a request came through a proxy though none was configured',
      );
    }

    const before = sandbox.requests.length;
    let rejected = 0;
    for (const [name, input, field] of INVALID) {
      const error = await payouts
        .createPayout({ mchOrderNo: `BAD-${rejected}`, ...input })
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
      rejected++;
    }
    assert.equal(
      sandbox.requests.length,
      before,
      'no request may reach the gateway for invalid input',
    );
    check(`${rejected} invalid inputs rejected with no request sent`);

    // PayoutExceptionFilter, registered globally, answers the host's own route.
    const registration = fromEnv
      ? 'useGlobalFilters(new PayoutExceptionFilter())'
      : 'APP_FILTER';
    const invalid = await post(appUrl, '/payouts', {
      ...PEN,
      amount: '9.99',
      remark: 'pagó',
      mchOrderNo: `SMOKE-BAD-${adapterName}`,
    });
    assert.equal(
      invalid.status,
      400,
      `an invalid body must answer 400, got ${invalid.status} ${JSON.stringify(invalid.body)}`,
    );
    assert.ok(
      Array.isArray(invalid.body.errors) && invalid.body.errors.length >= 2,
      `400 body without errors: ${JSON.stringify(invalid.body)}`,
    );
    for (const error of invalid.body.errors) {
      assert.deepEqual(
        Object.keys(error).sort(),
        ['field', 'message', 'rule'],
        `each error is { field, rule, message }: ${JSON.stringify(error)}`,
      );
      for (const key of ['field', 'rule', 'message'])
        assert.equal(typeof error[key], 'string', JSON.stringify(error));
    }
    assert.deepEqual(
      [...new Set(invalid.body.errors.map((e) => e.field))].sort(),
      ['amount', 'remark'],
    );
    assert.equal(invalid.body.statusCode, 400);
    assert.equal(sandbox.requests.length, before, 'the 400 sent a request');

    const order = { ...MXN, mchOrderNo: `SMOKE-DUP-${adapterName}` };
    const created = await post(appUrl, '/payouts', order);
    assert.equal(
      created.status,
      201,
      `a valid body must answer 201, got ${created.status} ${JSON.stringify(created.body)}`,
    );
    assert.equal(created.body.mchOrderNo, order.mchOrderNo);
    const reused = await post(appUrl, '/payouts', { ...order, amount: 1600 });
    assert.equal(
      reused.status,
      409,
      `a reused mchOrderNo for another amount must answer 409, got ${reused.status} ${JSON.stringify(reused.body)}`,
    );
    assert.equal(reused.body.statusCode, 409);
    assert.equal(reused.body.mchOrderNo, order.mchOrderNo);
    check(
      `PayoutExceptionFilter (${registration}): POST /payouts answers 400 with errors [{ field, rule, message }], 201, then 409 for a reused mchOrderNo`,
    );

    // PayoutHealthIndicator under the real @nestjs/terminus.
    const healthResponse = await fetch(`${appUrl}/health`);
    const health = await healthResponse.json();
    assert.equal(
      healthResponse.status,
      200,
      `/health answered ${healthResponse.status} ${JSON.stringify(health)}`,
    );
    assert.equal(health.status, 'ok', JSON.stringify(health));
    assert.equal(health.info?.cashy?.status, 'up', JSON.stringify(health));
    const accounts = health.info.cashy.accounts ?? {};
    assert.deepEqual(Object.keys(accounts).sort(), ['mxn', 'pen']);
    for (const [name, account] of Object.entries(accounts)) {
      assert.equal(account.status, 'up', `${name}: ${JSON.stringify(account)}`);
      assert.equal(
        account.merchantId,
        sandbox.account(name.toUpperCase()).merchantId,
      );
    }
    assert.ok(
      !JSON.stringify(health).includes(sandbox.account('PEN').apiKey),
      'the health answer must not show an apiKey',
    );
    check(
      "PayoutHealthIndicator (nestjs-cashy-payout/terminus): GET /health answers 200, accounts 'pen' and 'mxn' up",
    );

    // @nestjs/swagger: the host's @Body() CreatePayoutDto has its schema; the webhook stays out.
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder().setTitle('host').setVersion('1').build(),
    );
    const schema = document.components?.schemas?.CreatePayoutDto;
    assert.ok(
      schema,
      `no CreatePayoutDto schema; schemas: ${Object.keys(document.components?.schemas ?? {})}`,
    );
    const missing = CREATE_FIELDS.filter(
      (field) => !(field in (schema.properties ?? {})),
    );
    assert.deepEqual(missing, [], 'CreatePayoutDto schema lacks fields');
    const requestBody = document.paths['/payouts']?.post?.requestBody;
    assert.equal(
      requestBody?.content?.['application/json']?.schema?.$ref,
      '#/components/schemas/CreatePayoutDto',
      `POST /payouts body: ${JSON.stringify(requestBody)}`,
    );
    const webhookPaths = Object.keys(document.paths).filter((path) =>
      path.includes('payout/webhook'),
    );
    assert.deepEqual(
      webhookPaths,
      [],
      'the webhook route must not be documented',
    );
    check(
      `Swagger: CreatePayoutDto has all ${CREATE_FIELDS.length} create fields, POST /payouts refers to it, no payout/webhook path`,
    );

    if (proxy) {
      // The HTTP route's payouts and the health probes' getBalance calls went the same way.
      const direct = sandbox.requests.filter((r) => !r.headers[proxy.header]);
      assert.deepEqual(
        direct.map((r) => `${r.method} ${r.endpoint}`),
        [],
        'every gateway request must come through the proxy given in http.proxy',
      );
      assert.equal(proxy.refused, 0, 'the proxy refused a non-proxy request');
      check(
        `http.proxy: all ${sandbox.requests.length} gateway requests of the run (payouts, balance probes) came through the proxy`,
      );
    }
    return checks.length;
  } finally {
    await app?.close();
    await sandbox.stop();
    await proxy?.stop();
  }
}

// The /postgres entry point loads without its optional peer pg (not installed here): a host hands
// its own pool, and only a store asked to connect by itself needs pg, which it says.
function checkPostgresEntry() {
  const { PostgresPayoutStore, POSTGRES_PAYOUT_MIGRATIONS } = require('nestjs-cashy-payout/postgres');
  assert.throws(() => require('pg'), /Cannot find module/);
  assert.equal(POSTGRES_PAYOUT_MIGRATIONS[0].name, '0001_payout_store');
  const pool = { connect: async () => assert.fail('nothing is sent before a call') };
  assert.equal(new PostgresPayoutStore({ pool, purgeIntervalMs: 0 }).schema, 'public');
  assert.throws(
    () => new PostgresPayoutStore({ connection: 'postgres://app@db/payouts' }),
    /needs the pg package/,
  );
  return 1;
}

(async () => {
  let passed = checkPostgresEntry();
  for (const adapter of ['express', 'fastify']) passed += await run(adapter);
  console.log(`smoke: ${passed} passed, 0 failed`);
})().catch((error) => {
  console.error(error);
  console.log('smoke: 0 passed, 1 failed');
  process.exitCode = 1;
});

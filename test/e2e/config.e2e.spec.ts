import { type INestApplication, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { PayoutConfigurationError, PayoutModule, PayoutService } from '../../lib';
import { payoutConfig, type PayoutEnvConfig } from '../../lib/config';
import { CashySandbox, type CashySandboxOptions, freePort } from '../../lib/testing';
import { type RunningSample, startSampleApp } from '../../sample/sample-app';
import { RecordingListener } from '../support/host-app';

const PEN = {
  accountName: 'Maria Quispe',
  accountNo: '03810110700064503226',
  cciAccountNo: '03810110700064503226',
  accountType: 1,
  currency: 'PEN' as const,
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
  currency: 'MXN' as const,
  amount: 1500,
  bankId: 80,
  remark: 'retiro',
};

/** The wiring the README shows: settings from the environment through @nestjs/config. */
@Module({
  imports: [
    ConfigModule.forRoot({ load: [payoutConfig], ignoreEnvFile: true }),
    EventEmitterModule.forRoot(),
    PayoutModule.forRootAsync(payoutConfig.asProvider()),
  ],
  providers: [RecordingListener],
})
class EnvConfiguredAppModule {}

const saved = process.env;
afterEach(() => {
  process.env = saved;
});

/** Sets exactly these CASHY_* variables (and no other) for the app about to boot. */
function useEnv(env: Record<string, string>): void {
  process.env = {
    ...Object.fromEntries(Object.entries(saved).filter(([name]) => !name.startsWith('CASHY_'))),
    ...env,
  };
}

describe.each<[string, CashySandboxOptions, (sandbox: CashySandbox) => Record<string, string>]>([
  [
    'one account per currency (CASHY_PEN_*, CASHY_MXN_*)',
    {},
    (sandbox) => ({
      CASHY_BASE_URL: sandbox.baseUrl,
      CASHY_PEN_MERCHANT_ID: sandbox.account('PEN').merchantId,
      CASHY_PEN_API_KEY: sandbox.account('PEN').apiKey,
      CASHY_MXN_MERCHANT_ID: sandbox.account('MXN').merchantId,
      CASHY_MXN_API_KEY: sandbox.account('MXN').apiKey,
    }),
  ],
  [
    'one account (CASHY_MERCHANT_ID, CASHY_API_KEY)',
    {
      accounts: [
        {
          merchantId: '1003001',
          apiKey: 'sandbox-one-key',
          currencies: ['PEN', 'MXN'],
        },
      ],
    },
    (sandbox) => ({
      CASHY_BASE_URL: sandbox.baseUrl,
      CASHY_MERCHANT_ID: '1003001',
      CASHY_API_KEY: 'sandbox-one-key',
    }),
  ],
])(
  'PayoutModule.forRootAsync(payoutConfig.asProvider()) with %s',
  (_shape, sandboxOptions, variables) => {
    let sandbox: CashySandbox;
    let app: INestApplication;

    beforeAll(async () => {
      sandbox = new CashySandbox({
        processingMs: 5,
        payingMs: 10,
        timeScale: 0.001,
        ...sandboxOptions,
      });
      await sandbox.start();
      const port = await freePort();
      useEnv({
        ...variables(sandbox),
        CASHY_NOTIFY_URL: `http://127.0.0.1:${port}/payout/webhook`,
        CASHY_TIMEOUT_MS: '2000',
      });
      app = await NestFactory.create(EnvConfiguredAppModule, {
        rawBody: true,
        logger: false,
        abortOnError: false,
      });
      await app.listen(port, '127.0.0.1');
    });
    afterAll(async () => {
      await app?.close();
      await sandbox?.stop();
    });

    it('creates PEN and MXN payouts that settle and reach the listeners through the webhook', async () => {
      const payouts = app.get(PayoutService);
      const listener = app.get(RecordingListener);
      const pen = await payouts.createPayout({
        ...PEN,
        mchOrderNo: 'CONFIG-PE-1',
      });
      const mxn = await payouts.createPayout({
        ...MXN,
        mchOrderNo: 'CONFIG-MX-1',
      });
      expect([pen.orderStatus, pen.amount, mxn.orderStatus, mxn.amount]).toEqual([
        'PROCESSING',
        '250.00',
        'PROCESSING',
        '1500',
      ]);
      await sandbox.waitFor(() => listener.events.length >= 2);
      expect(listener.events.map((e) => [e.name, e.payload.mchOrderNo]).sort()).toEqual([
        ['payout.succeeded', 'CONFIG-MX-1'],
        ['payout.succeeded', 'CONFIG-PE-1'],
      ]);
      // Each payout went out under the account that serves its currency.
      const creates = sandbox.requests
        .filter((r) => r.endpoint === '/api/payOut')
        .map((r) => r.merchantId);
      expect(creates).toEqual([
        sandbox.account('PEN').merchantId,
        sandbox.account('MXN').merchantId,
      ]);
    });

    it('exposes the namespace through ConfigService, with the timeout parsed as a number', () => {
      const config = app.get(ConfigService).getOrThrow<PayoutEnvConfig>('payout');
      expect(config.baseUrl).toBe(sandbox.baseUrl);
      expect(config.timeoutMs).toBe(2000);
      expect(JSON.stringify(config)).not.toMatch(/sandbox-\w+-key/);
    });
  },
);

describe('payoutConfig at startup', () => {
  it('stops the app with a message naming the missing variables', async () => {
    useEnv({ CASHY_MERCHANT_ID: '1002001', CASHY_API_KEY: 'SUPERSECRET-KEY' });
    const error = await NestFactory.create(EnvConfiguredAppModule, {
      logger: false,
      abortOnError: false,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PayoutConfigurationError);
    expect((error as Error).message).toBe(
      'Invalid PayoutModule options from the environment: CASHY_BASE_URL (baseUrl) is required and must be an http(s) URL',
    );
  });
});

describe('the sample app with a gateway configured', () => {
  it('reads the gateway from the CASHY_* variables through payoutConfig', async () => {
    const sandbox = new CashySandbox({
      processingMs: 5,
      payingMs: 10,
      timeScale: 0.001,
    });
    await sandbox.start();
    let sample: RunningSample | undefined;
    try {
      useEnv({
        CASHY_BASE_URL: sandbox.baseUrl,
        CASHY_PEN_MERCHANT_ID: sandbox.account('PEN').merchantId,
        CASHY_PEN_API_KEY: sandbox.account('PEN').apiKey,
      });
      sample = await startSampleApp({ port: 0, logger: false });
      expect(sample.sandbox).toBeUndefined();
      const balance = await fetch(`${sample.url}/balance?currency=PEN`);
      expect([balance.status, await balance.json()]).toEqual([
        200,
        expect.objectContaining({
          merchantId: sandbox.account('PEN').merchantId,
        }),
      ]);
      expect(sandbox.requests.map((r) => r.endpoint)).toEqual(['/api/getBalance']);
    } finally {
      await sample?.close();
      await sandbox.stop();
    }
  });
});

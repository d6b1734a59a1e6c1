import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { PayoutConfigurationError, PayoutModule } from '../../lib';
import { PayoutHealthIndicator } from '../../lib/terminus';
import { CashySandbox } from '../../lib/testing';
import { SANDBOX_DEFAULT_BALANCE } from '../../lib/testing/sandbox-conventions';
import { ADAPTERS, startHostApp } from '../support/host-app';

/** The probe's timeout in these tests; the module's own is 10 s with 3 attempts. */
const PROBE_MS = 300;

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cashy: PayoutHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.cashy.isHealthy('cashy', { timeoutMs: PROBE_MS })]);
  }
}

interface HealthBody {
  status: string;
  details: {
    cashy: {
      status: string;
      message?: string;
      accounts: Record<string, Record<string, unknown>>;
    };
  };
}

describe.each(ADAPTERS)('PayoutHealthIndicator on %s', (adapter) => {
  let sandbox: CashySandbox;
  const apps: INestApplication[] = [];

  /** A host app with Terminus and the indicator, on the sandbox; `mxnKey` replaces the MXN account's apiKey. */
  const startHost = async (mxnKey?: string) => {
    const options = sandbox.moduleOptions();
    if (mxnKey)
      options.accounts = options.accounts.map((account) =>
        account.name === 'mxn' ? { ...account, apiKey: mxnKey } : account,
      );
    const { app, url } = await startHostApp(
      adapter,
      PayoutModule.forRoot({ ...options, webhook: false }),
      {
        imports: [TerminusModule.forRoot({ logger: false })],
        controllers: [HealthController],
        providers: [PayoutHealthIndicator],
      },
    );
    apps.push(app);
    return url;
  };
  const check = async (url: string) => {
    const started = Date.now();
    const response = await fetch(`${url}/health`);
    const text = await response.text();
    return {
      status: response.status,
      ms: Date.now() - started,
      text,
      body: JSON.parse(text) as HealthBody,
    };
  };
  const balanceCalls = () =>
    sandbox.requests.filter((request) => request.endpoint === '/api/getBalance');

  beforeAll(async () => {
    sandbox = new CashySandbox();
    await sandbox.start();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await sandbox.stop();
  });
  beforeEach(() => {
    sandbox.requests.length = 0;
  });

  it('is up when every account answers, naming each account and merchantId, without keys or balances', async () => {
    const url = await startHost();
    const answer = await check(url);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('ok');
    expect(answer.body.details.cashy).toEqual({
      status: 'up',
      payouts: { open: 0, watchingReturns: 0 },
      store: { status: 'up', latencyMs: expect.any(Number) },
      accounts: {
        pen: {
          status: 'up',
          merchantId: sandbox.account('PEN').merchantId,
          latencyMs: expect.any(Number),
        },
        mxn: {
          status: 'up',
          merchantId: sandbox.account('MXN').merchantId,
          latencyMs: expect.any(Number),
        },
      },
    });
    expect(answer.text).not.toContain(sandbox.account('PEN').apiKey);
    expect(answer.text).not.toContain(sandbox.account('MXN').apiKey);
    expect(answer.text).not.toMatch(/balance/i);
    expect(answer.text).not.toContain(SANDBOX_DEFAULT_BALANCE);
    expect(
      balanceCalls()
        .map((request) => request.merchantId)
        .sort(),
    ).toEqual([sandbox.account('PEN').merchantId, sandbox.account('MXN').merchantId].sort());
  });

  it('answers 503 within about the probe timeout when the gateway hangs, with one request per account', async () => {
    const url = await startHost();
    sandbox.injectFaults({
      mode: 'timeout',
      count: 2,
      endpoints: ['getBalance'],
    });
    const answer = await check(url);
    expect(answer.status).toBe(503);
    expect(answer.ms).toBeLessThan(PROBE_MS + 1_500); // not the module's 10 s × 3 attempts
    expect(answer.body.status).toBe('error');
    expect(answer.body.details.cashy).toEqual({
      status: 'down',
      message: expect.stringContaining('2 of 2'),
      payouts: { open: 0, watchingReturns: 0 },
      store: { status: 'up', latencyMs: expect.any(Number) },
      accounts: {
        pen: {
          status: 'down',
          merchantId: sandbox.account('PEN').merchantId,
          latencyMs: expect.any(Number),
          reason: `Cashy /api/getBalance: timeout (no complete answer within ${PROBE_MS} ms)`,
        },
        mxn: {
          status: 'down',
          merchantId: sandbox.account('MXN').merchantId,
          latencyMs: expect.any(Number),
          reason: `Cashy /api/getBalance: timeout (no complete answer within ${PROBE_MS} ms)`,
        },
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(balanceCalls()).toHaveLength(2); // no retries
    // The gateway is back: the next check is up again.
    expect((await check(url)).status).toBe(200);
  });

  it('answers 503 with per-account status when one account is refused (Sign_verify_error)', async () => {
    const wrongKey = 'wrong-mxn-key-0123456789';
    const url = await startHost(wrongKey);
    const answer = await check(url);
    expect(answer.status).toBe(503);
    expect(answer.body.details.cashy.accounts).toEqual({
      pen: {
        status: 'up',
        merchantId: sandbox.account('PEN').merchantId,
        latencyMs: expect.any(Number),
      },
      mxn: {
        status: 'down',
        merchantId: sandbox.account('MXN').merchantId,
        latencyMs: expect.any(Number),
        reason: expect.stringContaining('Sign_verify_error'),
        code: 401,
        msg: 'Sign_verify_error',
      },
    });
    expect(answer.body.details.cashy.message).toMatch(/^1 of 2 .*mxn/);
    expect(answer.text).not.toContain(wrongKey);
    expect(balanceCalls()).toHaveLength(2);
  });
});

describe('PayoutHealthIndicator without PayoutModule', () => {
  it('fails at startup, saying what is missing', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule.forRoot({ logger: false })],
      providers: [PayoutHealthIndicator],
    }).compile();
    const error = await moduleRef.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PayoutConfigurationError);
    expect((error as Error).message).toMatch(/PayoutModule\.forRoot/);
    // No close(): it would rethrow the failed init, and nothing was opened.
  });
});

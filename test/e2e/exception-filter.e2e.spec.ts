import { Catch, Controller, Get, type INestApplication, Param, UseFilters } from '@nestjs/common';
import {
  CashyApiError,
  CashyTransportError,
  PayoutConfigurationError,
  PayoutError,
  PayoutExceptionFilter,
  PayoutModule,
  PayoutOrderConflictError,
  PayoutOutcomeUnknownError,
  PayoutStoreError,
  PayoutValidationError,
} from '../../lib';
import { PayoutBusyError } from '../../lib/payout.errors';
import { ADAPTERS, startHostApp } from '../support/host-app';

/** An apiKey-shaped secret planted in every internal text the filter could be tempted to echo. */
const API_KEY = 'sk_live_7Hq2VbX9pLm4RzT8wNc3';

class SomeFuturePayoutError extends PayoutError {}

/** Every member of the family, built directly, with internal text that must not reach the client. */
const ERRORS: Record<string, () => Error> = {
  validation: () =>
    new PayoutValidationError([
      {
        field: 'amount',
        rule: 'min',
        message: 'amount must be at least 10.00 PEN',
      },
      { field: 'remark', rule: 'required', message: 'remark is required' },
    ]),
  conflict: () =>
    new PayoutOrderConflictError('ORD-1', 'P100200', `it was sent as 10.00 PEN (key ${API_KEY})`),
  'conflict-without-order': () =>
    new PayoutOrderConflictError('ORD-2', undefined, `detail ${API_KEY}`),
  params: () => new CashyApiError(400, 'Params_bankId_error', `/api/payOut?k=${API_KEY}`),
  'not-found': () => new CashyApiError(400, 'Order_not_exist', '/api/payOutQuery'),
  duplicate: () => new CashyApiError(400, 'Params_mchOrderNo_repeat', '/api/payOut'),
  sign: () => new CashyApiError(401, 'Sign_verify_error', '/api/payOut'),
  merchant: () => new CashyApiError(401, 'MerchantId_is_error', '/api/payOut'),
  'request-ip': () => new CashyApiError(403, 'Request_ip_not_allowed', '/api/payOut'),
  busy: () => new CashyApiError(500, 'System_busy', '/api/getBalance'),
  maintenance: () => new CashyApiError(500, 'System_Maintenance', '/api/getBalance'),
  'system-error': () => new CashyApiError(500, 'System_error', '/api/payOutQuery'),
  'unknown-code': () => new CashyApiError(999, 'Whatever_new', '/api/payOutQuery'),
  'outcome-unknown': () =>
    new PayoutOutcomeUnknownError(
      'ORD-3',
      `POST https://merchant:${API_KEY}@gw.internal timed out`,
    ),
  configuration: () =>
    new PayoutConfigurationError(`accounts[0].apiKey "${API_KEY}" is not accepted`),
  store: () =>
    new PayoutStoreError('getAttempt', new Error(`redis://:${API_KEY}@10.1.2.3:6379 ECONNREFUSED`)),
  timeout: () =>
    new CashyTransportError(
      'timeout',
      '/api/getBalance',
      `no complete answer within 10000 ms (${API_KEY})`,
    ),
  connection: () =>
    new CashyTransportError('connection', '/api/getBalance', `ECONNRESET ${API_KEY}`),
  'http-status': () =>
    new CashyTransportError('http-status', '/api/getBalance', 'HTTP 500, not a Cashy envelope'),
  'delivery-busy': () => new PayoutBusyError(`order P100200 is being processed (${API_KEY})`),
  other: () => new SomeFuturePayoutError(`internal ${API_KEY}`),
  'not-ours': () => new Error('plain error'),
};

const GENERIC_500 = {
  statusCode: 500,
  error: 'Internal Server Error',
  message: 'Internal server error',
};

/** What each error must answer: status, Retry-After (or none) and the exact body. */
const EXPECTED: Record<
  string,
  { status: number; retryAfter?: string; body: Record<string, unknown> }
> = {
  validation: {
    status: 400,
    body: {
      statusCode: 400,
      error: 'Bad Request',
      message: ['amount must be at least 10.00 PEN', 'remark is required'],
      errors: [
        {
          field: 'amount',
          rule: 'min',
          message: 'amount must be at least 10.00 PEN',
        },
        { field: 'remark', rule: 'required', message: 'remark is required' },
      ],
    },
  },
  conflict: {
    status: 409,
    body: {
      statusCode: 409,
      error: 'Conflict',
      message: expect.stringContaining('ORD-1'),
      mchOrderNo: 'ORD-1',
      orderNo: 'P100200',
    },
  },
  'conflict-without-order': {
    status: 409,
    body: {
      statusCode: 409,
      error: 'Conflict',
      message: expect.any(String),
      mchOrderNo: 'ORD-2',
      orderNo: null,
    },
  },
  params: {
    status: 422,
    body: {
      statusCode: 422,
      error: 'Unprocessable Entity',
      message: expect.any(String),
      code: 400,
      msg: 'Params_bankId_error',
    },
  },
  'not-found': {
    status: 404,
    body: {
      statusCode: 404,
      error: 'Not Found',
      message: expect.any(String),
      code: 400,
      msg: 'Order_not_exist',
    },
  },
  duplicate: {
    status: 409,
    body: {
      statusCode: 409,
      error: 'Conflict',
      message: expect.any(String),
      code: 400,
      msg: 'Params_mchOrderNo_repeat',
    },
  },
  sign: {
    status: 502,
    body: {
      statusCode: 502,
      error: 'Bad Gateway',
      message: expect.any(String),
      code: 401,
      msg: 'Sign_verify_error',
    },
  },
  merchant: {
    status: 502,
    body: {
      statusCode: 502,
      error: 'Bad Gateway',
      message: expect.any(String),
      code: 401,
      msg: 'MerchantId_is_error',
    },
  },
  'request-ip': {
    status: 502,
    body: {
      statusCode: 502,
      error: 'Bad Gateway',
      message: expect.any(String),
      code: 403,
      msg: 'Request_ip_not_allowed',
    },
  },
  busy: {
    status: 503,
    retryAfter: '5',
    body: {
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.any(String),
      code: 500,
      msg: 'System_busy',
    },
  },
  maintenance: {
    status: 503,
    retryAfter: '60',
    body: {
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.any(String),
      code: 500,
      msg: 'System_Maintenance',
    },
  },
  'system-error': {
    status: 502,
    body: {
      statusCode: 502,
      error: 'Bad Gateway',
      message: expect.any(String),
      code: 500,
      msg: 'System_error',
    },
  },
  'unknown-code': {
    status: 502,
    body: {
      statusCode: 502,
      error: 'Bad Gateway',
      message: expect.any(String),
      code: 999,
      msg: 'Whatever_new',
    },
  },
  'outcome-unknown': {
    status: 503,
    retryAfter: '30',
    body: {
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringContaining('same mchOrderNo'),
      mchOrderNo: 'ORD-3',
    },
  },
  configuration: { status: 500, body: GENERIC_500 },
  store: {
    status: 503,
    retryAfter: '5',
    body: {
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.any(String),
    },
  },
  timeout: {
    status: 504,
    body: {
      statusCode: 504,
      error: 'Gateway Timeout',
      message: expect.any(String),
    },
  },
  connection: {
    status: 502,
    body: {
      statusCode: 502,
      error: 'Bad Gateway',
      message: expect.any(String),
    },
  },
  'http-status': {
    status: 502,
    body: {
      statusCode: 502,
      error: 'Bad Gateway',
      message: expect.any(String),
    },
  },
  'delivery-busy': {
    status: 503,
    retryAfter: '5',
    body: {
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.any(String),
    },
  },
  other: { status: 500, body: GENERIC_500 },
  // Not in the family: the filter leaves it to Nest's own handler.
  'not-ours': {
    status: 500,
    body: { statusCode: 500, message: 'Internal server error' },
  },
};

/** The filter resolved by Nest (with HttpAdapterHost injected). */
@Controller('di')
@UseFilters(PayoutExceptionFilter)
class InjectedFilterController {
  @Get(':kind')
  fail(@Param('kind') kind: string): never {
    throw ERRORS[kind]();
  }
}

/** The filter created with `new` (no HttpAdapterHost): replies through the adapter-neutral path. */
@Controller('plain')
@UseFilters(new PayoutExceptionFilter())
class PlainFilterController {
  @Get(':kind')
  fail(@Param('kind') kind: string): never {
    throw ERRORS[kind]();
  }
}

/** A host that overrides one mapping: every gateway refusal is a 400 to its clients. */
@Catch(PayoutError)
class StrictClientFilter extends PayoutExceptionFilter {
  protected override cashyApiStatus(error: CashyApiError): number {
    return error.msg.startsWith('Params_') ? 400 : super.cashyApiStatus(error);
  }
}

@Controller('custom')
@UseFilters(StrictClientFilter)
class CustomFilterController {
  @Get(':kind')
  fail(@Param('kind') kind: string): never {
    throw ERRORS[kind]();
  }
}

describe.each(ADAPTERS)('PayoutExceptionFilter on %s', (adapter) => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const payoutModule = PayoutModule.forRoot({
      baseUrl: 'http://127.0.0.1:9',
      merchantId: '1002001',
      apiKey: API_KEY,
      webhook: false,
    });
    ({ app, url } = await startHostApp(adapter, payoutModule, {
      controllers: [InjectedFilterController, PlainFilterController, CustomFilterController],
    }));
  });
  afterAll(() => app.close());

  const call = async (path: string) => {
    const response = await fetch(`${url}/${path}`);
    const text = await response.text();
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      text,
      body: JSON.parse(text) as Record<string, unknown>,
    };
  };

  describe.each(['di', 'plain'])('registered %s', (mount) => {
    it.each(Object.keys(ERRORS))('%s', async (kind) => {
      const expected = EXPECTED[kind];
      const answer = await call(`${mount}/${kind}`);
      expect(answer.status).toBe(expected.status);
      expect(answer.body).toEqual(expected.body);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(answer.headers['retry-after']).toBe(expected.retryAfter);
      // Nothing internal leaks: not the planted key, nor the hosts and stores the messages named.
      const everything = answer.text + JSON.stringify(answer.headers);
      expect(everything).not.toContain(API_KEY);
      expect(everything).not.toMatch(/sk_live|10\.1\.2\.3|gw\.internal|redis:/);
    });
  });

  it('lets a host override one mapping through a protected method', async () => {
    expect((await call('custom/params')).status).toBe(400);
    expect((await call('custom/sign')).status).toBe(502);
    expect((await call('custom/busy')).headers['retry-after']).toBe('5');
  });
});

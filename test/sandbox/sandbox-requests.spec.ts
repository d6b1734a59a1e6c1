import { CashySandbox, samplePayout, signCashyPayload } from '../../lib/testing';
import { call, startSandbox } from './sandbox-test.helpers';

describe('CashySandbox request checks', () => {
  let sandbox: CashySandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ autoSettle: false });
  });
  afterAll(() => sandbox.stop());

  it('answers a signed request with the 200 envelope', async () => {
    const result = await call(sandbox, '/api/getBalance', {});
    expect(result.httpStatus).toBe(200);
    expect(result.json).toEqual({
      code: 200,
      msg: 'SUCCESS',
      data: { mchId: '1002001', balance: '1000000.00', unBalance: '0.00' },
    });
  });

  it('rejects a wrong Sign with 401 Sign_verify_error, and a missing one too', async () => {
    const wrong = await call(
      sandbox,
      '/api/getBalance',
      {},
      { sign: 'A6FC73F7D22EC8B4A064C8FFCC592CBF' },
    );
    expect(wrong.httpStatus).toBe(200);
    expect(wrong.json).toEqual({ code: 401, msg: 'Sign_verify_error' });
    const otherKey = await call(sandbox, '/api/getBalance', {}, { apiKey: 'not-the-key' });
    expect(otherKey.json.msg).toBe('Sign_verify_error');
    const missing = await call(sandbox, '/api/getBalance', {}, { headers: { Sign: undefined } });
    expect(missing.json).toEqual({ code: 401, msg: 'Sign_verify_error' });
  });

  it('accepts a lower-case hex Sign', async () => {
    const body = JSON.stringify({ nonceStr: 'abc123' });
    const sign = signCashyPayload(body, sandbox.account('PEN').apiKey).toLowerCase();
    const result = await call(sandbox, '/api/getBalance', body, { sign });
    expect(result.json.code).toBe(200);
  });

  it('checks the MerchantId header: missing, not a number, unknown', async () => {
    expect(
      (await call(sandbox, '/api/getBalance', {}, { headers: { MerchantId: undefined } })).json,
    ).toEqual({ code: 401, msg: 'MerchantId_is_null' });
    expect((await call(sandbox, '/api/getBalance', {}, { merchantId: '10020x1' })).json).toEqual({
      code: 401,
      msg: 'MerchantId_not_Number',
    });
    expect((await call(sandbox, '/api/getBalance', {}, { merchantId: '9999999' })).json).toEqual({
      code: 401,
      msg: 'MerchantId_is_error',
    });
  });

  it('verifies the exact bytes received: odd whitespace signed as sent is accepted', async () => {
    const body = '{ "nonceStr" :\t"odd-spacing" ,\n  "orderNo": "PAYOUT0000000000000000000"  }\n';
    const result = await call(sandbox, '/api/payOutQuery', body);
    expect(result.json).toEqual({ code: 400, msg: 'Order_not_exist' }); // past the signature check
    // The same object re-serialized is different bytes: the signature of the compact form fails.
    const compactSign = signCashyPayload(
      JSON.stringify(JSON.parse(body)),
      sandbox.account('PEN').apiKey,
    );
    expect((await call(sandbox, '/api/payOutQuery', body, { sign: compactSign })).json.msg).toBe(
      'Sign_verify_error',
    );
    expect(sandbox.requests.at(-2)!.body).toBe(body);
  });

  it('verifies over UTF-8 bytes of non-ASCII bodies', async () => {
    const body = JSON.stringify({ nonceStr: 'ñandú-1', mchOrderNo: 'NO-SUCH' });
    expect((await call(sandbox, '/api/payOutQuery', body)).json.msg).toBe('Order_not_exist');
  });

  it('rejects the wrong method, content type, an empty body, bad JSON and a missing nonceStr', async () => {
    expect((await call(sandbox, '/api/getBalance', {}, { method: 'PUT' })).json).toEqual({
      code: 400,
      msg: 'RequestMethod_not_post',
    });
    expect((await call(sandbox, '/api/getBalance', {}, { method: 'GET' })).json).toEqual({
      code: 400,
      msg: 'RequestMethod_not_post',
    });
    expect(
      (await call(sandbox, '/api/getBalance', {}, { headers: { 'Content-Type': 'text/plain' } }))
        .json,
    ).toEqual({ code: 400, msg: 'RequestContentType_not_json' });
    expect(
      (
        await call(
          sandbox,
          '/api/getBalance',
          {},
          { headers: { 'Content-Type': 'application/json; charset=utf-8' } },
        )
      ).json.code,
    ).toBe(200);
    expect((await call(sandbox, '/api/getBalance', '')).json).toEqual({
      code: 400,
      msg: 'RequestBody_is_null',
    });
    expect((await call(sandbox, '/api/getBalance', '{"nonceStr":')).json).toEqual({
      code: 400,
      msg: 'Params_jsonFormat_error',
    });
    expect((await call(sandbox, '/api/getBalance', '[1,2]')).json).toEqual({
      code: 400,
      msg: 'Params_jsonFormat_error',
    });
    expect((await call(sandbox, '/api/getBalance', '{}')).json).toEqual({
      code: 400,
      msg: 'Params_nonceStr_Required',
    });
    expect((await call(sandbox, '/api/getBalance', '{"nonceStr":42}')).json).toEqual({
      code: 400,
      msg: 'Params_nonceStr_error',
    });
  });

  it('answers an unknown path with HTTP 404 and an envelope', async () => {
    const result = await call(sandbox, '/api/payIn', {});
    expect(result.httpStatus).toBe(404);
    expect(result.json).toEqual({ code: 404, msg: 'Request_path_not_found' });
  });

  it('records every request with its raw body, parsed JSON, headers and answer', async () => {
    const before = sandbox.requests.length;
    const input = samplePayout('PEN', { remark: 'HOLD' });
    const result = await call(sandbox, '/api/payOut', input);
    const record = sandbox.requests[before];
    expect(sandbox.requests).toHaveLength(before + 1);
    expect(record).toMatchObject({
      method: 'POST',
      endpoint: '/api/payOut',
      merchantId: '1002001',
      json: { ...input, nonceStr: 'n0nce1234' },
    });
    expect(record.headers['content-type']).toBe('application/json');
    expect(record.headers.sign).toMatch(/^[0-9A-F]{32}$/);
    expect(record.response).toEqual({ httpStatus: 200, body: result.text });
    expect(typeof record.at).toBe('number');
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signCashyBody } from '../../lib/client/cashy-signature';
import {
  buildNotification,
  cashyHeaders,
  postSignedNotification,
  samplePayout,
  SANDBOX_TRIGGERS,
  signCashyPayload,
} from '../../lib/testing';
import { outcomeOfRemark } from '../../lib/testing/sandbox-triggers';
import { checkCreatePayout } from '../../lib/validation/create-payout.rules';
import { PERU_MARKET } from '../../lib/markets/peru.market';
import { MEXICO_MARKET } from '../../lib/markets/mexico.market';

describe('sandbox helpers', () => {
  it('signs like the reference worked example and builds Cashy headers', () => {
    const body =
      '{"amount":"150.50","completionTime":"2025-01-01 10:00:00","fee":"1.50","mchOrderNo":"ORD20250101000001","merchantId":"1002001","orderNo":"PAYOUT0000000000000000001","orderStatus":"SUCCESS","resultDesc":"SUCCESS"}';
    expect(signCashyPayload(body, 'demoKey_NOT_REAL_7f3a9c')).toBe(
      '9E909A19532E4CD125F83500A963777E',
    );
    expect(signCashyPayload(Buffer.from(body), 'demoKey_NOT_REAL_7f3a9c')).toBe(
      '9E909A19532E4CD125F83500A963777E',
    );
    expect(cashyHeaders(body, '1002001', 'demoKey_NOT_REAL_7f3a9c')).toEqual({
      'Content-Type': 'application/json',
      MerchantId: '1002001',
      Sign: '9E909A19532E4CD125F83500A963777E',
    });
  });

  it('builds notifications in Cashy key order with nulls by default', () => {
    const text = buildNotification({
      orderStatus: 'PAYING',
      amount: '1500',
      mchOrderNo: 'M1',
      merchantId: 1002002,
      orderNo: 'PAYOUT1',
    });
    expect(text).toBe(
      '{"orderStatus":"PAYING","amount":"1500","fee":null,"mchOrderNo":"M1","merchantId":"1002002","orderNo":"PAYOUT1","completionTime":null,"resultDesc":null}',
    );
  });

  it('postSignedNotification sends string bodies byte for byte, signed, and can override Sign and headers', async () => {
    const seen: { headers: Record<string, unknown>; body: string }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Echo': 'yes' });
        res.end('SUCCESS');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const account = { merchantId: '1002001', apiKey: 'k' };
      const odd = '{ "orderStatus" : "SUCCESS" }  ';
      const result = await postSignedNotification(url, odd, account);
      expect(result).toMatchObject({
        status: 200,
        body: 'SUCCESS',
        headers: { 'x-echo': 'yes' },
      });
      expect(seen[0].body).toBe(odd);
      expect(seen[0].headers).toMatchObject({
        'content-type': 'application/json',
        merchantid: '1002001',
        sign: signCashyBody(odd, 'k'),
      });

      await postSignedNotification(url, { a: 1 }, account, {
        sign: 'bad',
        headers: { MerchantId: '9' },
      });
      expect(seen[1]).toMatchObject({
        body: '{"a":1}',
        headers: { sign: 'bad', merchantid: '9' },
      });
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('reads the trigger from the first word of the remark, case-insensitively', () => {
    expect(outcomeOfRemark('payout', 'PEN')).toEqual({
      trigger: 'SUCCESS',
      final: { status: 'SUCCESS', resultDesc: 'SUCCESS' },
    });
    expect(outcomeOfRemark('FAILED', 'PEN')).toEqual({
      trigger: 'FAIL',
      final: { status: 'FAIL', resultDesc: 'ACCOUNT_NOT_EXIST' },
    });
    expect(outcomeOfRemark(' fail  account_freezing ', 'MXN').final).toEqual({
      status: 'FAIL',
      resultDesc: 'ACCOUNT_FREEZING',
    });
    expect(outcomeOfRemark('cancel', 'PEN').final).toEqual({
      status: 'CANCEL',
      resultDesc: 'COMPLIANCE_REJECT',
    });
    expect(outcomeOfRemark('Reverse', 'MXN')).toEqual({
      trigger: 'REVERSE',
      final: { status: 'SUCCESS', resultDesc: 'SUCCESS' },
      reversal: 'ACCOUNT_NOT_EXIST',
    });
    expect(outcomeOfRemark('REVERSE', 'PEN')).toEqual({
      trigger: 'REVERSE',
      final: { status: 'SUCCESS', resultDesc: 'SUCCESS' },
    });
    expect(outcomeOfRemark('hold on', 'MXN')).toEqual({ trigger: 'HOLD' });
    expect(outcomeOfRemark('payout FAIL', 'PEN').trigger).toBe('SUCCESS'); // only the first word counts
    expect(SANDBOX_TRIGGERS.map((t) => t.remark)).toContain('HOLD');
  });

  it('samplePayout passes every module rule in both markets, with fresh mchOrderNos', () => {
    const limits = {
      PEN: PERU_MARKET.defaultLimits,
      MXN: MEXICO_MARKET.defaultLimits,
    };
    const pen = samplePayout('PEN', { notifyUrl: 'http://127.0.0.1/x' });
    const mxn = samplePayout('MXN', { notifyUrl: 'http://127.0.0.1/x' });
    expect(checkCreatePayout(pen, { limits }).errors).toEqual([]);
    expect(checkCreatePayout(mxn, { limits }).errors).toEqual([]);
    expect(pen.mchOrderNo).not.toBe(mxn.mchOrderNo);
  });
});

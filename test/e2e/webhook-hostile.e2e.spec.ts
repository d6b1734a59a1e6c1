import { request as httpRequest } from 'node:http';
import { Logger, type INestApplication } from '@nestjs/common';
import { PayoutModule, type PayoutModuleOptions } from '../../lib';
import { signCashyBody } from '../../lib/client/cashy-signature';
import { ADAPTERS, type RecordingListener, startHostApp } from '../support/host-app';
import { deliver, MXN_ACCOUNT, notification, PEN_ACCOUNT } from '../support/notifications';

const OPTIONS: PayoutModuleOptions = {
  baseUrl: 'http://127.0.0.1:9',
  accounts: [PEN_ACCOUNT, MXN_ACCOUNT],
  reconciliation: false,
};

/** A raw POST with exactly these headers and body (no fetch defaults). */
function rawPost(
  url: string,
  headers: Record<string, string | number>,
  body?: string | Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A signed body nested `depth` levels deep inside an otherwise valid notification. */
function nested(depth: number): string {
  const base = JSON.stringify(notification());
  return `${base.slice(0, -1)},"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

describe.each(ADAPTERS)(
  'hostile and odd webhooks on %s answer the same on both adapters',
  (adapter) => {
    let app: INestApplication;
    let url: string;
    let listener: RecordingListener;
    let errors: jest.SpyInstance;

    beforeAll(async () => {
      ({ app, url, listener } = await startHostApp(adapter, PayoutModule.forRoot(OPTIONS)));
      url += '/payout/webhook';
    });
    afterAll(() => app.close());
    beforeEach(() => {
      listener.events.length = 0;
      listener.anomalies.length = 0;
      errors = jest.spyOn(Logger.prototype, 'error');
    });
    afterEach(() => errors.mockRestore());

    // Fastify refuses an empty JSON body itself (400) before any guard runs; Express lets it through to the guard (401).
    const BODILESS = adapter === 'fastify' ? 400 : 401;

    it('answers 400 or 401, never 500, to 200 bodiless JSON POSTs, and logs nothing at ERROR', async () => {
      for (let i = 0; i < 200; i++) {
        const response = await rawPost(url, {
          'Content-Type': 'application/json',
          'Content-Length': 0,
        });
        expect(response.status).toBe(BODILESS);
      }
      expect(errors).not.toHaveBeenCalled();
    });

    it('answers 400 to a correctly signed empty body', async () => {
      // Signed with the key, so the guard lets it through on Express; the body is then no notification.
      const response = await rawPost(url, {
        'Content-Type': 'application/json',
        'Content-Length': 0,
        MerchantId: PEN_ACCOUNT.merchantId,
        Sign: signCashyBody('', PEN_ACCOUNT.apiKey),
      });
      expect(response.status).toBe(400);
    });

    it("answers 401 to an unsigned request with 500 headers, and 431 (Node's own limit) to 2,000", async () => {
      const headers = (count: number) => {
        const all: Record<string, string> = {
          'Content-Type': 'application/json',
        };
        for (let i = 0; i < count; i++) all[`X-Junk-${i}`] = 'x';
        return all;
      };
      expect((await rawPost(url, headers(500), '{}')).status).toBe(401);
      expect((await rawPost(url, headers(2000), '{}')).status).toBe(431);
      expect(errors).not.toHaveBeenCalled();
    });

    it.each([
      ['text/plain', 'text/plain'],
      ['a Latin-1 charset', 'application/json; charset=ISO-8859-1'],
      ['form data', 'application/x-www-form-urlencoded'],
    ])('answers 415 to %s, signed or not', async (_case, contentType) => {
      const response = await deliver(url, notification(), PEN_ACCOUNT, {
        contentType,
      });
      expect(response.status).toBe(415);
      expect(listener.events).toHaveLength(0);
    });

    it('accepts an explicit UTF-8 charset', async () => {
      const body = notification();
      expect(
        await deliver(url, body, PEN_ACCOUNT, {
          contentType: 'application/json; charset=UTF-8',
        }),
      ).toMatchObject({ status: 200, text: 'SUCCESS' });
      // Accepted means read as the notification it is, not merely answered 200.
      expect(listener.events.map((e) => [e.name, e.payload.orderNo])).toEqual([
        ['payout.succeeded', body.orderNo],
      ]);
    });

    it.each([
      ['80 KiB', 80 * 1024],
      ['500 KiB', 500 * 1024],
      ['2 MiB', 2 * 1024 * 1024],
    ])('answers 413 to a signed body of %s', async (_case, size) => {
      const base = JSON.stringify(notification());
      const text = `${base.slice(0, -1)},"padding":"${'x'.repeat(size)}"}`;
      const response = await deliver(url, text, PEN_ACCOUNT);
      expect(response.status).toBe(413);
      expect(listener.events).toHaveLength(0);
    });

    it('refuses a signed body with a prototype key (400) alike on both adapters, and emits nothing', async () => {
      const base = JSON.stringify(notification()).slice(0, -1);
      for (const extra of [
        '"__proto__":{"polluted":true}',
        '"constructor":{"prototype":{"polluted":true}}',
        '"nested":{"__proto__":{"polluted":true}}',
      ]) {
        const response = await deliver(url, `${base},${extra}}`, PEN_ACCOUNT);
        expect(response.status).toBe(400);
      }
      expect(listener.events).toHaveLength(0);
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });

    it('refuses a 20-digit mchOrderNo sent as a JSON number (400) alike on both adapters: it cannot be exact', async () => {
      const body = JSON.stringify(notification()).replace(
        /"mchOrderNo":"[^"]*"/,
        '"mchOrderNo":12345678901234567890',
      );
      expect((await deliver(url, body, PEN_ACCOUNT)).status).toBe(400);
      expect(listener.events).toHaveLength(0);
    });

    it('hands gateway text to listeners printable: control and bidi characters replaced, raw kept as sent', async () => {
      const body = notification({
        resultDesc: 'PAID\u0000\u202eDIAP\nX',
        channelOrderNo: 'CH\u200b1',
      });
      expect(await deliver(url, body, PEN_ACCOUNT)).toMatchObject({
        status: 200,
        text: 'SUCCESS',
      });
      const { payload } = listener.events[0];
      expect(payload.resultDesc).toBe('PAID\uFFFD\uFFFDDIAP\uFFFDX');
      expect(payload.channelOrderNo).toBe('CH\uFFFD1');
      expect(payload.raw.resultDesc).toBe('PAID\u0000\u202eDIAP\nX');
    });

    it('refuses a signed notification nested deeper than a notification can be (400), and takes one a few levels deep', async () => {
      expect((await deliver(url, nested(50), PEN_ACCOUNT)).status).toBe(400);
      expect((await deliver(url, nested(20_000), PEN_ACCOUNT)).status).toBe(400);
      expect(listener.events).toHaveLength(0);
      const ok = await deliver(url, nested(3), PEN_ACCOUNT);
      expect(ok.status).toBe(200);
      expect(listener.events.map((e) => e.name)).toEqual(['payout.succeeded']);
      // What a listener stores can always be serialized again, nesting included.
      expect(() => JSON.stringify(listener.events[0].payload.raw)).not.toThrow();
      expect(JSON.parse(JSON.stringify(listener.events[0].payload.raw))).toMatchObject({
        extra: [[[]]],
      });
    });
  },
);

describe.each(ADAPTERS)('an app without rawBody on %s', (adapter) => {
  it('answers 400 or 401 to bodiless requests and 500 (logged once) to requests with a body', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error');
    const { app, url } = await startHostApp(adapter, PayoutModule.forRoot(OPTIONS), {
      rawBody: false,
    });
    try {
      const webhook = `${url}/payout/webhook`;
      for (let i = 0; i < 20; i++)
        expect([400, 401]).toContain(
          (
            await rawPost(webhook, {
              'Content-Type': 'application/json',
              'Content-Length': 0,
            })
          ).status,
        );
      expect(errors).not.toHaveBeenCalled();
      for (let i = 0; i < 5; i++) {
        const response = await deliver(webhook, notification());
        expect(response.status).toBe(500);
        expect(response.text).toMatch(/rawBody: true/);
      }
      expect(errors).toHaveBeenCalledTimes(1);
    } finally {
      errors.mockRestore();
      await app.close();
    }
  });
});

describe('Express body-parser refusals on the webhook', () => {
  it("answers the JSON parser's own refusals (413 over its limit, 415 for a Latin-1 charset) without an ERROR log", async () => {
    const errors = jest.spyOn(Logger.prototype, 'error');
    const { app, url } = await startHostApp('express', PayoutModule.forRoot(OPTIONS));
    try {
      const webhook = `${url}/payout/webhook`;
      const big = JSON.stringify({
        ...notification(),
        padding: 'x'.repeat(2 * 1024 * 1024),
      });
      expect((await deliver(webhook, big, PEN_ACCOUNT)).status).toBe(413);
      const latin1 = await rawPost(
        webhook,
        {
          'Content-Type': 'application/json; charset=ISO-8859-1',
          MerchantId: PEN_ACCOUNT.merchantId,
          Sign: 'X',
        },
        Buffer.from('{"x":"Peñalosa"}', 'latin1'),
      );
      expect(latin1.status).toBe(415);
      expect(errors).not.toHaveBeenCalled();
      // Everything else is as before: a valid notification is acknowledged.
      expect((await deliver(webhook, notification())).status).toBe(200);
    } finally {
      errors.mockRestore();
      await app.close();
    }
  });
});

import { once } from 'node:events';
import {
  type ClientRequest,
  Agent as HttpAgent,
  createServer,
  type IncomingMessage,
  request as httpRequest,
  type Server,
} from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { HttpModule, HttpService } from '@nestjs/axios';
import { Injectable, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test, type TestingModule } from '@nestjs/testing';
import axios from 'axios';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { firstValueFrom } from 'rxjs';
import { generate } from 'selfsigned';
import { PayoutModule, type PayoutModuleOptions, PayoutService } from '../../lib';
import { CashyTransportError } from '../../lib/payout.errors';
import { signCashyBody } from '../../lib/client/cashy-signature';
import { PEN_ACCOUNT } from '../support/notifications';
import { ScriptedGateway } from '../support/scripted-gateway';
import { penPayout } from '../support/payouts';

// Real sockets on 127.0.0.1 only: an HTTPS gateway with a self-signed certificate, a plain-HTTP
// gateway, and a proxy that tunnels CONNECT and forwards absolute-URI requests, recording both.

const BALANCE = {
  code: 200,
  msg: 'SUCCESS',
  data: { mchId: PEN_ACCOUNT.merchantId, balance: '10.00', unBalance: '0' },
};
const PEN_PAYOUT = penPayout('PE-PROXY-000001');

/** One request as a test server received it. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  raw: Buffer;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every socket still open on it (keep-alive, tunnels). */
async function close(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  const add = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  server.on('connection', add);
  server.on('secureConnection', add);
  return sockets;
}

/** An HTTPS Cashy gateway on 127.0.0.1 with a self-signed certificate for 127.0.0.1 and localhost. */
class HttpsGateway {
  readonly requests: Seen[] = [];
  readonly cert: string;
  private readonly server: Server;
  private readonly sockets: Set<Socket>;
  url = '';

  constructor() {
    const pems = generate([{ name: 'commonName', value: 'localhost' }], {
      days: 1,
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'keyUsage',
          keyCertSign: true,
          digitalSignature: true,
          keyEncipherment: true,
        },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    this.cert = pems.cert;
    this.server = createHttpsServer({ key: pems.private, cert: pems.cert }, async (req, res) => {
      const raw = await readBody(req);
      this.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
      });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(BALANCE));
    });
    this.sockets = track(this.server);
  }

  async start(): Promise<this> {
    this.url = `https://127.0.0.1:${await listen(this.server)}`;
    return this;
  }

  stop(): Promise<void> {
    return close(this.server, this.sockets);
  }
}

/**
 * An HTTP proxy: tunnels CONNECT to the named host and port, and forwards absolute-URI requests
 * (a forward proxy). Records every CONNECT target and every forwarded request with its body.
 */
class RecordingProxy {
  readonly connects: string[] = [];
  readonly forwarded: Seen[] = [];
  private readonly server: Server;
  private readonly sockets: Set<Socket>;
  url = '';
  port = 0;

  constructor() {
    this.server = createServer(async (req, res) => {
      const raw = await readBody(req);
      this.forwarded.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
      });
      const target = new URL(req.url ?? '');
      const { 'proxy-connection': _hop, ...headers } = req.headers;
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: req.method,
          headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(raw);
    });
    this.server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      this.connects.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      this.sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    this.sockets = track(this.server);
  }

  async start(): Promise<this> {
    this.port = await listen(this.server);
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  stop(): Promise<void> {
    return close(this.server, this.sockets);
  }
}

/**
 * `new HttpsProxyAgent(url, { ca })`, with the gateway's CA also given to the tunnelled TLS
 * connection. https-proxy-agent 7 applies its constructor's TLS options to the connection to the
 * proxy only; the TLS to the gateway inside the tunnel takes them from the request's options,
 * which axios does not fill from an agent. A host with a private CA behind a CONNECT proxy does
 * the same, or uses `http.proxy` with an `https.Agent({ ca })` (tested below).
 */
class HttpsProxyAgentWithOriginCa extends HttpsProxyAgent<string> {
  constructor(
    proxyUrl: string,
    private readonly originCa: string,
  ) {
    super(proxyUrl, { ca: originCa, keepAlive: true });
  }

  override connect(req: ClientRequest, opts: Parameters<HttpsProxyAgent<string>['connect']>[1]) {
    return super.connect(req, opts.secureEndpoint ? { ...opts, ca: this.originCa } : opts);
  }
}

describe('transport: proxies, TLS and isolation from the host', () => {
  let https: HttpsGateway;
  let gateway: ScriptedGateway;
  let gatewayUrl: string;
  let proxy: RecordingProxy;
  let moduleRef: TestingModule | undefined;

  async function boot(options: Partial<PayoutModuleOptions>): Promise<PayoutService> {
    await moduleRef?.close();
    moduleRef = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        PayoutModule.forRoot({
          baseUrl: gatewayUrl,
          merchantId: PEN_ACCOUNT.merchantId,
          apiKey: PEN_ACCOUNT.apiKey,
          timeoutMs: 3000,
          retry: false,
          ...options,
        }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    return moduleRef.get(PayoutService);
  }

  beforeAll(async () => {
    https = await new HttpsGateway().start();
    gateway = new ScriptedGateway();
    gatewayUrl = await gateway.start();
    gateway.fallback = () => ({ envelope: BALANCE });
  });
  beforeEach(async () => {
    proxy = await new RecordingProxy().start();
    https.requests.length = 0;
    gateway.requests.length = 0;
  });
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    await proxy.stop();
  });
  afterAll(async () => {
    await https.stop();
    await gateway.stop();
  });

  describe('an HTTPS gateway through a CONNECT proxy (http.httpsAgent)', () => {
    it('tunnels to the gateway, verifies its certificate against the given CA, and delivers the exact signed bytes', async () => {
      const agent = new HttpsProxyAgentWithOriginCa(proxy.url, https.cert);
      try {
        const payouts = await boot({
          baseUrl: https.url,
          http: { httpsAgent: agent },
        });
        await expect(payouts.getBalance({ currency: 'PEN' })).resolves.toEqual({
          merchantId: PEN_ACCOUNT.merchantId,
          balance: '10.00',
          unBalance: '0.00',
        });
        await payouts.getBalance({ currency: 'PEN' });
        // One CONNECT to the gateway: the second call reuses the kept-alive tunnel.
        expect(proxy.connects).toEqual([https.url.replace('https://', '')]);
        expect(proxy.forwarded).toHaveLength(0);
        expect(https.requests).toHaveLength(2);
        const [request] = https.requests;
        expect(request.url).toBe('/api/getBalance');
        expect(request.headers.sign).toBe(signCashyBody(request.raw, PEN_ACCOUNT.apiKey));
        expect(request.headers['content-length']).toBe(String(request.raw.length));
        expect(request.raw.toString()).toMatch(/^\{"nonceStr":"[0-9a-f]{32}"\}$/);
      } finally {
        agent.destroy();
      }
    });

    it('fails as a transport error when the certificate cannot be verified (no CA given): TLS verification stays on', async () => {
      const agent = new HttpsProxyAgent(proxy.url);
      try {
        const payouts = await boot({
          baseUrl: https.url,
          http: { httpsAgent: agent },
        });
        const error = await payouts.getBalance({ currency: 'PEN' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CashyTransportError);
        expect(error).toMatchObject({ failure: 'connection' });
        expect((error as Error).message).toMatch(/CERT|certificate/i);
        expect((error as Error).message).not.toContain(PEN_ACCOUNT.apiKey);
        expect(proxy.connects).toHaveLength(1);
        expect(https.requests).toHaveLength(0);
      } finally {
        agent.destroy();
      }
    });

    it('tunnels with http.proxy too, verifying the gateway against the CA of the https.Agent given beside it', async () => {
      const agent = new HttpsAgent({ ca: https.cert, keepAlive: true });
      try {
        const payouts = await boot({
          baseUrl: https.url,
          http: {
            httpsAgent: agent,
            proxy: { host: '127.0.0.1', port: proxy.port },
          },
        });
        await payouts.getBalance({ currency: 'PEN' });
        await payouts.getBalance({ currency: 'PEN' });
        // axios's own tunnel (https-proxy-agent 5) opens one per request: no keep-alive through it.
        expect(proxy.connects).toEqual([
          https.url.replace('https://', ''),
          https.url.replace('https://', ''),
        ]);
        expect(proxy.forwarded).toHaveLength(0);
        expect(
          https.requests.map((r) => r.headers.sign === signCashyBody(r.raw, PEN_ACCOUNT.apiKey)),
        ).toEqual([true, true]);
      } finally {
        agent.destroy();
      }
    });

    it("also verifies certificates with the module's default agent: a self-signed gateway is refused", async () => {
      const payouts = await boot({ baseUrl: https.url });
      await expect(payouts.getBalance({ currency: 'PEN' })).rejects.toMatchObject({
        failure: 'connection',
      });
      expect(https.requests).toHaveLength(0);
    });
  });

  describe('a plain-HTTP gateway through a forward proxy (http.proxy)', () => {
    it('sends the absolute URL to the proxy, and the gateway receives the signed bytes intact', async () => {
      const payouts = await boot({
        baseUrl: `${gatewayUrl}/gateway/v1`,
        http: {
          proxy: { protocol: 'http', host: '127.0.0.1', port: proxy.port },
        },
      });
      gateway.then({
        envelope: {
          code: 200,
          msg: 'SUCCESS',
          data: {
            merchantId: PEN_ACCOUNT.merchantId,
            mchOrderNo: PEN_PAYOUT.mchOrderNo,
            orderNo: 'PAYOUT1',
            amount: '150.50',
            fee: '1.50',
            orderStatus: 'PROCESSING',
          },
        },
      });
      await payouts.createPayout({
        ...PEN_PAYOUT,
        notifyUrl: 'https://merchant.example.com/payout/webhook',
      });
      expect(proxy.forwarded.map((r) => [r.method, r.url])).toEqual([
        ['POST', `${gatewayUrl}/gateway/v1/api/payOut`],
      ]);
      expect(proxy.connects).toHaveLength(0);
      const [atProxy] = proxy.forwarded;
      const [atGateway] = gateway.requests;
      expect(atGateway.path).toBe('/gateway/v1/api/payOut');
      expect(atGateway.raw.equals(atProxy.raw)).toBe(true);
      expect(atGateway.headers['content-length']).toBe(String(atGateway.raw.length));
      expect(atGateway.headers.sign).toBe(signCashyBody(atGateway.raw, PEN_ACCOUNT.apiKey));
      expect(atGateway.json).toMatchObject({
        mchOrderNo: PEN_PAYOUT.mchOrderNo,
        amount: '150.50',
      });
    });
  });

  describe('environment proxies', () => {
    const NAMES = [
      'HTTP_PROXY',
      'HTTPS_PROXY',
      'ALL_PROXY',
      'NO_PROXY',
      'http_proxy',
      'https_proxy',
      'all_proxy',
      'no_proxy',
    ];
    let saved: Record<string, string | undefined>;
    beforeEach(() => {
      saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));
      for (const name of NAMES) delete process.env[name];
      for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'])
        process.env[name] = proxy.url;
    });
    afterEach(() => {
      for (const name of NAMES) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    });

    it('are not read: HTTP_PROXY/HTTPS_PROXY set, the module still goes straight to the gateway', async () => {
      // The control: a plain axios instance in this same environment does go through the proxy.
      await axios.create().post(`${gatewayUrl}/probe`, '{}', {
        headers: { 'Content-Type': 'application/json' },
      });
      expect(proxy.forwarded.map((r) => r.url)).toEqual([`${gatewayUrl}/probe`]);

      const payouts = await boot({});
      await payouts.getBalance({ currency: 'PEN' });
      expect(gateway.requests.map((r) => r.path)).toEqual(['/probe', '/api/getBalance']);
      expect(proxy.forwarded).toHaveLength(1);

      // The same with an agent of the host's (a private CA) for an HTTPS gateway: no CONNECT either.
      const agent = new HttpsAgent({ ca: https.cert, keepAlive: true });
      try {
        const secure = await boot({
          baseUrl: https.url,
          http: { httpsAgent: agent },
        });
        await secure.getBalance({ currency: 'PEN' });
        expect(https.requests).toHaveLength(1);
        expect(proxy.connects).toHaveLength(0);
      } finally {
        agent.destroy();
      }
    });
  });

  describe("isolation from the host's HTTP client", () => {
    @Injectable()
    class HostClient {
      constructor(readonly http: HttpService) {}
    }

    it("keeps the host's HttpModule, axios.defaults and interceptors off signed requests, and its own off the host's", async () => {
      const common = axios.defaults.headers.common as Record<string, unknown>;
      const post = axios.defaults.headers.post as Record<string, unknown>;
      const before = {
        timeout: axios.defaults.timeout,
        params: axios.defaults.params,
        auth: axios.defaults.auth,
      };
      // Set before the module starts: axios.create() copies axios.defaults as they are then.
      common['X-Global'] = 'leak';
      post['X-Global-Post'] = 'leak';
      axios.defaults.timeout = 1;
      axios.defaults.params = { leak: '1' };
      axios.defaults.auth = { username: 'host', password: 'host-secret' };
      const globalInterceptor = axios.interceptors.request.use((config) => {
        config.data = '{"tampered":"global"}';
        config.headers.set('X-Global-Interceptor', '1');
        return config;
      });
      let hostInterceptor: number | undefined;
      let host: HostClient | undefined;
      try {
        @Module({
          imports: [
            HttpModule.register({ headers: { 'X-Host': '1' }, timeout: 1 }),
            EventEmitterModule.forRoot(),
            PayoutModule.forRoot({
              baseUrl: gatewayUrl,
              merchantId: PEN_ACCOUNT.merchantId,
              apiKey: PEN_ACCOUNT.apiKey,
              timeoutMs: 3000,
              retry: false,
            }),
          ],
          providers: [HostClient],
        })
        class HostAppModule {}
        moduleRef = await Test.createTestingModule({
          imports: [HostAppModule],
        }).compile();
        moduleRef.useLogger(false);
        const hostClient = moduleRef.get(HostClient);
        host = hostClient;
        hostInterceptor = hostClient.http.axiosRef.interceptors.request.use((config) => {
          config.data = '{"tampered":"host"}';
          return config;
        });

        const payouts = moduleRef.get(PayoutService);
        gateway.then({
          envelope: {
            code: 200,
            msg: 'SUCCESS',
            data: {
              merchantId: PEN_ACCOUNT.merchantId,
              mchOrderNo: PEN_PAYOUT.mchOrderNo,
              orderNo: 'PAYOUT2',
              amount: '150.50',
              fee: '1.50',
              orderStatus: 'PROCESSING',
            },
          },
        });
        await payouts.createPayout({
          ...PEN_PAYOUT,
          notifyUrl: 'https://merchant.example.com/payout/webhook',
        });
        const [signed] = gateway.requests;
        expect(signed.path).toBe('/api/payOut');
        expect(signed.headers.sign).toBe(signCashyBody(signed.raw, PEN_ACCOUNT.apiKey));
        // Byte for byte what the module serialized: the payout's fields in order, nonceStr last.
        const { nonceStr, ...fields } = signed.json;
        expect(fields).toEqual({
          ...PEN_PAYOUT,
          notifyUrl: 'https://merchant.example.com/payout/webhook',
        });
        expect(signed.raw.toString()).toBe(JSON.stringify({ ...fields, nonceStr }));
        for (const name of [
          'x-host',
          'x-global',
          'x-global-post',
          'x-global-interceptor',
          'authorization',
        ])
          expect(signed.headers).not.toHaveProperty(name);

        // The control: the host's own HttpService does carry all of it (and gets none of ours).
        await firstValueFrom(
          hostClient.http.post(`${gatewayUrl}/host`, '{"a":1}', {
            headers: { 'Content-Type': 'application/json' },
            timeout: 3000,
          }),
        );
        const hostRequest = gateway.requests[1];
        expect(hostRequest.path).toBe('/host?leak=1');
        expect(hostRequest.raw.toString()).toBe('{"tampered":"host"}');
        expect(hostRequest.headers).toMatchObject({
          'x-host': '1',
          'x-global': 'leak',
        });
        expect(hostRequest.headers.merchantid).toBeUndefined();
        expect(hostRequest.headers['user-agent']).toMatch(/^axios\//);
      } finally {
        if (hostInterceptor !== undefined)
          host?.http.axiosRef.interceptors.request.eject(hostInterceptor);
        axios.interceptors.request.eject(globalInterceptor);
        delete common['X-Global'];
        delete post['X-Global-Post'];
        axios.defaults.timeout = before.timeout;
        axios.defaults.params = before.params;
        axios.defaults.auth = before.auth;
      }
    });
  });

  describe('agents', () => {
    it("closes the module's own agents with the module, never the host's", async () => {
      const hostAgent = new HttpAgent({ keepAlive: true });
      const destroyed = jest.spyOn(hostAgent, 'destroy');
      try {
        const payouts = await boot({ http: { httpAgent: hostAgent } });
        await payouts.getBalance({ currency: 'PEN' });
        expect(Object.values(hostAgent.freeSockets).flat()).toHaveLength(1);
        await moduleRef!.close();
        moduleRef = undefined;
        expect(destroyed).not.toHaveBeenCalled();
      } finally {
        hostAgent.destroy();
      }
      const ownDestroy = jest.spyOn(HttpAgent.prototype, 'destroy');
      try {
        await boot({});
        await moduleRef!.close();
        moduleRef = undefined;
        expect(ownDestroy).toHaveBeenCalledTimes(2); // the module's http and https agents
      } finally {
        ownDestroy.mockRestore();
      }
    });
  });
});

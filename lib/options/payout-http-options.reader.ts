import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { isIPv6 } from 'node:net';
import type { AxiosProxyConfig } from 'axios';
import { isPlainObject } from '../client/cashy-wire';
import type { OptionReader } from './option.reader';
import type { ResolvedHttpOptions } from './payout-config';

/**
 * Defaults of the module option `http`: the module's own agents, made with `agent` (one connection
 * per call in flight, kept for the next), no proxy and no environment proxy, no extra headers.
 */
export const HTTP_DEFAULTS = {
  agent: { keepAlive: true } satisfies AgentOptions,
  proxy: false,
  headers: Object.freeze({}) as Readonly<Record<string, string>>,
} as const;

/** Headers the module sets to sign and frame a request, which `http.headers` may not replace (lower case). */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'merchantid',
  'sign',
  'host',
  'connection',
  'transfer-encoding',
]);
/** An RFC 9110 field name. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value of printable ASCII (and tabs): nothing Node would refuse mid-request, nothing that splits a header. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const PROXY_KEYS = ['protocol', 'host', 'port', 'auth'];
const HTTP_KEYS = ['httpAgent', 'httpsAgent', 'proxy', 'headers'];
const PORT = [1, 65_535, 0] as const;

function readProxy(reader: OptionReader, value: unknown): AxiosProxyConfig | false {
  if (value === undefined || value === false) return HTTP_DEFAULTS.proxy;
  const given = reader.object(
    value,
    'http.proxy',
    'false or { protocol?: "http" | "https", host, port, auth?: { username, password } }',
  );
  if (!given) return false;
  reader.unknownKeys(given, 'http.proxy', PROXY_KEYS, {
    unknown: 'is not an option (use protocol, host, port and auth)',
  });
  const { protocol, host, auth } = given;
  if (protocol !== undefined && (typeof protocol !== 'string' || !/^https?:?$/.test(protocol)))
    reader.fail('http.proxy.protocol', 'must be "http" or "https"');
  // A host name or address only: a URL here would be taken for a host name and fail at the first call.
  if (typeof host !== 'string' || !(/^[\w.-]+$/.test(host) || isIPv6(host)))
    reader.fail(
      'http.proxy.host',
      'is required and must be a host name or IP address (IPv6 without brackets), without scheme or port',
    );
  const port = reader.required(given.port, 'http.proxy.port', PORT);
  // Checked without ever echoing the credentials.
  if (
    auth !== undefined &&
    !(
      isPlainObject(auth) &&
      typeof auth.username === 'string' &&
      typeof auth.password === 'string' &&
      Object.keys(auth).every((k) => k === 'username' || k === 'password')
    )
  )
    reader.fail('http.proxy.auth', 'must be { username: string, password: string }');
  const proxy: AxiosProxyConfig = { host: host as string, port };
  if (protocol !== undefined) proxy.protocol = (protocol as string).replace(/:$/, '');
  if (isPlainObject(auth))
    proxy.auth = { username: auth.username as string, password: auth.password as string };
  return Object.freeze(proxy);
}

function readHeaders(reader: OptionReader, value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return HTTP_DEFAULTS.headers;
  const given = reader.object(value, 'http.headers', 'an object of header names to string values');
  if (!given) return HTTP_DEFAULTS.headers;
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, headerValue] of Object.entries(given)) {
    const lower = name.toLowerCase();
    const path = `http.headers.${name}`;
    if (!HEADER_NAME.test(name))
      reader.report(
        'http.headers',
        `http.headers: "${name.replace(/[^\x20-\x7e]/g, '?')}" is not a valid header name`,
      );
    else if (RESERVED_HEADERS.has(lower))
      reader.fail(path, 'may not be set: the module sets it to sign and frame each request');
    else if (seen.has(lower))
      reader.fail(path, 'is given more than once (header names ignore case)');
    else if (typeof headerValue !== 'string' || !HEADER_VALUE.test(headerValue))
      // The value is never echoed: it may be a token.
      reader.fail(path, 'must be a string of printable ASCII characters');
    else headers[name] = headerValue;
    seen.add(lower);
  }
  return Object.freeze(headers);
}

function readAgent(
  reader: OptionReader,
  value: unknown,
  key: 'httpAgent' | 'httpsAgent',
): HttpAgent | undefined {
  if (value === undefined) return undefined;
  // https.Agent and proxy agents (agent-base) both extend http.Agent.
  if (!(value instanceof HttpAgent))
    reader.fail(
      `http.${key}`,
      key === 'httpAgent'
        ? 'must be an http.Agent, such as new http.Agent({ keepAlive: true })'
        : 'must be an https.Agent or a tunnelling agent, such as new https.Agent({ keepAlive: true, ca }) or new HttpsProxyAgent(url)',
    );
  // A payout's signed request to a gateway nobody verified is not an option.
  else if (
    (value as { options?: { rejectUnauthorized?: unknown } }).options?.rejectUnauthorized === false
  )
    reader.fail(
      `http.${key}`,
      "turns TLS certificate verification off (rejectUnauthorized: false); give the gateway's CA with ca instead",
    );
  else return value;
  return undefined;
}

/** Reads the module option `http` (the transport's agents, egress proxy and extra headers). */
export function readHttpOptions(reader: OptionReader, value: unknown): ResolvedHttpOptions {
  // Not an object: reported, so the options never resolve; the defaults let the check go on.
  const http = reader.object(value, 'http', '{ httpAgent?, httpsAgent?, proxy?, headers? }') ?? {};
  // Redirects, transforms, status checks and the like are fixed: they decide what a signed request and its answer are.
  reader.unknownKeys(http, 'http', HTTP_KEYS, {
    unknown: 'is not an option (use httpAgent, httpsAgent, proxy or headers)',
    refused: {
      timeout: 'http.timeout is not an option: use timeoutMs, which bounds each whole exchange',
    },
  });
  return Object.freeze({
    httpAgent: readAgent(reader, http.httpAgent, 'httpAgent'),
    httpsAgent: readAgent(reader, http.httpsAgent, 'httpsAgent'),
    proxy: readProxy(reader, http.proxy),
    headers: readHeaders(reader, http.headers),
  });
}

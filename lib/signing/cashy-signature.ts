import * as crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: string | Buffer, outputEncoding: 'hex') => string;
// Node's one-shot `crypto.hash` (20.12+) costs half of a `createHash` object; older Node 20 falls back.
const oneShotHash = (crypto as unknown as { hash?: OneShotHash }).hash;

/** Lower-case hex MD5 of `data`. */
function md5Hex(data: string | Buffer): string {
  return oneShotHash ? oneShotHash('md5', data, 'hex') : crypto.createHash('md5').update(data).digest('hex');
}

// Raw bodies and the apiKey are joined in this buffer (reused: hashing is synchronous), so verifying
// a notification allocates nothing but the digest. Unusually large bodies get a buffer of their own.
const joined = Buffer.allocUnsafe(16 * 1024);

/** MD5 of `body ‖ apiKey` as lower-case hex. */
function digestOf(body: string | Buffer, apiKey: string): string {
  if (typeof body === 'string') return md5Hex(body + apiKey);
  const size = body.length + Buffer.byteLength(apiKey, 'utf8');
  if (size > joined.length) return md5Hex(Buffer.concat([body, Buffer.from(apiKey, 'utf8')]));
  body.copy(joined, 0);
  joined.write(apiKey, body.length, 'utf8');
  return md5Hex(joined.subarray(0, size));
}

/**
 * Cashy's signature: upper-case hex `MD5(body bytes ‖ apiKey bytes)`, with the body exactly as it
 * travels on the wire. There is no canonical form, so always sign the string you send and verify
 * the bytes you received.
 */
export function signCashyBody(body: string | Buffer, apiKey: string): string {
  return digestOf(body, apiKey).toUpperCase();
}

const HEX_DIGEST = /^[0-9a-fA-F]{32}$/;
// The two digests compared, as bytes; decoding hex into them is case-insensitive and allocates nothing.
const expectedBytes = Buffer.alloc(16);
const givenBytes = Buffer.alloc(16);

/**
 * Verifies a `Sign` header against the raw body bytes in constant time. Either hex case is accepted;
 * anything that is not 32 hex characters is rejected without comparing.
 */
export function verifyCashySignature(rawBody: Buffer | string, apiKey: string, sign: unknown): boolean {
  if (typeof sign !== 'string' || !HEX_DIGEST.test(sign)) return false;
  expectedBytes.write(digestOf(rawBody, apiKey), 'hex');
  givenBytes.write(sign, 'hex');
  return crypto.timingSafeEqual(expectedBytes, givenBytes);
}

import * as crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: string | Uint8Array, outputEncoding: 'hex') => string;
// Node's one-shot `crypto.hash` (20.12+) costs half of a `createHash` object; older Node 20 falls back.
const oneShotHash = (crypto as unknown as { hash?: OneShotHash }).hash;

/** An apiKey as given in the options, or already encoded as UTF-8 bytes. */
export type CashyApiKey = string | Uint8Array;

// Raw bodies and the apiKey are joined in this buffer (reused: hashing is synchronous), so verifying
// a notification allocates nothing but the digest. Unusually large bodies get a buffer of their own.
const joined = Buffer.allocUnsafe(16 * 1024);

/** The bytes `MD5(body ‖ apiKey)` is computed over. */
function signedBytes(body: Uint8Array, apiKey: CashyApiKey): Uint8Array {
  const key = typeof apiKey === 'string' ? Buffer.from(apiKey, 'utf8') : apiKey;
  const size = body.length + key.length;
  if (size > joined.length) return Buffer.concat([body, key]);
  joined.set(body, 0);
  joined.set(key, body.length);
  return joined.subarray(0, size);
}

/** MD5 of `body ‖ apiKey` as lower-case hex. */
function digestHex(body: string | Uint8Array, apiKey: CashyApiKey): string {
  const data = typeof body === 'string' ? body + (typeof apiKey === 'string' ? apiKey : Buffer.from(apiKey).toString('utf8')) : signedBytes(body, apiKey);
  return oneShotHash ? oneShotHash('md5', data, 'hex') : crypto.createHash('md5').update(data).digest('hex');
}

/**
 * Cashy's signature: upper-case hex `MD5(body bytes ‖ apiKey bytes)`, with the body exactly as it
 * travels on the wire. There is no canonical form, so always sign the string you send and verify
 * the bytes you received.
 */
export function signCashyBody(body: string | Buffer, apiKey: CashyApiKey): string {
  return digestHex(body, apiKey).toUpperCase();
}

const HEX_DIGEST = /^[0-9a-fA-F]{32}$/;

/**
 * Verifies a `Sign` header against the raw body bytes in constant time. Either hex case is accepted;
 * anything that is not 32 hex digits is rejected without comparing.
 */
export function verifyCashySignature(rawBody: Buffer | string, apiKey: CashyApiKey, sign: unknown): boolean {
  if (typeof sign !== 'string' || !HEX_DIGEST.test(sign)) return false;
  const expected = digestHex(rawBody, apiKey);
  // Constant time: every digit is compared, with no early exit. Setting bit 0x20 lower-cases A-F and
  // leaves 0-9 as they are. (timingSafeEqual would need both digests as Buffers, and asking
  // crypto.hash for a Buffer costs more than the MD5 itself.)
  let difference = 0;
  for (let i = 0; i < 32; i++) difference |= expected.charCodeAt(i) ^ (sign.charCodeAt(i) | 0x20);
  return difference === 0;
}

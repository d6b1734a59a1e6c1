import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Cashy's signature: upper-case hex `MD5(body bytes ‖ apiKey bytes)`, with the body exactly as it
 * travels on the wire. There is no canonical form, so always sign the string you send and verify
 * the bytes you received.
 */
export function signCashyBody(body: string | Buffer, apiKey: string): string {
  return createHash('md5').update(body).update(apiKey, 'utf8').digest('hex').toUpperCase();
}

const HEX_DIGEST = /^[0-9a-fA-F]{32}$/;

/**
 * Verifies a `Sign` header against the raw body bytes in constant time. Either hex case is accepted;
 * anything that is not 32 hex characters is rejected without comparing.
 */
export function verifyCashySignature(rawBody: Buffer | string, apiKey: string, sign: unknown): boolean {
  if (typeof sign !== 'string' || !HEX_DIGEST.test(sign)) return false;
  const expected = createHash('md5').update(rawBody).update(apiKey, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(sign, 'hex'));
}

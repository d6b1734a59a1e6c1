import { createHash, timingSafeEqual } from 'node:crypto';

/** An apiKey as given in the options, or already encoded as UTF-8 bytes. */
export type CashyApiKey = string | Uint8Array;

/** MD5 of `body ‖ apiKey`, the bytes as sent or received. */
function digest(body: string | Uint8Array, apiKey: CashyApiKey): Buffer {
  return createHash('md5').update(body).update(apiKey).digest();
}

/**
 * Cashy's signature: upper-case hex `MD5(body bytes ‖ apiKey bytes)`, with the body exactly as it
 * travels on the wire. There is no canonical form, so always sign the string you send and verify
 * the bytes you received.
 */
export function signCashyBody(body: string | Uint8Array, apiKey: CashyApiKey): string {
  return digest(body, apiKey).toString('hex').toUpperCase();
}

const HEX_DIGEST = /^[0-9a-fA-F]{32}$/;

/**
 * Verifies a `Sign` header against the raw body bytes in constant time. Either hex case is accepted;
 * anything that is not 32 hex digits is rejected without comparing.
 */
export function verifyCashySignature(
  rawBody: string | Uint8Array,
  apiKey: CashyApiKey,
  sign: unknown,
): boolean {
  if (typeof sign !== 'string' || !HEX_DIGEST.test(sign)) return false;
  return timingSafeEqual(digest(rawBody, apiKey), Buffer.from(sign, 'hex'));
}

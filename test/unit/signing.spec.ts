import { createHash } from 'node:crypto';
import { createNonce } from '../../lib/client/cashy-http.client';
import { signCashyBody, verifyCashySignature } from '../../lib/client/cashy-signature';

// cashy-reference.md §1: a made-up key and body, cross-checked with coreutils md5sum.
const API_KEY = 'demoKey_NOT_REAL_7f3a9c';
const CREATE_BODY =
  '{"accountName":"Juan Perez","accountNo":"00219300153895206813","accountType":1,"amount":"150.50","bankId":3,"currency":"PEN","idCard":"12345678","idType":"1","mchOrderNo":"ORD20250101000001","nonceStr":"a1b2c3d4e5","notifyUrl":"https://merchant.example.com/cashy/payout/notify","remark":"payout"}';
const CALLBACK_BODY =
  '{"amount":"150.50","completionTime":"2025-01-01 10:00:00","fee":"1.50","mchOrderNo":"ORD20250101000001","merchantId":"1002001","orderNo":"PAYOUT0000000000000000001","orderStatus":"SUCCESS","resultDesc":"SUCCESS"}';

describe('Cashy signing', () => {
  it('signs the worked example of the reference as upper-case MD5(body + apiKey)', () => {
    expect(Buffer.byteLength(CREATE_BODY)).toBe(296);
    expect(signCashyBody(CREATE_BODY, API_KEY)).toBe('E08D6E192D2B42A4900923AE6BBF6730');
  });

  it('signs the exact bytes: the same object pretty-printed signs differently', () => {
    const pretty = JSON.stringify(JSON.parse(CREATE_BODY), null, 2);
    expect(signCashyBody(pretty, API_KEY)).toBe('3D8E7F6A4FD73EFA6DF06F440F810DD7');
  });

  it('verifies a callback in either hex case and rejects a tampered body', () => {
    expect(signCashyBody(CALLBACK_BODY, API_KEY)).toBe('9E909A19532E4CD125F83500A963777E');
    expect(
      verifyCashySignature(Buffer.from(CALLBACK_BODY), API_KEY, '9E909A19532E4CD125F83500A963777E'),
    ).toBe(true);
    expect(
      verifyCashySignature(Buffer.from(CALLBACK_BODY), API_KEY, '9e909a19532e4cd125f83500a963777e'),
    ).toBe(true);
    const tampered = CALLBACK_BODY.replace('"SUCCESS","resultDesc"', '"FAIL","resultDesc"');
    expect(
      verifyCashySignature(Buffer.from(tampered), API_KEY, '9E909A19532E4CD125F83500A963777E'),
    ).toBe(false);
  });

  it('rejects signs that are not 32 hex characters, and the wrong key', () => {
    const right = '9E909A19532E4CD125F83500A963777E';
    const fullWidth = right.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))); // ０-９
    for (const sign of [
      undefined,
      '',
      'xyz',
      right.slice(0, 31),
      `${right}E`,
      `${right}\n`,
      ` ${right}`,
      fullWidth,
      new String(right),
      [right],
      Buffer.from(right),
      42,
    ]) {
      expect(verifyCashySignature(CALLBACK_BODY, API_KEY, sign)).toBe(false);
    }
    expect(
      verifyCashySignature(CALLBACK_BODY, 'another-key', '9E909A19532E4CD125F83500A963777E'),
    ).toBe(false);
  });

  it('rejects a Sign that differs in any one digit, including characters that equal a hex digit once case is folded', () => {
    const sign = '9E909A19532E4CD125F83500A963777E';
    // Each differs from a hex digit only in bit 0x20 (the bit that case folding sets), or is the next digit.
    const lookalikes = (digit: string) => [
      String.fromCharCode(digit.charCodeAt(0) ^ 0x20),
      String.fromCharCode(digit.charCodeAt(0) + 1),
      'G',
      'g',
      ' ',
    ];
    for (let i = 0; i < 32; i++) {
      for (const other of lookalikes(sign[i])) {
        const changed = sign.slice(0, i) + other + sign.slice(i + 1);
        if (changed.toUpperCase() === sign) continue; // the same digit in the other case
        expect(verifyCashySignature(CALLBACK_BODY, API_KEY, changed)).toBe(false);
      }
    }
  });

  it('hashes non-ASCII text as UTF-8 bytes', () => {
    const body = '{"accountName":"Peña"}';
    expect(signCashyBody(body, API_KEY)).toBe(signCashyBody(Buffer.from(body, 'utf8'), API_KEY));
  });

  it('signs strings and raw bytes alike, at every size, as node:crypto MD5 of body ‖ key does', () => {
    const reference = (body: Buffer, key: string) =>
      createHash('md5').update(body).update(key, 'utf8').digest('hex').toUpperCase();
    // Around and beyond the 16 KiB scratch buffer raw bodies are joined in, and with multi-byte text.
    for (const size of [
      0,
      1,
      295,
      16 * 1024 - API_KEY.length,
      16 * 1024 - API_KEY.length + 1,
      16 * 1024,
      100_000,
    ]) {
      const text = 'ñ'.repeat(size >> 1) + 'a'.repeat(size & 1);
      const bytes = Buffer.from(text, 'utf8');
      const expected = reference(bytes, API_KEY);
      expect(signCashyBody(text, API_KEY)).toBe(expected);
      expect(signCashyBody(bytes, API_KEY)).toBe(expected);
      expect(signCashyBody(bytes, Buffer.from(API_KEY))).toBe(expected);
      expect(verifyCashySignature(bytes, Buffer.from(API_KEY), expected)).toBe(true);
      expect(verifyCashySignature(text, API_KEY, expected)).toBe(true);
      expect(verifyCashySignature(bytes, API_KEY, expected)).toBe(true);
      expect(verifyCashySignature(bytes, API_KEY, expected.toLowerCase())).toBe(true);
      expect(verifyCashySignature(bytes, `${API_KEY}x`, expected)).toBe(false);
    }
  });

  it('gives every request a fresh 32-character hex nonceStr (Cashy allows up to 32)', () => {
    const nonces = Array.from({ length: 10_000 }, createNonce);
    for (const nonce of nonces) expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(nonces).size).toBe(nonces.length);
  });
});

import { signCashyBody } from '../../lib/client/cashy-signature';

/** Test merchant accounts: one per country, each with its own key. */
export const PEN_ACCOUNT = {
  name: 'peru',
  merchantId: '1002001',
  apiKey: 'pen-test-key-7f3a9c',
  currencies: ['PEN' as const],
};
export const MXN_ACCOUNT = {
  name: 'mexico',
  merchantId: '1002002',
  apiKey: 'mxn-test-key-04b1e2',
  currencies: ['MXN' as const],
};

let sequence = 0;

/** A notification body as Cashy sends it, for a fresh order unless `orderNo` is given. */
export function notification(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  sequence++;
  return {
    orderStatus: 'SUCCESS',
    amount: '150.50',
    fee: '1.50',
    mchOrderNo: `MCH-${process.pid}-${sequence}`,
    merchantId: PEN_ACCOUNT.merchantId,
    orderNo: `PAYOUT${String(Date.now()).slice(-8)}${String(sequence).padStart(11, '0')}`,
    completionTime: '2025-01-01 10:00:00',
    resultDesc: 'SUCCESS',
    ...overrides,
  };
}

/** POSTs `body` (sent byte for byte when a string) signed with `account`'s key. */
export async function deliver(
  url: string,
  body: string | Record<string, unknown>,
  account: { merchantId: string; apiKey: string } = PEN_ACCOUNT,
  options: {
    sign?: string | null;
    merchantId?: string | null;
    contentType?: string;
  } = {},
): Promise<{ status: number; text: string; contentType: string | null }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = {
    'Content-Type': options.contentType ?? 'application/json',
  };
  const merchantId = options.merchantId === undefined ? account.merchantId : options.merchantId;
  if (merchantId !== null) headers.MerchantId = merchantId;
  const sign = options.sign === undefined ? signCashyBody(text, account.apiKey) : options.sign;
  if (sign !== null) headers.Sign = sign;
  const response = await fetch(url, { method: 'POST', headers, body: text });
  return {
    status: response.status,
    text: await response.text(),
    contentType: response.headers.get('content-type'),
  };
}

import { buildNotification, cashyHeaders } from 'nestjs-cashy-payout/testing';

/** The stress hosts' two merchant accounts, one per market, each with its own key. */
export const STRESS_ACCOUNTS = [
  {
    name: 'peru',
    merchantId: '1009001',
    apiKey: 'stress-pen-key-5d1c7a',
    currencies: ['PEN' as const],
  },
  {
    name: 'mexico',
    merchantId: '1009002',
    apiKey: 'stress-mxn-key-e93b40',
    currencies: ['MXN' as const],
  },
];

/** One signed notification, ready to send byte for byte. */
export interface SignedNotification {
  orderNo: string;
  mchOrderNo: string;
  /** The event its outcome must produce. */
  expected: 'payout.succeeded' | 'payout.failed';
  body: string;
  headers: Record<string, string>;
}

// Distinct across runs, so a Redis left over from another run never sees a known order.
const runId = `${process.pid.toString(36)}${Date.now().toString(36)}`.toUpperCase();

/**
 * `count` distinct notifications of final outcomes, signed as Cashy signs them: PEN and MXN
 * alternately, one in five a FAIL, the rest SUCCESS. `tag` (a few letters) keeps each case's orders
 * apart from the others' in one store.
 */
export function signedNotifications(tag: string, count: number): SignedNotification[] {
  const list: SignedNotification[] = [];
  for (let i = 0; i < count; i++) {
    const account = STRESS_ACCOUNTS[i % 2];
    const fail = i % 5 === 4;
    const orderNo = `PAYOUT${tag}${runId}${String(i).padStart(6, '0')}`;
    const mchOrderNo = `ST-${tag}-${runId}-${i}`;
    const body = buildNotification({
      orderStatus: fail ? 'FAIL' : 'SUCCESS',
      amount: account.currencies[0] === 'PEN' ? '150.50' : '1500',
      fee: fail ? null : account.currencies[0] === 'PEN' ? '1.50' : '12',
      mchOrderNo,
      merchantId: account.merchantId,
      orderNo,
      completionTime: fail ? null : '2026-11-22 10:00:00',
      resultDesc: fail ? 'ACCOUNT_BLOCKED' : 'SUCCESS',
    });
    list.push({
      orderNo,
      mchOrderNo,
      expected: fail ? 'payout.failed' : 'payout.succeeded',
      body,
      headers: cashyHeaders(body, account.merchantId, account.apiKey),
    });
  }
  return list;
}

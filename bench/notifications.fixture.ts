import { buildNotification, cashyHeaders } from 'nestjs-cashy-payout/testing';

/** The merchant accounts of every bench app; the load generator signs with the same keys. */
export const BENCH_ACCOUNTS = [
  {
    name: 'pen',
    merchantId: '1002001',
    apiKey: 'bench-pen-key-5d41402abc4b2a76',
    currencies: ['PEN' as const],
  },
  {
    name: 'mxn',
    merchantId: '1002002',
    apiKey: 'bench-mxn-key-7d793037a0760186',
    currencies: ['MXN' as const],
  },
];

/** One ready-to-send notification: the exact bytes Cashy would POST and its signed headers. */
export interface SignedNotification {
  body: Buffer;
  headers: Record<string, string>;
  orderNo: string;
}

// Unique per run, so even a long-lived app never sees an orderNo twice.
const RUN = Date.now().toString().slice(-9);
let sequence = 0;

/**
 * A fresh SUCCESS notification for a new order (from `account`, else alternating the PEN and MXN
 * accounts), signed like Cashy signs: `MD5(body + apiKey)` over the bytes returned in `body`.
 */
export function signedNotification(
  account: (typeof BENCH_ACCOUNTS)[number] = BENCH_ACCOUNTS[sequence & 1],
): SignedNotification {
  const n = ++sequence;
  const pen = account.currencies[0] === 'PEN';
  const orderNo = `PAYOUT${RUN}${String(n).padStart(10, '0')}`;
  const text = buildNotification({
    orderStatus: 'SUCCESS',
    amount: pen ? '150.50' : '1500',
    fee: pen ? '1.50' : '5',
    mchOrderNo: `BENCH-${RUN}-${n}`,
    merchantId: account.merchantId,
    orderNo,
    completionTime: '2025-06-01 10:00:00',
    resultDesc: 'SUCCESS',
  });
  return {
    body: Buffer.from(text, 'utf8'),
    headers: cashyHeaders(text, account.merchantId, account.apiKey),
    orderNo,
  };
}

/**
 * Pre-generated distinct notifications, handed out once each and never rotated back (a repeat
 * would hit the dedupe shortcut). Top it up between measured segments with `ensure`; if a segment
 * still runs dry, `take` signs on the fly and counts it in `generatedInline`.
 */
export class NotificationPool {
  private items: SignedNotification[] = [];
  private next = 0;
  /** Notifications signed during a segment because the pool ran dry (0 in a healthy run). */
  generatedInline = 0;

  /** Makes sure at least `count` unused notifications are ready (outside any measurement). */
  ensure(count: number): void {
    const unused = this.items.length - this.next;
    if (unused >= count) return;
    // Drop what was sent, so the pool's memory does not grow with the run.
    this.items = this.items.slice(this.next);
    this.next = 0;
    for (let i = unused; i < count; i++) this.items.push(signedNotification());
  }

  /** The next unused notification. */
  take(): SignedNotification {
    if (this.next < this.items.length) return this.items[this.next++];
    this.generatedInline++;
    return signedNotification();
  }

  /** Unused notifications left. */
  get remaining(): number {
    return this.items.length - this.next;
  }
}

import type { PayoutCurrency, PayoutStatus } from '../interfaces/payout-types.interface';

/** A status of one order as the gateway reported it, by webhook or by query. */
export interface PayoutStatusReport {
  merchantId: string;
  mchOrderNo: string;
  orderNo: string;
  channelOrderNo?: string;
  amount: unknown;
  fee: unknown;
  orderStatus: PayoutStatus;
  completionTime: string | null;
  resultDesc: string | null;
  /** The report as parsed from the gateway's bytes. */
  raw: Record<string, unknown>;
  /** The currency, when the receiving account or the request tells it. */
  currency?: PayoutCurrency;
}

/** What applying a report did. */
export type PayoutReportResult = 'emitted' | 'duplicate' | 'progress' | 'stale' | 'anomaly';

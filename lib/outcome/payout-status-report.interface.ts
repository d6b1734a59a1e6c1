import type { PayoutCurrency } from '../payout.types';
import type { ParsedDecimal } from '../markets/decimal';

/** A status of one order as the gateway reported it, by webhook or by query. */
export interface PayoutStatusReport {
  /** The merchant that reported it: the account whose key verified the webhook, or that was queried. */
  merchantId: string;
  /** The `merchantId` the body itself names, when it names one. */
  bodyMerchantId?: string;
  mchOrderNo: string;
  orderNo: string;
  channelOrderNo?: string;
  /** Parsed once where the report is read; `null` when the gateway sent none. */
  amount: ParsedDecimal | null;
  fee: ParsedDecimal | null;
  /** One of the six documented statuses, or an undocumented one as received (an anomaly). */
  orderStatus: string;
  completionTime: string | null;
  resultDesc: string | null;
  /** The report as parsed from the gateway's bytes. */
  raw: Record<string, unknown>;
  /** The currency, when the receiving account or the request tells it. */
  currency?: PayoutCurrency;
}

/** What applying a report did. */
export type PayoutReportResult = 'emitted' | 'duplicate' | 'progress' | 'stale' | 'anomaly';

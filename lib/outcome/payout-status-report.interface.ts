import type { PayoutCurrency, PayoutStatus } from '../interfaces/payout-types.interface';
import type { ParsedDecimal } from '../money/decimal';

/** A status of one order as the gateway reported it, by webhook or by query. */
export interface PayoutStatusReport {
  merchantId: string;
  mchOrderNo: string;
  orderNo: string;
  channelOrderNo?: string;
  /** Parsed once where the report is read, so it is never parsed again; `null` when the gateway sent none. */
  amount: ParsedDecimal | null;
  fee: ParsedDecimal | null;
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

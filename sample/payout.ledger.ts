import { Injectable } from '@nestjs/common';
import type { PayoutCurrency } from 'nestjs-cashy-payout';

/**
 * What the sample remembers about the payouts it created: the currency (to pick the account for
 * queries) and the masked account number (for logs). A real app persists the mchOrderNo before
 * calling Cashy.
 */
@Injectable()
export class PayoutLedger {
  private readonly payouts = new Map<string, { currency: PayoutCurrency; maskedAccount: string }>();

  remember(mchOrderNo: string, currency: PayoutCurrency, accountNo: string): void {
    this.payouts.set(mchOrderNo, {
      currency,
      maskedAccount: `****${String(accountNo).slice(-4)}`,
    });
  }

  currencyOf(mchOrderNo: string): PayoutCurrency | undefined {
    return this.payouts.get(mchOrderNo)?.currency;
  }

  maskedAccount(mchOrderNo: string): string {
    return this.payouts.get(mchOrderNo)?.maskedAccount ?? 'an account created elsewhere';
  }
}

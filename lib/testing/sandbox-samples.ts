import type { PayoutCurrency } from '../interfaces/payout-types.interface';
import type { CashyPayOutBody } from '../validation/create-payout.rules';

/** A create-payout input (what `PayoutService.createPayout` takes), as the samples build it. */
export type SandboxPayoutInput = Omit<CashyPayOutBody, 'notifyUrl'> & { notifyUrl?: string };

let sampleCounter = 0;

/** A fresh `mchOrderNo` (`SBX-<time>-<n>`, well under 32 characters). */
export function sandboxMchOrderNo(prefix = 'SBX'): string {
  sampleCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${sampleCounter}`;
}

/**
 * A create-payout input that passes every rule for its market, with a fresh `mchOrderNo`:
 * PEN 150.50 to a BCP savings account (DNI holder), MXN 1500 to a Banamex CLABE. `overrides`
 * replace fields (set the `remark` to pick an outcome, see `SANDBOX_TRIGGERS`).
 */
export function samplePayout(currency: PayoutCurrency, overrides: Partial<SandboxPayoutInput> = {}): SandboxPayoutInput {
  const base: SandboxPayoutInput =
    currency === 'PEN'
      ? {
          accountName: 'Maria Quispe',
          accountNo: '19312345678901',
          accountType: 1,
          currency: 'PEN',
          amount: '150.50',
          bankId: 3,
          mchOrderNo: sandboxMchOrderNo(),
          idType: '1',
          idCard: '45671234',
          remark: 'payout',
        }
      : {
          accountName: 'Jose Hernandez',
          accountNo: '002010077777777771',
          accountType: 40,
          currency: 'MXN',
          amount: '1500',
          bankId: 80,
          mchOrderNo: sandboxMchOrderNo(),
          remark: 'retiro',
        };
  return { ...base, ...overrides };
}

// Valid create-payout inputs for the rule and DTO suites. Kept apart from lib/testing's samples on
// purpose, so the rules are not checked against fixtures the library itself ships.

/** The market defaults of design.md ("Decisions where the sources disagree"). */
export const DEFAULT_LIMITS = {
  PEN: { min: '10.00', max: '2000.00' },
  MXN: { min: '40', max: '15000' },
} as const;
export const NOTIFY = 'https://pay.example.com/cashy/payout/notify';

/** A valid PEN payout: BCP (bankId 3), ahorro (1), 14-digit account, DNI. */
export const PE: Readonly<Record<string, unknown>> = Object.freeze({
  accountName: 'Juan Perez',
  accountNo: '19112345678012',
  accountType: 1,
  currency: 'PEN',
  amount: '150.50',
  bankId: 3,
  mchOrderNo: 'PE-2025-000123',
  notifyUrl: NOTIFY,
  idType: '1',
  idCard: '45671234',
  remark: 'withdrawal',
});

/**
 * A valid MXN payout. 032180000118359719 (prefix 032) matches no bank of the Mexico table
 * (no bankCode ends in 032), so the other published vector is used: 002… with BANAMEX (80, 40002).
 */
export const MX: Readonly<Record<string, unknown>> = Object.freeze({
  accountName: 'Jose Hernandez',
  accountNo: '002010077777777771',
  accountType: 40,
  currency: 'MXN',
  amount: '1500',
  bankId: 80,
  mchOrderNo: 'MX-2025-000045',
  notifyUrl: NOTIFY,
  remark: 'retiro',
});

import type { ScriptedAnswer } from './scripted-gateway';

/** A valid PEN create input for the test PEN account (BCP ahorro, DNI), under `mchOrderNo`. */
export function penPayout(mchOrderNo: string, overrides: Record<string, unknown> = {}) {
  return {
    accountName: 'Juan Perez',
    accountNo: '19312345678901',
    accountType: 1,
    currency: 'PEN' as const,
    amount: '150.50',
    bankId: 3,
    mchOrderNo,
    idType: '1',
    idCard: '45671234',
    remark: 'payout',
    ...overrides,
  };
}

/** A Cashy envelope as the scripted gateway answers it (`data` left out when not given). */
export function envelope(code: number, msg: string, data?: unknown): ScriptedAnswer {
  return { envelope: data === undefined ? { code, msg } : { code, msg, data } };
}

import type { PayoutCurrency } from '../payout.types';

/** A final status the sandbox can put an order in. */
export type SandboxFinalStatus = 'SUCCESS' | 'FAIL' | 'CANCEL';

/** The outcome a `remark` asks for. */
export type SandboxTrigger = 'SUCCESS' | 'FAIL' | 'CANCEL' | 'REVERSE' | 'HOLD';

/** What the sandbox will do with an order, decided once from its `remark` when it is created. */
export interface SandboxOutcome {
  trigger: SandboxTrigger;
  /** Status and `resultDesc` the order ends in; absent for `HOLD` (it waits for `settle()`). */
  final?: { status: SandboxFinalStatus; resultDesc: string };
  /** `REVERSE` on MXN only: the `resultDesc` of the second callback (SUCCESS → FAIL). */
  reversal?: string;
}

/** `resultDesc` used when a remark or a call names none. */
export const SANDBOX_DEFAULT_RESULT_DESC: Readonly<Record<SandboxFinalStatus, string>> = {
  SUCCESS: 'SUCCESS',
  FAIL: 'ACCOUNT_NOT_EXIST',
  CANCEL: 'COMPLIANCE_REJECT',
};

/** `resultDesc` of the automatic SPEI return of a `REVERSE` order. */
export const SANDBOX_DEFAULT_REVERSAL_DESC = 'ACCOUNT_NOT_EXIST';

/** One row of the trigger table. */
export interface SandboxTriggerDoc {
  /** What the remark starts with (case-insensitive; the code after a space is optional). */
  remark: string;
  /** Statuses notified, in order, with `autoSettle` on. */
  notifications: string;
  currencies: readonly PayoutCurrency[];
}

const BOTH: readonly PayoutCurrency[] = ['PEN', 'MXN'];

/** How a payOut's `remark` picks its outcome (a code after a space becomes `resultDesc`). */
export const SANDBOX_TRIGGERS: readonly SandboxTriggerDoc[] = (
  [
    ['FAIL [CODE]', 'PAYING, FAIL (resultDesc CODE, default ACCOUNT_NOT_EXIST)', BOTH],
    ['CANCEL [CODE]', 'PAYING, CANCEL (resultDesc CODE, default COMPLIANCE_REJECT)', BOTH],
    [
      'REVERSE [CODE]',
      'PAYING, SUCCESS, then FAIL (resultDesc CODE, default ACCOUNT_NOT_EXIST)',
      ['MXN'],
    ],
    ['REVERSE', 'PAYING, SUCCESS (no SPEI return in Peru)', ['PEN']],
    ['HOLD', 'none: PROCESSING until settle()', BOTH],
    ['(anything else)', 'PAYING, SUCCESS', BOTH],
  ] as const
).map(([remark, notifications, c]) => ({ remark, notifications, currencies: [...c] }));

const CODE = /^[A-Za-z0-9_]{1,32}$/;

/** The outcome a remark asks for: by its first word's start, case-insensitive (`FAILED` is FAIL). */
export function outcomeOfRemark(remark: string, currency: PayoutCurrency): SandboxOutcome {
  const [first = '', second] = remark.trim().split(/\s+/);
  const word = first.toUpperCase();
  const code = (fallback: string) =>
    second !== undefined && CODE.test(second) ? second.toUpperCase() : fallback;
  const status = (['FAIL', 'CANCEL'] as const).find((s) => word.startsWith(s));
  if (status)
    return {
      trigger: status,
      final: { status, resultDesc: code(SANDBOX_DEFAULT_RESULT_DESC[status]) },
    };
  if (word.startsWith('HOLD')) return { trigger: 'HOLD' };
  const final = { status: 'SUCCESS' as const, resultDesc: SANDBOX_DEFAULT_RESULT_DESC.SUCCESS };
  if (!word.startsWith('REVERSE')) return { trigger: 'SUCCESS', final };
  // Only SPEI (Mexico) returns a paid transfer; in Peru a SUCCESS is final.
  return currency === 'MXN'
    ? { trigger: 'REVERSE', final, reversal: code(SANDBOX_DEFAULT_REVERSAL_DESC) }
    : { trigger: 'REVERSE', final };
}

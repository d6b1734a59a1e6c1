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
  /** Markets it applies to. */
  currencies: readonly PayoutCurrency[];
}

/**
 * How the `remark` of a payOut chooses its outcome: by its first word, case-insensitive (`FAIL`
 * also matches `FAILED`), with the optional code after a space as `resultDesc`, upper-cased. With
 * `autoSettle` (default) each order goes PROCESSING → PAYING after `processingMs` and to its final
 * status `payingMs` later; each change is notified. A SPEI return (`REVERSE` on MXN) comes
 * `payingMs` after its SUCCESS is acknowledged or its deliveries end.
 */
export const SANDBOX_TRIGGERS: readonly SandboxTriggerDoc[] = [
  {
    remark: 'FAIL [CODE]',
    notifications: 'PAYING, FAIL (resultDesc CODE, default ACCOUNT_NOT_EXIST)',
    currencies: ['PEN', 'MXN'],
  },
  {
    remark: 'CANCEL [CODE]',
    notifications: 'PAYING, CANCEL (resultDesc CODE, default COMPLIANCE_REJECT)',
    currencies: ['PEN', 'MXN'],
  },
  {
    remark: 'REVERSE [CODE]',
    notifications: 'PAYING, SUCCESS, then FAIL (resultDesc CODE, default ACCOUNT_NOT_EXIST)',
    currencies: ['MXN'],
  },
  {
    remark: 'REVERSE',
    notifications: 'PAYING, SUCCESS (no SPEI return in Peru)',
    currencies: ['PEN'],
  },
  {
    remark: 'HOLD',
    notifications: 'none: PROCESSING until settle()',
    currencies: ['PEN', 'MXN'],
  },
  {
    remark: '(anything else)',
    notifications: 'PAYING, SUCCESS',
    currencies: ['PEN', 'MXN'],
  },
];

const CODE = /^[A-Za-z0-9_]{1,32}$/;

/** The outcome a remark asks for (see `SANDBOX_TRIGGERS`). */
export function outcomeOfRemark(remark: string, currency: PayoutCurrency): SandboxOutcome {
  const [first = '', second] = remark.trim().split(/\s+/);
  const word = first.toUpperCase();
  const code = (fallback: string) =>
    second !== undefined && CODE.test(second) ? second.toUpperCase() : fallback;

  for (const status of ['FAIL', 'CANCEL'] as const) {
    if (word.startsWith(status))
      return {
        trigger: status,
        final: {
          status,
          resultDesc: code(SANDBOX_DEFAULT_RESULT_DESC[status]),
        },
      };
  }
  if (word.startsWith('HOLD')) return { trigger: 'HOLD' };
  const success = {
    status: 'SUCCESS' as const,
    resultDesc: SANDBOX_DEFAULT_RESULT_DESC.SUCCESS,
  };
  if (word.startsWith('REVERSE')) {
    // Only SPEI (Mexico) returns a paid transfer; in Peru a SUCCESS is final.
    return currency === 'MXN'
      ? {
          trigger: 'REVERSE',
          final: success,
          reversal: code(SANDBOX_DEFAULT_REVERSAL_DESC),
        }
      : { trigger: 'REVERSE', final: success };
  }
  return { trigger: 'SUCCESS', final: success };
}

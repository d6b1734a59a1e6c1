// nestjs-cashy-payout/testing: an embedded Cashy gateway and signing helpers for tests and demos.
export { CashySandbox, type SandboxModuleOptions } from './cashy-sandbox';
export {
  SANDBOX_FAULT_MODES,
  SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
  type CashySandboxOptions,
  type SandboxAccount,
  type SandboxFaultMode,
  type SandboxFaultSpec,
  type SandboxMismatch,
  type SandboxRandomFaults,
  type SandboxScriptedReply,
} from './sandbox-options.interface';
export { SANDBOX_DEFAULT_ACCOUNTS, SANDBOX_DEFAULTS } from './sandbox-options.resolver';
export type { SandboxOrder, SandboxOrderEvent } from './sandbox-order.interface';
export type { SandboxDeliveryRecord, SandboxFaultReply, SandboxHttpReply, SandboxRequestRecord } from './sandbox-records.interface';
export {
  SANDBOX_TRIGGERS,
  SANDBOX_DEFAULT_RESULT_DESC,
  SANDBOX_DEFAULT_REVERSAL_DESC,
  outcomeOfRemark,
  type SandboxFinalStatus,
  type SandboxOutcome,
  type SandboxTrigger,
  type SandboxTriggerDoc,
} from './sandbox-triggers';
export { SANDBOX_ERROR_CODES } from './sandbox-envelope';
export { SANDBOX_DEFAULT_FAULT_SEED, mulberry32 } from './sandbox-faults';
export { SANDBOX_FEES, SANDBOX_DEFAULT_BALANCE } from './sandbox-money';
export { SANDBOX_RETRY_MINUTES } from './sandbox-notifier';
export { SANDBOX_UTC_OFFSET_MINUTES } from './sandbox-clock';
export { INSUFFICIENT_BALANCE_DESC } from './sandbox-ledger';
export {
  signCashyPayload,
  cashyHeaders,
  postSignedNotification,
  buildNotification,
  type SandboxNotificationFields,
  type SignedPostResult,
} from './sandbox-signing';
export { samplePayout, sandboxMchOrderNo, type SandboxPayoutInput } from './sandbox-samples';
export { freePort } from './free-port';

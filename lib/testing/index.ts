// nestjs-cashy-payout/testing: an embedded Cashy gateway and what a host's tests need around it.
export { CashySandbox, type SandboxModuleOptions } from './cashy-sandbox';
export {
  SANDBOX_FAULT_EFFECTS,
  SANDBOX_FAULT_MODES,
  SANDBOX_DEFAULT_RANDOM_FAULT_MODES,
  type CashySandboxOptions,
  type SandboxAccount,
  type SandboxFaultMode,
  type SandboxFaultSpec,
  type SandboxMismatch,
  type SandboxRandomFaults,
  type SandboxScriptedReply,
  type SandboxOrder,
  type SandboxOrderEvent,
  type SandboxDeliveryRecord,
  type SandboxFaultReply,
  type SandboxHttpReply,
  type SandboxRequestRecord,
} from './sandbox.types';
export {
  SANDBOX_TRIGGERS,
  type SandboxFinalStatus,
  type SandboxOutcome,
  type SandboxTrigger,
  type SandboxTriggerDoc,
} from './sandbox-triggers';
export { mulberry32 } from './sandbox-faults';
export { TestPayoutClock } from './test-payout.clock';
export {
  signCashyPayload,
  cashyHeaders,
  postSignedNotification,
  buildNotification,
  samplePayout,
  sandboxMchOrderNo,
  freePort,
  waitFor,
  type SandboxNotificationFields,
  type SignedPostResult,
  type SandboxPayoutInput,
} from './sandbox-helpers';

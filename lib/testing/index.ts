// nestjs-cashy-payout/testing: an embedded Cashy gateway and what a host's tests need around it.
export { CashySandbox, type SandboxModuleOptions } from './cashy-sandbox';
export * from './sandbox.types';
export {
  SANDBOX_TRIGGERS,
  type SandboxFinalStatus,
  type SandboxOutcome,
  type SandboxTrigger,
  type SandboxTriggerDoc,
} from './sandbox-triggers';
export { mulberry32 } from './sandbox-faults';
export { TestPayoutClock } from './test-payout.clock';
export * from './sandbox-helpers';

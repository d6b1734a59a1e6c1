// The public contract of nestjs-cashy-payout. Anything not exported here is internal.
export { PayoutModule } from './payout.module';
export type { PayoutModuleExtras } from './payout.module-definition';
export { PayoutService, type PayoutCallOptions, type PayoutOpenPayout } from './payout.service';
export { PayoutSignatureGuard, type PayoutWebhookRequest } from './webhook/payout-signature.guard';
export { PAYOUT_STORE } from './payout.constants';
export { PayoutClock, MonotonicPayoutClock, SyncedPayoutClock } from './clock/payout.clock';

export { CreatePayoutDto } from './validation/create-payout.dto';
export { QueryPayoutDto } from './validation/query-payout.dto';
export { PayoutNotificationDto } from './validation/payout-notification.dto';

export {
  PAYOUT_SUCCEEDED,
  PAYOUT_FAILED,
  PAYOUT_ANOMALY,
  PAYOUT_NOT_CREATED,
} from './events/payout.events';
export { PayoutNotCreatedEvent, type PayoutNotCreatedFields } from './events/payout.events';
export {
  PayoutAnomalyEvent,
  type PayoutAnomalyFields,
  type PayoutAnomalyKind,
} from './events/payout.events';
export { PayoutSucceededEvent } from './events/payout.events';
export { PayoutEvent, type PayoutEventFields } from './events/payout.events';
export { PayoutFailedEvent } from './events/payout.events';
export {
  OnPayoutSucceeded,
  OnPayoutFailed,
  OnPayoutAnomaly,
  OnPayoutNotCreated,
  type PayoutListenerOptions,
} from './events/payout-event.decorators';

export { PayoutError } from './payout.errors';
export { PayoutValidationError, type PayoutFieldError } from './payout.errors';
export { CashyApiError } from './payout.errors';
export { PayoutOutcomeUnknownError } from './payout.errors';
export { PayoutOrderConflictError } from './payout.errors';
export { PayoutConfigurationError } from './payout.errors';
export { PayoutStoreError } from './payout.errors';
export { PayoutBusyError } from './payout.errors';
export { CashyTransportError, type CashyTransportFailure } from './payout.errors';
export {
  PAYOUT_DIAGNOSTICS_CHANNELS,
  type PayoutRequestMessage,
  type PayoutRetryMessage,
  type PayoutOutcomeUnknownMessage,
  type PayoutWebhookMessage,
  type PayoutSweepMessage,
} from './payout.diagnostics';
export {
  PayoutExceptionFilter,
  type PayoutHttpAnswer,
  type PayoutHttpErrorBody,
} from './payout-exception.filter';

export type {
  PayoutStore,
  PayoutRecord,
  PayoutClaim,
  PayoutAttempt,
  PayoutAttemptState,
  PayoutOpenEntry,
  PayoutOpenCursor,
  PayoutOpenChange,
  PayoutOpenDetails,
  PayoutReportContext,
  PayoutNotCreatedNotice,
} from './store/payout-store.interface';
export { MemoryPayoutStore, type MemoryPayoutStoreOptions } from './store/memory-payout.store';
export type { PayoutReconciliationOptions } from './reconciliation/payout-reconciliation.options';

export type {
  PayoutModuleOptions,
  PayoutAccountOptions,
  PayoutAmountLimitsOptions,
  PayoutRetryOptions,
  PayoutDeliveryOptions,
  PayoutWebhookOptions,
  PayoutGatewayMessagesOptions,
  PayoutHttpOptions,
  PayoutOptionsFactory,
} from './options/payout-module-options.interface';
export type {
  PayoutCurrency,
  PayoutStatus,
  PayoutResultDesc,
  PayoutOrder,
  PayoutBank,
  PayoutBalance,
} from './payout.types';
export type { PayoutReportResult } from './outcome/payout-status-report.interface';

// The public contract of nestjs-cashy-payout. Anything not exported here is internal.
export { PayoutModule } from './payout.module';
export type { PayoutModuleExtras } from './payout.module-definition';
export { PayoutService, type PayoutCallOptions, type PayoutOpenPayout } from './payout.service';
export { PayoutSignatureGuard, type PayoutWebhookRequest } from './webhook/payout-signature.guard';
export { PAYOUT_STORE } from './payout.constants';

export { CreatePayoutDto } from './dto/create-payout.dto';
export { QueryPayoutDto } from './dto/query-payout.dto';
export { PayoutNotificationDto } from './dto/payout-notification.dto';

export { PAYOUT_SUCCEEDED, PAYOUT_FAILED, PAYOUT_ANOMALY, PAYOUT_NOT_CREATED } from './events/payout-event-names.constants';
export { PayoutNotCreatedEvent, type PayoutNotCreatedFields } from './events/payout-not-created.event';
export { PayoutAnomalyEvent, type PayoutAnomalyFields, type PayoutAnomalyKind } from './events/payout-anomaly.event';
export { PayoutSucceededEvent } from './events/payout-succeeded.event';
export { PayoutEvent, type PayoutEventFields } from './events/payout-event';
export { PayoutFailedEvent } from './events/payout-failed.event';
export { OnPayoutSucceeded, OnPayoutFailed, OnPayoutAnomaly, OnPayoutNotCreated, type PayoutListenerOptions } from './events/payout-event.decorators';

export { PayoutError } from './errors/payout.error';
export { PayoutValidationError, type PayoutFieldError } from './errors/payout-validation.error';
export { CashyApiError } from './errors/cashy-api.error';
export { PayoutOutcomeUnknownError } from './errors/payout-outcome-unknown.error';
export { PayoutOrderConflictError } from './errors/payout-order-conflict.error';
export { PayoutConfigurationError } from './errors/payout-configuration.error';
export { PayoutStoreError } from './errors/payout-store.error';
export { CashyTransportError, type CashyTransportFailure } from './client/cashy-transport.error';
export {
  PAYOUT_DIAGNOSTICS_CHANNELS,
  type PayoutRequestMessage,
  type PayoutRetryMessage,
  type PayoutOutcomeUnknownMessage,
  type PayoutWebhookMessage,
  type PayoutSweepMessage,
} from './diagnostics/payout-diagnostics';
export { PayoutExceptionFilter, type PayoutHttpAnswer, type PayoutHttpErrorBody } from './errors/payout-exception.filter';

export type { PayoutStore, PayoutRecord, PayoutClaim, PayoutAttempt, PayoutAttemptState, PayoutOpenEntry } from './store/payout-store.interface';
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
} from './interfaces/payout-module-options.interface';
export type {
  PayoutCurrency,
  PayoutStatus,
  PayoutResultDesc,
  PayoutOrder,
  PayoutBank,
  PayoutBalance,
} from './interfaces/payout-types.interface';
export type { PayoutReportResult } from './outcome/payout-status-report.interface';

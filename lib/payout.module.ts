import { HttpService } from '@nestjs/axios';
import { MonotonicPayoutClock, PayoutClock } from './clock/payout.clock';
import { PayoutClockSync } from './clock/payout-clock.sync';
import { Module } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import {
  CashyHttpAgents,
  CashyHttpClient,
  createCashyHttpService,
} from './client/cashy-http.client';
import { PayoutConfigurationError } from './payout.errors';
import type { PayoutModuleOptions } from './options/payout-module-options.interface';
import { PayoutConfig } from './options/payout-config';
import { resolvePayoutOptions } from './options/payout-options.resolver';
import { PayoutAttemptLedger } from './outcome/payout-attempt.ledger';
import { PayoutOutcomeProcessor } from './outcome/payout-outcome.processor';
import { PayoutLookup } from './outcome/payout-lookup';
import { PayoutReconciler } from './reconciliation/payout-reconciler';
import { PAYOUT_EVENT_BUS, PAYOUT_STORE } from './payout.constants';
import { ConfigurablePayoutModule, PAYOUT_MODULE_OPTIONS } from './payout.module-definition';
import { PayoutService } from './payout.service';
import { PayoutReconciliationService } from './reconciliation/payout-reconciliation.service';
import { MemoryPayoutStore } from './store/memory-payout.store';
import type { PayoutStore } from './store/payout-store.interface';
import { checkStoreRetention } from './store/payout-store.retention';
import { PayoutRulesConstraint } from './validation/payout-rules.decorator';
import { PayoutWebhookBodyHandler } from './webhook/payout-webhook-body.handler';
import { PayoutSignatureGuard } from './webhook/payout-signature.guard';

/**
 * Cashy payouts for Peru (PEN) and Mexico (MXN/SPEI). Register with `PayoutModule.forRoot(options)`
 * or `PayoutModule.forRootAsync({ imports, inject, useFactory | useClass | useExisting, webhook })`.
 * The host imports `EventEmitterModule.forRoot()` and creates its app with `rawBody: true`.
 *
 * Gateway calls go through an `HttpService` of the module's own, on its own axios instance and
 * keep-alive agents (option `http`); it is not exported, so it and the host's `HttpModule` never meet.
 */
@Module({
  providers: [
    {
      provide: PayoutConfig,
      inject: [PAYOUT_MODULE_OPTIONS],
      useFactory: (options: PayoutModuleOptions) => resolvePayoutOptions(options),
    },
    {
      provide: PAYOUT_STORE,
      inject: [PAYOUT_MODULE_OPTIONS, PayoutConfig],
      useFactory: (options: PayoutModuleOptions, config: PayoutConfig) => {
        const store = options.store ?? new MemoryPayoutStore();
        checkStoreRetention(store, config);
        return store;
      },
    },
    {
      // One clock for every decision: the store's, so replicas sharing it read the same time.
      provide: PayoutClock,
      inject: [PAYOUT_STORE],
      useFactory: (store: PayoutStore) => store.clock ?? new MonotonicPayoutClock(),
    },
    PayoutClockSync,
    {
      provide: PAYOUT_EVENT_BUS,
      inject: [{ token: EventEmitter2, optional: true }],
      useFactory: (emitter: EventEmitter2 | undefined) => {
        if (emitter) return emitter;
        throw new PayoutConfigurationError(
          'PayoutModule emits payout events on the host EventEmitter2, and none is registered: add EventEmitterModule.forRoot() to your root module imports',
        );
      },
    },
    CashyHttpAgents,
    {
      // What HttpModule.register() provides, built from the resolved options (an HttpModule
      // registered here could not see them without running the host's options factory twice).
      provide: HttpService,
      inject: [PayoutConfig, CashyHttpAgents],
      useFactory: createCashyHttpService,
    },
    CashyHttpClient,
    PayoutAttemptLedger,
    PayoutOutcomeProcessor,
    PayoutLookup,
    PayoutReconciler,
    PayoutService,
    PayoutReconciliationService,
    PayoutSignatureGuard,
    PayoutRulesConstraint,
    PayoutWebhookBodyHandler,
  ],
  exports: [PayoutService, PayoutSignatureGuard, PayoutRulesConstraint, PayoutConfig, PAYOUT_STORE],
})
export class PayoutModule extends ConfigurablePayoutModule {}

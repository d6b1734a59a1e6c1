import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, registerAs } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { PayoutExceptionFilter, PayoutModule, type PayoutModuleOptions } from 'nestjs-cashy-payout';
import { payoutConfig } from 'nestjs-cashy-payout/config';
import { PayoutEventsLog } from './payout-events.log';
import { SAMPLE_STORE, type SampleStore, SampleStoreModule } from './payout-store.module';
import { PayoutLedger } from './payout.ledger';
import { PayoutsController } from './payouts.controller';

/** The sample host application. */
@Module({})
export class AppModule {
  /**
   * Without arguments the gateway settings come from the `CASHY_*` environment variables through
   * `payoutConfig`. The embedded sandbox passes its own options, loaded as the same `payout` namespace,
   * so both paths are wired alike. `storeUrl` (`PAYOUT_STORE_URL`) picks the store: PostgreSQL, Redis,
   * or memory when unset.
   */
  static register(sandbox?: PayoutModuleOptions, storeUrl?: string): DynamicModule {
    const payout = sandbox ? registerAs('payout', () => sandbox) : payoutConfig;
    return {
      module: AppModule,
      imports: [
        // Settings come from the process environment only (start with `node --env-file=.env` to use a file).
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [payout] }),
        EventEmitterModule.forRoot(),
        PayoutModule.forRootAsync({
          imports: [ConfigModule.forFeature(payout), SampleStoreModule.forUrl(storeUrl)],
          inject: [payout.KEY, SAMPLE_STORE],
          useFactory: (options: PayoutModuleOptions, sample: SampleStore) =>
            sample.store ? { ...options, store: sample.store } : options,
        }),
      ],
      controllers: [PayoutsController],
      // Every route answers the module's errors the same way (400 rules, 409 conflicts, 503 + Retry-After …).
      providers: [
        PayoutLedger,
        PayoutEventsLog,
        { provide: APP_FILTER, useClass: PayoutExceptionFilter },
      ],
    };
  }
}

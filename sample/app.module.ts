import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { PayoutModule, type PayoutModuleOptions } from 'nestjs-cashy-payout';
import { PayoutEventsLog } from './payout-events.log';
import { PayoutLedger } from './payout.ledger';
import { PayoutsController } from './payouts.controller';

/** The sample host application. `gateway` holds the PayoutModule options the app was started with. */
@Module({})
export class AppModule {
  static register(gateway: PayoutModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ cashy: gateway })] }),
        EventEmitterModule.forRoot(),
        PayoutModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.getOrThrow<PayoutModuleOptions>('cashy'),
        }),
      ],
      controllers: [PayoutsController],
      providers: [PayoutLedger, PayoutEventsLog],
    };
  }
}

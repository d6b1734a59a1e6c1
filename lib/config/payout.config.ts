import { registerAs } from '@nestjs/config';
import type { PayoutEnvConfig } from './payout-env-config.interface';
import { readPayoutEnv } from './payout-env.reader';

/**
 * The `payout` configuration namespace: `PayoutModule` options read from `CASHY_*` environment variables
 * (see `PAYOUT_ENV_VARIABLES`) when `ConfigModule` loads it, and validated then, so a bad setting stops
 * the app at startup with a message naming the variable.
 *
 * ```ts
 * ConfigModule.forRoot({ load: [payoutConfig] }),
 * PayoutModule.forRootAsync(payoutConfig.asProvider()),
 * ```
 */
export const payoutConfig = registerAs('payout', (): PayoutEnvConfig => readPayoutEnv(process.env));

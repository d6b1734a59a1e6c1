import { ConfigurableModuleBuilder } from '@nestjs/common';
import { PayoutConfigurationError } from './payout.errors';
import type {
  PayoutModuleOptions,
  PayoutWebhookOptions,
} from './options/payout-module-options.interface';
import { PAYOUT_DEFAULTS, PAYOUT_OPTIONS_LEAD } from './options/payout-options.resolver';
import { createPayoutWebhookController } from './webhook/payout-webhook.controller';
import { PAYOUT_WEBHOOK_PATH } from './webhook/payout-webhook-body.handler';

/** Registration-time options: they shape the module itself, so `forRootAsync` takes them directly. */
export interface PayoutModuleExtras {
  /**
   * Register the module globally (default `true`): registered once at the root, `PayoutService` and
   * `PayoutSignatureGuard` are injectable in every feature module. `false` scopes it to the modules
   * that import it, as for any non-global Nest module.
   */
  isGlobal?: boolean;
  /** The webhook controller's path, or `false` for none. */
  webhook?: PayoutWebhookOptions | false;
}

/** The webhook route's path, `undefined` for none; throws for a malformed `webhook` option. */
function webhookPath(webhook: unknown): string | undefined {
  if (webhook === false) return undefined;
  if (webhook === undefined || webhook === null) return PAYOUT_DEFAULTS.webhookPath;
  const path = (webhook as PayoutWebhookOptions).path;
  if (
    typeof webhook !== 'object' ||
    (path !== undefined && (typeof path !== 'string' || !/^\/?[\w\-./:]+$/.test(path)))
  ) {
    throw new PayoutConfigurationError(
      `${PAYOUT_OPTIONS_LEAD}webhook must be false or { path?: string } with a route path such as "payout/webhook"`,
    );
  }
  return path ?? PAYOUT_DEFAULTS.webhookPath;
}

export const {
  ConfigurableModuleClass: ConfigurablePayoutModule,
  MODULE_OPTIONS_TOKEN: PAYOUT_MODULE_OPTIONS,
  OPTIONS_TYPE: PAYOUT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: PAYOUT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<PayoutModuleOptions>({ moduleName: 'Payout' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createPayoutOptions')
  .setExtras<PayoutModuleExtras>({ isGlobal: true, webhook: undefined }, (definition, extras) => {
    const path = webhookPath(extras.webhook);
    return {
      ...definition,
      // Only an explicit false opts out: `isGlobal: undefined` given to forRoot still means the default.
      global: extras.isGlobal !== false,
      controllers: path === undefined ? [] : [createPayoutWebhookController(path)],
      providers: [
        ...(definition.providers ?? []),
        { provide: PAYOUT_WEBHOOK_PATH, useValue: path },
      ],
    };
  })
  .build();

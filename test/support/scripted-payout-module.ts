import { EventEmitterModule } from '@nestjs/event-emitter';
import type { Provider } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { PayoutModule, type PayoutModuleOptions } from '../../lib';
import { MXN_ACCOUNT, PEN_ACCOUNT } from './notifications';

/**
 * Compiles PayoutModule (with the event emitter) against a scripted gateway at `baseUrl`: both test
 * accounts, a default notifyUrl, a 300 ms timeout and three fast retries, all overridable by
 * `options`. The logger is off; `init` also runs the lifecycle hooks.
 */
export async function compileScriptedPayoutModule(
  baseUrl: string,
  options: Partial<PayoutModuleOptions> = {},
  extra: { providers?: Provider[]; init?: boolean } = {},
): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      EventEmitterModule.forRoot(),
      PayoutModule.forRoot({
        baseUrl,
        accounts: [PEN_ACCOUNT, MXN_ACCOUNT],
        notifyUrl: 'https://merchant.example.com/payout/webhook',
        timeoutMs: 300,
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
        ...options,
      }),
    ],
    providers: extra.providers ?? [],
  }).compile();
  moduleRef.useLogger(false);
  if (extra.init) await moduleRef.init();
  return moduleRef;
}

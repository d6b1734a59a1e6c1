// nestjs-cashy-payout/config: PayoutModule options from the environment. Needs @nestjs/config (an optional peer).
export { payoutConfig } from './payout.config';
export type { PayoutEnvConfig } from './payout-env-config.interface';
export { PAYOUT_ENV_VARIABLES } from './payout-env.constants';

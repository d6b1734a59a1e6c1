// nestjs-cashy-payout/terminus: a health indicator for @nestjs/terminus (an optional peer). The main
// entry point never imports this file, so hosts without @nestjs/terminus are unaffected.
export {
  PayoutHealthIndicator,
  type PayoutHealthCheckOptions,
  type PayoutAccountHealth,
  type PayoutHealthDetails,
} from './payout-health.indicator';

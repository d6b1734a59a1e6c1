// nestjs-cashy-payout/redis: a PayoutStore shared by several replicas. Needs ioredis (an optional peer).
export { RedisPayoutStore, type RedisPayoutStoreOptions } from './redis-payout.store';

// nestjs-cashy-payout/postgres: a PayoutStore in PostgreSQL. Needs pg (node-postgres, an optional peer).
export { PostgresPayoutStore } from './postgres-payout.store';
export type {
  PostgresPayoutPool,
  PostgresPayoutStoreOptions,
} from './postgres-payout-store-options.interface';
export {
  POSTGRES_PAYOUT_MIGRATIONS,
  postgresPayoutMigrations,
  type PostgresPayoutMigration,
  type PostgresPayoutTables,
} from './postgres-payout.schema';

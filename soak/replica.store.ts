import { PostgresServer } from '../test/support/postgres-server';
import { RedisServer } from '../test/support/redis-server';
import type { ReplicaStoreOptions } from './replica.process';

/** What the replicas of a run share: a Redis or a PostgreSQL database. */
export type ReplicaStoreKind = ReplicaStoreOptions['kind'];

/**
 * Starts a throwaway server of `kind` (a redis-server, or a PostgreSQL cluster) for replicas to
 * share, registers its disposal with `resources`, and resolves with what each replica is given:
 * `url`, or `url` and a store of its own under `prefix` (a key prefix or a table prefix).
 */
export async function startReplicaStore(
  kind: ReplicaStoreKind,
  prefix: string,
  resources: { add(name: string, close: () => Promise<void>): void },
  url?: string,
): Promise<ReplicaStoreOptions> {
  if (kind === 'postgres') {
    const server = await PostgresServer.start();
    resources.add(`PostgreSQL :${server.port} (pid ${server.pid ?? '?'})`, () => server.dispose());
    return {
      kind,
      url: server.url(),
      tablePrefix: prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_'),
    };
  }
  if (url) return { kind, url, keyPrefix: `${prefix}:` };
  const server = await RedisServer.start();
  resources.add(`redis-server :${server.port} (pid ${server.pid ?? '?'})`, () => server.dispose());
  return { kind, url: server.url, keyPrefix: `${prefix}:` };
}

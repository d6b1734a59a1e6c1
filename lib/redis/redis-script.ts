import { createHash } from 'node:crypto';

/** The two commands a script needs; both `Redis` and `Cluster` of ioredis have them. */
export interface RedisScriptClient {
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
}

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` (which also caches it) when the server
 * answers `NOSCRIPT`: after a restart, a `SCRIPT FLUSH`, or on a cluster node that never saw it.
 * Unlike `defineCommand`, it adds nothing to the host's client.
 */
export class RedisScript {
  /** SHA-1 of the source, as Redis names the cached script. */
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script atomically on the node that owns `keys` (all in one slot on a cluster). */
  async run(
    client: RedisScriptClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

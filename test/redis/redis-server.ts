import { spawnSync } from 'node:child_process';
import { describeWithServer } from '../support/describe-with-server';

/** `describe` when `redis-server` is on the PATH (see `describeWithServer`). */
export function describeWithRedis(name: string, body: () => void): void {
  describeWithServer(
    {
      name: 'redis-server',
      installed: () => !spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error,
      install: 'apt-get update && apt-get install -y redis-server',
    },
    name,
    body,
  );
}

export { RedisServer, type RedisServerOptions } from '../support/redis-server';

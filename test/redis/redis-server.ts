import { spawnSync } from 'node:child_process';

const INSTALL = 'apt-get update && apt-get install -y redis-server';

/** Whether a `redis-server` binary is on the PATH. */
function redisServerInstalled(): boolean {
  return !spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error;
}

/**
 * `describe` when `redis-server` is installed. Without it: on CI (`CI` set) the suite fails loudly,
 * elsewhere it is skipped with a warning saying how to install it.
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (redisServerInstalled()) return describe(name, body);
  if (process.env.CI) {
    describe(name, () => {
      it('needs redis-server', () => {
        throw new Error(
          `redis-server is not installed; the Redis suites need it on CI: ${INSTALL}`,
        );
      });
    });
    return;
  }
  // Straight to stderr: Jest drops console output of a file whose tests are all skipped.
  process.stderr.write(
    `\nSkipping "${name}": redis-server is not installed. Install it to run the Redis suites: ${INSTALL}\n`,
  );
  describe.skip(name, body);
}

export { RedisServer, type RedisServerOptions } from '../support/redis-server';

/** A server a suite needs, and how to get it. */
export interface NeededServer {
  /** As the messages name it: `redis-server`, `PostgreSQL`. */
  name: string;
  installed: () => boolean;
  /** The command that installs it. */
  install: string;
}

/**
 * `describe` when `server` is installed. Without it: on CI (`CI` set) the suite fails loudly,
 * elsewhere it is skipped with a warning saying how to install it.
 */
export function describeWithServer(server: NeededServer, name: string, body: () => void): void {
  if (server.installed()) return describe(name, body);
  if (process.env.CI) {
    describe(name, () => {
      it(`needs ${server.name}`, () => {
        throw new Error(
          `${server.name} is not installed; these suites need it on CI: ${server.install}`,
        );
      });
    });
    return;
  }
  // Straight to stderr: Jest drops console output of a file whose tests are all skipped.
  process.stderr.write(
    `\nSkipping "${name}": ${server.name} is not installed. Install it to run these suites: ${server.install}\n`,
  );
  describe.skip(name, body);
}

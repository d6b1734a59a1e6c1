import { describeWithServer } from '../support/describe-with-server';
import { POSTGRES_INSTALL, postgresBinDir } from '../support/postgres-server';

/** `describe` when PostgreSQL's server binaries are installed (see `describeWithServer`). */
export function describeWithPostgres(name: string, body: () => void): void {
  describeWithServer(
    {
      name: 'PostgreSQL',
      installed: () => postgresBinDir() !== undefined,
      install: POSTGRES_INSTALL,
    },
    name,
    body,
  );
}

export { PostgresServer } from '../support/postgres-server';

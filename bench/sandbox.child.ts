// The gateway of phase 2: a CashySandbox in its own process, so the client under test (in the
// parent) does not share an event loop with the fake Cashy it calls.
import { CashySandbox, type SandboxModuleOptions } from 'nestjs-cashy-payout/testing';
import { serveParent } from './ipc.util';

async function main(): Promise<void> {
  // autoSettle false: orders stay PROCESSING, so no webhook is ever sent during the bench.
  const sandbox = new CashySandbox({ autoSettle: false });
  await sandbox.start();
  serveParent(
    {
      ready: (): SandboxModuleOptions =>
        sandbox.moduleOptions({
          notifyUrl: 'http://127.0.0.1:9/payout/webhook',
        }),
      // The sandbox records every request; drop the log between segments so its growth does not skew later ones.
      reset: () => {
        const seen = sandbox.requests.length;
        const failed = sandbox.requests.filter(
          (r) => !/"code":200\b/.test((r.response as { body?: string }).body ?? ''),
        ).length;
        sandbox.requests.length = 0;
        return { seen, failed };
      },
    },
    () => sandbox.stop(),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
